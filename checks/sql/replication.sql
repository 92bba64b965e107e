-- On a primary: each connected standby (PostgreSQL 10+ lag columns). Without pg_monitor the
-- LSN and lag columns of other roles' senders are NULL.
SELECT /* zconsole */
    r.pid,
    r.application_name,
    host(r.client_addr) AS client_addr,
    r.state,
    r.sync_state,
    pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::float8 AS lag_bytes,
    EXTRACT(epoch FROM r.replay_lag)::float8 AS lag_s
FROM pg_stat_replication AS r
ORDER BY r.application_name, r.client_addr
