-- Every backend but the console's own (PostgreSQL 12+). Connections, activity, autovacuum and
-- the blocking tree all come from this one scan; pg_blocking_pids() is called only for
-- sessions that wait on a heavyweight lock (it takes the lock manager's partition locks).
-- The emergency pg_dump's connection (also application_name zconsole) is dropped from the
-- lists by the check, not here: a dump that blocks someone is still named in the tree.
SELECT /* zconsole */
    a.pid,
    a.backend_type,
    a.usename,
    a.datname,
    a.application_name,
    host(a.client_addr) AS client_addr,
    a.state,
    a.wait_event_type,
    a.wait_event,
    EXTRACT(epoch FROM clock_timestamp() - a.query_start)::float8 AS duration_s,
    EXTRACT(epoch FROM clock_timestamp() - a.state_change)::float8 AS state_s,
    EXTRACT(epoch FROM clock_timestamp() - a.xact_start)::float8 AS xact_s,
    a.backend_start,
    a.query,
    CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END AS blocked_by
FROM pg_stat_activity AS a
WHERE a.pid <> pg_backend_pid()
