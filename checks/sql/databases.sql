-- Database sizes (every version). pg_database_size() needs CONNECT or pg_read_all_stats:
-- a database the role may not size shows as NULL instead of failing the whole poll.
SELECT /* zconsole */
    d.datname,
    CASE WHEN has_database_privilege(d.oid, 'CONNECT')
           OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')
         THEN pg_database_size(d.oid) END AS size_bytes
FROM pg_database AS d
WHERE d.datallowconn
ORDER BY size_bytes DESC NULLS LAST, d.datname
