"""One MySQL/MariaDB refresh against 1000 connections: the console's CPU per refresh.

A private MariaDB (max_connections 1100) holds 1000 client connections: an idle pool, long
queries, connections sleeping in a transaction and a row-lock holder with connections waiting
behind it. We measure the process CPU time (user + system, all threads) of

- ``collect``: the check's queries and turning ~1000 processlist rows into the snapshot, and
- ``render``: the pane drawing that snapshot in a headless 200x50 app,

each the median of several refreshes, beside the peer a responder runs today: the runbook's
``mysql -e "SHOW FULL PROCESSLIST"`` (the client process's CPU, in the same run). Target:
collect + render ≤ 50 ms, the same as the PostgreSQL pane's.

    .venv/bin/python -m benchmarks.bench_mysql            (from the repo root; prints the figures)
    .venv/bin/python -m benchmarks.bench_mysql --short    (100 connections, 3 refreshes: smoke)
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = str(Path(__file__).resolve().parent.parent)
TARGET_MS = 50.0
CONNECTIONS = 1000


def _fix_path() -> None:
    # `python -m` puts the repo root first on sys.path, where zconsole/ (without checks/ and
    # widgets/, which the editable install maps in) would shadow the installed package.
    sys.path[:] = [p for p in sys.path if p not in ("", ".", ROOT)] + [ROOT]


def _cpu_ms(fn: Any) -> float:
    started = time.process_time()
    fn()
    return (time.process_time() - started) * 1000


def _children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def _populate(workload: Any, total: int) -> dict[str, int]:
    """`total` client connections shaped like a busy incident."""
    shape = {"long": 30, "sleeping_in_trx": 10, "waiters": 9}
    holder = workload.lock_holder(1)
    for _ in range(shape["waiters"]):
        workload.background("UPDATE t SET v = v + 1 WHERE id = 1")
    for _ in range(shape["long"]):
        workload.background("SELECT SLEEP(3600)")
    for row in range(shape["sleeping_in_trx"]):
        workload.lock_holder(3 + row)  # a row of its own each: sleeping, not waiting
    idle = total - 1 - sum(shape.values())
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _i: workload.connection(), range(idle)))
    return {"holder": holder, "idle": idle, **shape}


async def _render_cpu(check: Any, snapshots: list[Any]) -> list[float]:
    import tempfile

    from zconsole.app import ZConsoleApp
    from zconsole.checks.base import CheckResult
    from zconsole.config import Config, GeneralConfig

    store = Path(tempfile.mkdtemp(prefix="zc-bench-")) / "i.db"
    app = ZConsoleApp(Config(general=GeneralConfig(store=str(store))), [check], poll=False)
    samples: list[float] = []
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.press("6")
        for snap in snapshots:
            result = CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic())
            started = time.process_time()
            app.show_result(result)
            await pilot.pause()  # let the screen repaint
            samples.append((time.process_time() - started) * 1000)
    return samples


def _peer_cpu_ms(server: Any, runs: int) -> list[float]:
    """CPU of `mariadb -e "SHOW FULL PROCESSLIST"` (client process), once per refresh."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        return []
    argv = [
        client,
        "--no-defaults",
        "-uroot",
        f"--socket={server.socket_path}",
        "-e",
        "SHOW FULL PROCESSLIST",
    ]
    samples = []
    for _ in range(runs):
        before = _children_cpu_ms()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=30)
        samples.append(_children_cpu_ms() - before)
    return samples


def main(argv: list[str] | None = None) -> int:
    _fix_path()
    from tests import services
    from tests.test_mysql_workload import Workload, create_database
    from zconsole.checks.mysql import MySQLCheck, MySQLData
    from zconsole.checks.mysql_settings import MySQLSettings, parse_dsn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="refreshes measured (median)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--short", action="store_true", help="100 connections, 3 refreshes")
    args = parser.parse_args(argv)
    if args.short:
        args.connections, args.runs = 100, 3
    # One socket per client connection, in this process.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.connections + 512)), hard))

    server = services.start_mariadb()
    workload = None
    check = None
    try:
        create_database(server, "bench")
        server.sql("USE bench; INSERT INTO t SELECT seq, 0 FROM seq_3_to_100")
        workload = Workload(server, "bench")
        started = time.monotonic()
        shape = _populate(workload, args.connections)
        print(
            f"{args.connections} connections ready in {time.monotonic() - started:.1f} s: {shape}"
        )
        check = MySQLCheck(MySQLSettings(), parse_dsn(server.url(db="bench")), timeout=10)
        for _ in range(3):  # warm up: connect, first deadlock read
            check.collect()
        collect_ms: list[float] = []
        wall_ms: list[float] = []
        snapshots = []
        for _ in range(args.runs):
            time.sleep(0.2)  # InnoDB's information_schema cache refreshes after 0.1 s unread
            holder: list[Any] = []
            t0 = time.perf_counter()
            collect_ms.append(_cpu_ms(lambda: holder.append(check.collect())))  # noqa: B023
            wall_ms.append((time.perf_counter() - t0) * 1000)
            snapshots.append(holder[0])
        data = snapshots[-1].data
        assert isinstance(data, MySQLData), snapshots[-1].error
        render_ms = asyncio.run(_render_cpu(check, snapshots))
        peer_ms = _peer_cpu_ms(server, args.runs)
    finally:
        if check is not None:
            check.close()
        if workload is not None:
            workload.close()
        services.destroy_mariadb(server)

    collect_med = statistics.median(collect_ms)
    render_med = statistics.median(render_ms)
    total = collect_med + render_med
    print(
        f"seen: {data.connections.total} connections, {len(data.long_queries)} long, "
        f"{len(data.blocking)} in the blocking tree"
    )
    print(
        f"collect CPU per refresh: median {collect_med:.1f} ms (min {min(collect_ms):.1f}, "
        f"max {max(collect_ms):.1f}); wall median {statistics.median(wall_ms):.1f} ms"
    )
    print(
        f"render CPU per refresh:  median {render_med:.1f} ms (min {min(render_ms):.1f}, "
        f"max {max(render_ms):.1f})"
    )
    if peer_ms:
        peer_med = statistics.median(peer_ms)
        ratio = f" — console/peer {total / peer_med:.1f}x" if peer_med > 0 else ""
        print(
            f"peer `mariadb -e 'SHOW FULL PROCESSLIST'` CPU per refresh: median {peer_med:.1f} ms"
            + ratio
        )
    verdict = "MET" if total <= TARGET_MS else "MISSED"
    print(f"console CPU per refresh: {total:.1f} ms — target ≤ {TARGET_MS:.0f} ms: {verdict}")
    return 0 if total <= TARGET_MS or args.short else 1


if __name__ == "__main__":
    raise SystemExit(main())
