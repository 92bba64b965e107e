-- pg_stat_statements from PostgreSQL 13 (extension >= 1.8): planning and execution are split;
-- total_exec_time / mean_exec_time are what "slow statements" means.
-- {order} is "mean_ms" or "total_ms", chosen by the code, never from user input.
SELECT /* zconsole */
    s.queryid,
    d.datname,
    r.rolname AS usename,
    s.query,
    s.calls,
    s.total_exec_time::float8 AS total_ms,
    s.mean_exec_time::float8 AS mean_ms,
    s.rows
FROM pg_stat_statements AS s
LEFT JOIN pg_database AS d ON d.oid = s.dbid
LEFT JOIN pg_roles AS r ON r.oid = s.userid
WHERE s.query NOT LIKE '%%/* zconsole */%%'
ORDER BY {order} DESC
LIMIT %(top)s
