-- This user's connections but the console's own, without PROCESS: no InnoDB transactions (MySQL).
-- TIME is whole seconds here; MariaDB's file uses TIME_MS.
SELECT /* zconsole */
    p.ID AS id,
    p.USER AS user,
    p.HOST AS host,
    p.DB AS db,
    p.COMMAND AS command,
    p.TIME AS duration_s,
    p.STATE AS state,
    p.INFO AS info,
    NULL AS trx_s,
    NULL AS trx_state,
    NULL AS trx_rows_locked
FROM information_schema.PROCESSLIST AS p
WHERE p.ID <> CONNECTION_ID()
ORDER BY p.TIME DESC
