-- InnoDB row lock waits, waiter -> holder (MariaDB keeps information_schema.INNODB_LOCK_WAITS).
SELECT /* zconsole */
    r.trx_mysql_thread_id AS waiting_id,
    b.trx_mysql_thread_id AS blocking_id,
    TIMESTAMPDIFF(MICROSECOND, r.trx_wait_started, NOW(6)) / 1000000 AS wait_s,
    l.lock_table AS locked_table,
    l.lock_index AS locked_index,
    l.lock_mode AS lock_mode
FROM information_schema.INNODB_LOCK_WAITS AS w
JOIN information_schema.INNODB_TRX AS b ON b.trx_id = w.blocking_trx_id
JOIN information_schema.INNODB_TRX AS r ON r.trx_id = w.requesting_trx_id
LEFT JOIN information_schema.INNODB_LOCKS AS l ON l.lock_id = w.requested_lock_id
