-- InnoDB row lock waits, waiter -> holder (MySQL 8: information_schema.INNODB_LOCK_WAITS is
-- gone; performance_schema.data_lock_waits replaces it).
SELECT /* zconsole */
    r.trx_mysql_thread_id AS waiting_id,
    b.trx_mysql_thread_id AS blocking_id,
    TIMESTAMPDIFF(MICROSECOND, r.trx_wait_started, NOW(6)) / 1000000 AS wait_s,
    CONCAT('`', l.OBJECT_SCHEMA, '`.`', l.OBJECT_NAME, '`') AS locked_table,
    l.INDEX_NAME AS locked_index,
    l.LOCK_MODE AS lock_mode
FROM performance_schema.data_lock_waits AS w
JOIN information_schema.INNODB_TRX AS b ON b.trx_id = w.BLOCKING_ENGINE_TRANSACTION_ID
JOIN information_schema.INNODB_TRX AS r ON r.trx_id = w.REQUESTING_ENGINE_TRANSACTION_ID
LEFT JOIN performance_schema.data_locks AS l ON l.ENGINE_LOCK_ID = w.REQUESTING_ENGINE_LOCK_ID
