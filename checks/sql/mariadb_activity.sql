-- Every connection but the console's own, with its open InnoDB transaction if any (MariaDB:
-- TIME_MS gives sub-second query times).
SELECT /* zconsole */
    p.ID AS id,
    p.USER AS user,
    p.HOST AS host,
    p.DB AS db,
    p.COMMAND AS command,
    p.TIME_MS / 1000 AS duration_s,
    p.STATE AS state,
    p.INFO AS info,
    TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)) / 1000000 AS trx_s,
    t.trx_state AS trx_state,
    t.trx_rows_locked AS trx_rows_locked
FROM information_schema.PROCESSLIST AS p
LEFT JOIN information_schema.INNODB_TRX AS t ON t.trx_mysql_thread_id = p.ID
WHERE p.ID <> CONNECTION_ID()
ORDER BY p.TIME_MS DESC
