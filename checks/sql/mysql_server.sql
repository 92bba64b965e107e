-- Who and what the console is connected to, once per poll.
SELECT /* zconsole */
    VERSION() AS version,
    @@version_comment AS version_comment,
    @@max_connections AS max_connections,
    @@read_only AS read_only,
    @@long_query_time AS long_query_time,
    @@slow_query_log AS slow_query_log,
    CONNECTION_ID() AS own_id,
    CURRENT_USER() AS current_user_name
