-- Act on exactly the sessions the preview listed: each (pid, backend_start) pair must still be
-- the same backend (a pid can be reused) and still match the action's condition, re-checked
-- here in the same statement. {func} is pg_cancel_backend or pg_terminate_backend and
-- {condition} one of the fixed conditions in zconsole.mitigations.postgres.
SELECT /* zconsole */ a.pid, {func}(a.pid) AS done
FROM pg_stat_activity AS a
JOIN unnest(%(pids)s::int[], %(starts)s::timestamptz[]) AS t(pid, backend_start)
  ON t.pid = a.pid AND t.backend_start = a.backend_start
WHERE a.pid <> pg_backend_pid()
  AND ({condition})
