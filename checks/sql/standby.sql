-- On a standby: how far replay is behind (PostgreSQL 12+). The delay is the age of the last
-- replayed transaction, so an idle primary makes it grow; the byte lag tells the two apart.
SELECT /* zconsole */
    EXTRACT(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_delay_s,
    pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8 AS lag_bytes,
    (SELECT status FROM pg_stat_wal_receiver) AS receiver_status,
    (SELECT sender_host FROM pg_stat_wal_receiver) AS sender_host
