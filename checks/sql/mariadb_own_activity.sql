-- This user's connections but the console's own, without PROCESS: no InnoDB transactions (MariaDB:
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
    NULL AS trx_s,
    NULL AS trx_state,
    NULL AS trx_rows_locked
FROM information_schema.PROCESSLIST AS p
WHERE p.ID <> CONNECTION_ID()
ORDER BY p.TIME_MS DESC
