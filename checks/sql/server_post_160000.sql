-- Server-wide figures (PostgreSQL 16+: reserved_connections (pg_use_reserved_connections) too).
SELECT /* zconsole */
    current_setting('server_version_num')::int AS version_num,
    current_setting('server_version') AS version,
    pg_is_in_recovery() AS in_recovery,
    current_database() AS current_db,
    current_user AS current_user,
    (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS is_superuser,
    pg_has_role(current_user, 'pg_monitor', 'USAGE') AS is_monitor,
    current_setting('max_connections')::int AS max_connections,
    current_setting('superuser_reserved_connections')::int AS superuser_reserved,
    current_setting('reserved_connections')::int AS reserved,
    (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS preload,
    EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS has_pgss,
    EXTRACT(epoch FROM now() - pg_postmaster_start_time())::float8 AS uptime_s,
    d.commits, d.rollbacks, d.blks_hit, d.blks_read, d.deadlocks, d.temp_files, d.temp_bytes,
    (SELECT max(age(datfrozenxid)) FROM pg_database)::bigint AS xid_age
FROM (
    SELECT sum(xact_commit)::bigint AS commits,
           sum(xact_rollback)::bigint AS rollbacks,
           sum(blks_hit)::bigint AS blks_hit,
           sum(blks_read)::bigint AS blks_read,
           sum(deadlocks)::bigint AS deadlocks,
           sum(temp_files)::bigint AS temp_files,
           sum(temp_bytes)::bigint AS temp_bytes
      FROM pg_stat_database
) AS d
