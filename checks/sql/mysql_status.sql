-- The counters the pane shows (works on MySQL 5.7, 8 and MariaDB alike).
SHOW GLOBAL STATUS WHERE Variable_name IN (
    'Threads_connected', 'Threads_running', 'Max_used_connections', 'Aborted_connects',
    'Aborted_clients', 'Slow_queries', 'Questions', 'Uptime',
    'Innodb_buffer_pool_read_requests', 'Innodb_buffer_pool_reads',
    'Innodb_row_lock_waits', 'Innodb_row_lock_current_waits', 'Innodb_deadlocks'
)
