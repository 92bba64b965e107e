-- InnoDB row lock waits, waiter -> holder (MySQL 5.7: the sys schema's view).
SELECT /* zconsole */
    waiting_pid AS waiting_id,
    blocking_pid AS blocking_id,
    wait_age_secs AS wait_s,
    locked_table AS locked_table,
    locked_index AS locked_index,
    waiting_lock_mode AS lock_mode
FROM sys.x$innodb_lock_waits
