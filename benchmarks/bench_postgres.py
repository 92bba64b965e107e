"""One PostgreSQL refresh against 1000 connections: the console's CPU per refresh.

A private server (max_connections raised to 1100) holds 1000 client connections: an idle pool,
long queries, idle-in-transaction sessions and a lock holder with sessions waiting behind it,
plus pg_stat_statements. We measure the process CPU time (user + system, all threads) of

- ``collect``: the check's queries and turning ~1000 rows into the snapshot record, and
- ``render``: the pane drawing that snapshot in a headless 200x50 app,

each the median of several refreshes. Target: collect + render ≤ 50 ms.

    .venv/bin/python -m benchmarks.bench_postgres   (from the repo root; prints the figures)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
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


def _populate(workload: Any, total: int) -> dict[str, int]:
    """`total` client connections shaped like a busy incident."""
    shape = {"long": 30, "idle_tx": 10, "waiters": 9}
    holder = workload.lock_holder("t")
    for _ in range(shape["waiters"]):
        workload.background("waiter", "UPDATE t SET v = v + 1 WHERE id = 1")
    for _ in range(shape["long"]):
        workload.background("long", "SELECT pg_sleep(3600)")
    for _ in range(shape["idle_tx"]):
        workload.connect("idle-tx", autocommit=False).execute("SELECT 1")
    idle = total - 1 - sum(shape.values())
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _i: workload.connect("idle"), range(idle)))
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
        await pilot.press("3")
        for snap in snapshots:
            result = CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic())
            started = time.process_time()
            app.show_result(result)
            await pilot.pause()  # let the screen repaint
            samples.append((time.process_time() - started) * 1000)
    return samples


def main(argv: list[str] | None = None) -> int:
    _fix_path()
    from tests import services
    from tests.test_postgres_workload import Workload, create_database
    from zconsole.checks.postgres import PostgresCheck, PostgresData
    from zconsole.checks.postgres_settings import PostgresSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="refreshes measured (median)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    args = parser.parse_args(argv)

    server = services.start_postgres(
        extra_conf={
            "max_connections": str(args.connections + 100),
            "max_locks_per_transaction": "128",
        }
    )
    workload = None
    check = None
    try:
        url = create_database(server, "bench", pgss=True)
        workload = Workload(url)
        started = time.monotonic()
        shape = _populate(workload, args.connections)
        print(
            f"{args.connections} connections ready in {time.monotonic() - started:.1f} s: {shape}"
        )
        check = PostgresCheck(PostgresSettings(), url, timeout=10)
        for _ in range(3):  # warm up: connect, file cache, first database-size scan
            check.collect()
        collect_ms: list[float] = []
        wall_ms: list[float] = []
        snapshots = []
        for _ in range(args.runs):
            time.sleep(0.2)
            holder: list[Any] = []
            t0 = time.perf_counter()
            collect_ms.append(_cpu_ms(lambda: holder.append(check.collect())))  # noqa: B023
            wall_ms.append((time.perf_counter() - t0) * 1000)
            snapshots.append(holder[0])
        data = snapshots[-1].data
        assert isinstance(data, PostgresData), snapshots[-1].error
        render_ms = asyncio.run(_render_cpu(check, snapshots))
    finally:
        if check is not None:
            check.close()
        if workload is not None:
            workload.close()
        services.destroy_postgres(server)

    collect_med = statistics.median(collect_ms)
    render_med = statistics.median(render_ms)
    total = collect_med + render_med
    print(
        f"seen: {data.connections.total} connections, {len(data.long_queries)} long, "
        f"{len(data.blocking)} in the blocking tree, "
        f"{len(data.statements or ())} statements"
    )
    print(
        f"collect CPU per refresh: median {collect_med:.1f} ms (min {min(collect_ms):.1f}, "
        f"max {max(collect_ms):.1f}); wall median {statistics.median(wall_ms):.1f} ms"
    )
    print(
        f"render CPU per refresh:  median {render_med:.1f} ms (min {min(render_ms):.1f}, "
        f"max {max(render_ms):.1f})"
    )
    verdict = "MET" if total <= TARGET_MS else "MISSED"
    print(f"console CPU per refresh: {total:.1f} ms — target ≤ {TARGET_MS:.0f} ms: {verdict}")
    return 0 if total <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
