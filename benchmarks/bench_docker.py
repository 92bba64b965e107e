"""A refresh of the docker check with 200 running containers, stats included.

Starts its own throwaway engine (tests/services.py), 200 ``sleep`` containers, then times
refreshes of :class:`DockerCheck` the way the app polls it (every 2 s): wall time of one refresh,
CPU time of this process during it, and the CPU the kept stats streams cost in between. For
comparison it also times the other design the issue names: one-shot stats requests for every
container at once from a thread pool.

    python -m benchmarks.bench_docker [--containers 200] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker

from tests import services

TARGET_WALL_S = 1.0

# `python -m benchmarks.bench_docker` run in the checkout puts the checkout first on sys.path,
# where ./zconsole lacks the checks/ and widgets/ the editable install maps in: drop it, so the
# zconsole imports below (inside functions) find the installed package.
_CHECKOUT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _CHECKOUT]


def start_containers(engine: services.DockerEngine, count: int) -> None:
    client = docker.DockerClient(base_url=engine.url, timeout=120)

    def run(index: int) -> None:
        client.containers.run(
            services.BUSYBOX_IMAGE,
            ["sleep", "3600"],
            name=f"bench-{index:03d}",
            detach=True,
            network_mode="none",
        )

    try:
        # Four at a time: the engine itself needs the machine's two cores to start them.
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(run, range(count)))
    finally:
        client.close()


def one_shot_pool(url: str) -> float:
    """Wall seconds for one-shot stats of every running container, all at once."""
    client = docker.DockerClient(base_url=url, timeout=30, max_pool_size=512)
    try:
        ids = [c["Id"] for c in client.api.containers()]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(ids)) as pool:
            list(pool.map(lambda i: client.api.stats(i, stream=False, one_shot=True), ids))
        return time.perf_counter() - started
    finally:
        client.close()


def bench(url: str, containers: int, runs: int, interval: float) -> bool:
    from zconsole.checks.docker import DockerCheck
    from zconsole.config import DockerConfig

    check = DockerCheck(DockerConfig(), url, interval=interval, timeout=5.0)
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        first = check.collect()
        first_wall = time.perf_counter() - started
        first_cpu = time.process_time() - cpu_started
        if first.error is not None or first.data is None:
            print(f"first poll failed: {first.error}")
            return False
        walls: list[float] = []
        cpus: list[float] = []
        background: list[float] = []
        with_stats = 0
        for _ in range(runs):
            idle_from, idle_cpu_from = time.perf_counter(), time.process_time()
            time.sleep(interval)
            # CPU of the stats stream threads while the console waits for its next poll.
            background.append(
                (time.process_time() - idle_cpu_from) / (time.perf_counter() - idle_from)
            )
            started, cpu_started = time.perf_counter(), time.process_time()
            snapshot = check.collect()
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu_started)
            assert snapshot.data is not None, snapshot.error
            with_stats = sum(
                1
                for c in snapshot.data.containers
                if c.state == "running" and c.cpu_percent is not None and c.mem_bytes is not None
            )
        running = sum(1 for c in first.data.containers if c.state == "running")
    finally:
        check.close()
    wall = statistics.median(walls)
    print(f"docker check, {running} running containers ({containers} started), {runs} refreshes")
    print(
        f"  first poll (opens streams, waits for 2 samples): {first_wall * 1000:.0f} ms wall, "
        f"{first_cpu * 1000:.0f} ms CPU"
    )
    print(
        f"  refresh, median: {wall * 1000:.1f} ms wall (max {max(walls) * 1000:.1f}), "
        f"{statistics.median(cpus) * 1000:.1f} ms CPU of this process"
    )
    print(f"  containers with CPU % and memory in the last refresh: {with_stats}/{running}")
    print(
        f"  stats streams between polls: {statistics.median(background) * 100:.1f} % of one "
        "core (median)"
    )
    ok = wall <= TARGET_WALL_S and with_stats == running
    print(f"  target ≤ {TARGET_WALL_S:.0f} s wall with stats: {'MET' if ok else 'NOT MET'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--containers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument(
        "--no-compare", action="store_true", help="skip the one-shot thread pool comparison"
    )
    args = parser.parse_args(argv)
    try:
        engine = services.start_docker()
    except BaseException as exc:  # pytest.skip outside pytest (no root, no dockerd), ...
        print(f"cannot start a throwaway engine: {exc}")
        return 2
    try:
        started = time.perf_counter()
        start_containers(engine, args.containers)
        print(f"started {args.containers} containers in {time.perf_counter() - started:.0f} s")
        ok = bench(engine.url, args.containers, args.runs, args.interval)
        if not args.no_compare:
            pooled = [one_shot_pool(engine.url) for _ in range(3)]
            print(
                f"  for comparison, one-shot stats of all containers from a thread pool: "
                f"{statistics.median(pooled) * 1000:.0f} ms wall (median of 3)"
            )
    finally:
        services.destroy_docker(engine)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
