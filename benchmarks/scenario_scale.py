"""Scenario 4, scale: the console's CPU per refresh as the watched system grows.

* PostgreSQL at 10, 100, 1000 sessions and Docker at 10, 50, 200 containers: CPU seconds of one
  `check.collect()` (time.process_time, the whole console process) and of rendering that snapshot
  in its pane (Pilot, 200x50: show_result until the screen is idle again).
* Timeline with 100, 10 000, 100 000 entries in the incident store: CPU to open the console on
  that incident until the timeline shows it, and to jump to the oldest entry and back.

Each curve's growth is the least-squares slope on log-log axes (1.0 = linear, 0 = flat).
Target: no faster than linear; we allow 0.1 over 1.0 for noise.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Context,
    Figure,
    log,
    loglog_slope,
    median,
    toml_str,
    write_config,
)

NAME = "4. Scale"
SLOPE_LIMIT = 1.1
SIZE = (200, 50)


def _collect_cpu(check: Any, repeats: int) -> tuple[list[float], Any]:
    snapshot = check.collect()  # warm: connection made, previous samples for rates
    if snapshot.error:
        raise RuntimeError(f"{check.name}: {snapshot.error}")
    out: list[float] = []
    for _ in range(repeats):
        started = time.process_time()
        snapshot = check.collect()
        out.append(time.process_time() - started)
    return out, snapshot


async def _render_cpu(workdir: Path, snapshot: Any, repeats: int) -> list[float]:
    from zconsole.app import ZConsoleApp
    from zconsole.checks.base import CheckResult
    from zconsole.config import load_config

    config = load_config(config_path=workdir / "zconsole.toml", env={})
    app = ZConsoleApp(config, [], poll=False)
    result = CheckResult(latest=snapshot, last_good=snapshot, last_good_at=time.monotonic())
    out: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        app.show_result(result)
        await pilot.pause(0.1)
        for _ in range(repeats):
            started = time.process_time()
            app.show_result(result)
            await pilot.pause(0.05)
            out.append(time.process_time() - started)
    return out


#: "No worse" for the pane benchmarks of issue 16 (1000 sessions, 200 containers, 100 000
#: timeline entries): the medians of the full run before that round (RESULTS.md of 2026-12-04
#: 04:25 UTC), in ms of CPU. A figure may be up to NO_WORSE_NOISE times its baseline (CPU time on
#: a shared 2-core machine moves by about that much between runs).
BEFORE_ISSUE_16_MS = {
    "postgres collect CPU @ 1,000 sessions": 9.82,
    "postgres pane render CPU @ 1,000 sessions": 3.94,
    "docker collect CPU @ 200 containers": 10.62,
    "containers pane render CPU @ 200 containers": 3.92,
    "timeline open CPU @ 100,000 entries": 294.43,
    "timeline jump oldest+newest CPU @ 100,000 entries": 106.79,
}
NO_WORSE_NOISE = 1.25


def scale_figure(label: str, values: list[float]) -> Figure:
    """One point of a curve, with the no-worse target where the point has a baseline."""
    before = BEFORE_ISSUE_16_MS.get(label)
    if before is None:
        return Figure(NAME, label, "ms", values)
    return Figure(
        NAME,
        label,
        "ms",
        values,
        target=f"no worse: ≤ {NO_WORSE_NOISE:g} × {before:g} ms (before issue 16)",
        limit=before * NO_WORSE_NOISE,
    )


def _curve(
    label: str,
    unit_of_n: str,
    points: Sequence[int],
    measure: Callable[[int], list[float]],
) -> list[Figure]:
    figures: list[Figure] = []
    meds: list[float] = []
    for n in points:
        values = measure(n)
        meds.append(median(values))
        figures.append(scale_figure(f"{label} @ {n:,} {unit_of_n}", [v * 1000 for v in values]))
    figures.append(_slope_row(label, unit_of_n, points, meds))
    return figures


def _slope_row(label: str, unit_of_n: str, points: Sequence[int], meds: Sequence[float]) -> Figure:
    slope = loglog_slope(points, meds)
    per_item = (meds[-1] - meds[0]) / (points[-1] - points[0]) * 1e6 if len(points) > 1 else 0.0
    shape = (
        "n/a"
        if math.isnan(slope)
        else ("no faster than linear" if slope <= SLOPE_LIMIT else "FASTER than linear")
    )
    return Figure(
        NAME,
        f"{label}: log-log slope",
        "",
        [slope] if not math.isnan(slope) else [],
        target=f"≤ 1.0 (+0.1 noise) — {shape}",
        limit=SLOPE_LIMIT,
        note=f"marginal cost {per_item:.1f} µs per {_singular(unit_of_n)}",
    )


def _singular(unit: str) -> str:
    return unit.removesuffix("ies") + "y" if unit.endswith("ies") else unit.removesuffix("s")


def run(ctx: Context) -> list[Figure]:
    repeats = 1 if ctx.short else 5
    render_repeats = 1 if ctx.short else 3
    figures: list[Figure] = []
    servers = ctx.servers
    workdir = ctx.workdir("scale")
    write_config(workdir, servers)

    from benchmarks.harness import load_checks

    if servers.pg is not None:
        points = (10, 50, 200) if ctx.short else (10, 100, 1000)
        check = load_checks(workdir)["postgres"]
        snaps: dict[int, Any] = {}

        def pg_collect(n: int) -> list[float]:
            log(f"{NAME}: PostgreSQL with {n} sessions")
            servers.set_sessions(n)
            values, snaps[n] = _collect_cpu(check, repeats)
            return values

        figures += _curve("postgres collect CPU", "sessions", points, pg_collect)
        figures += _curve(
            "postgres pane render CPU",
            "sessions",
            points,
            lambda n: asyncio.run(_render_cpu(workdir, snaps[n], render_repeats)),
        )
        check.close()
        servers.set_sessions(50)
    else:
        figures.append(
            Figure(NAME, "PostgreSQL", "", text="not available: " + _why(ctx, "postgres"))
        )

    if servers.docker is not None:
        points = (10, 20, 40) if ctx.short else (10, 50, 200)
        check = load_checks(workdir)["docker"]
        dsnaps: dict[int, Any] = {}

        def docker_collect(n: int) -> list[float]:
            log(f"{NAME}: Docker with {n} containers")
            servers.set_containers(n)
            values, dsnaps[n] = _collect_cpu(check, repeats)
            return values

        figures += _curve("docker collect CPU", "containers", points, docker_collect)
        figures += _curve(
            "containers pane render CPU",
            "containers",
            points,
            lambda n: asyncio.run(_render_cpu(workdir, dsnaps[n], render_repeats)),
        )
        check.close()
    else:
        figures.append(Figure(NAME, "Docker", "", text="not available: " + _why(ctx, "docker")))

    figures += _timeline(ctx, render_repeats)
    return figures


def _why(ctx: Context, source: str) -> str:
    return ctx.servers.problems.get(source, "server did not start")


# -- timeline -------------------------------------------------------------------------------------


def _timeline(ctx: Context, repeats: int) -> list[Figure]:
    try:
        from zconsole.store import IncidentStore
        from zconsole.widgets.timeline import Timeline  # noqa: F401 - presence check
    except ImportError as exc:
        return [Figure(NAME, "timeline", "", text=f"not available ({exc})")]
    points = (100, 1000, 10_000) if ctx.short else (100, 10_000, 100_000)
    open_cpu: list[float] = []
    jump_cpu: list[float] = []
    figures: list[Figure] = []
    for n in points:
        log(f"{NAME}: timeline with {n:,} entries")
        # tmpfs: the store fsyncs every entry; the disk is not what is being measured here.
        shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else ctx.scratch
        path = shm / f"zc-bench-timeline-{n}.sqlite"
        for stale in shm.glob(f"{path.name}*"):
            stale.unlink()
        store = IncidentStore(path)
        incident = store.declare(title="bench incident", severity="P1", author="bench")
        for i in range(n - 1):
            store.add_entry(incident.id, "note", f"bench entry {i}: checked the queue", "bench")
        store.close()
        workdir = ctx.workdir(f"timeline-{n}")
        (workdir / "zconsole.toml").write_text(
            f"[general]\nstore = {toml_str(str(path))}\n\n[docker]\nenabled = false\n"
        )
        opened: list[float] = []
        jumped: list[float] = []
        for _ in range(repeats):
            o, j = asyncio.run(_timeline_cpu(workdir, n))
            opened.append(o)
            jumped.append(j)
        for stale in shm.glob(f"{path.name}*"):
            stale.unlink()
        open_cpu.append(median(opened))
        jump_cpu.append(median(jumped))
        figures.append(
            scale_figure(f"timeline open CPU @ {n:,} entries", [v * 1000 for v in opened])
        )
        figures.append(
            scale_figure(
                f"timeline jump oldest+newest CPU @ {n:,} entries", [v * 1000 for v in jumped]
            )
        )
    figures.append(_slope_row("timeline open CPU", "entries", points, open_cpu))
    figures.append(_slope_row("timeline jump CPU", "entries", points, jump_cpu))
    return figures


async def _timeline_cpu(workdir: Path, n: int) -> tuple[float, float]:
    from zconsole.app import ZConsoleApp
    from zconsole.config import load_config
    from zconsole.widgets.timeline import Timeline

    config = load_config(config_path=workdir / "zconsole.toml", env={})
    started = time.process_time()
    app = ZConsoleApp(config, [], poll=False)
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.query_one(Timeline)
        deadline = time.monotonic() + 60
        while timeline.total < n and time.monotonic() < deadline:
            await pilot.pause(0.01)
        if timeline.total < n:
            raise RuntimeError(f"timeline shows {timeline.total} entries, expected {n}")
        await pilot.pause(0.05)
        opened = time.process_time() - started
        timeline.focus()
        await pilot.pause(0.05)
        started = time.process_time()
        await pilot.press("home")
        await pilot.pause(0.05)
        await pilot.press("end")
        await pilot.pause(0.05)
        jumped = time.process_time() - started
    return opened, jumped
