"""Scenario 2, start: seconds from launch until the host pane shows data and until all five panes
show data (tmux capture-pane text: the host pane's "cpu " line; no "waiting for first data" left),
and glances' and pg_activity's time to their first screen with data. Each tool starts alone.

Targets: zconsole first data ≤ 1.5 × glances' first screen; all five ≤ 1.5 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from benchmarks.harness import (
    Context,
    Figure,
    Tmux,
    glances_argv,
    glances_ready,
    kill_tree,
    log,
    median,
    pg_activity_argv,
    pg_activity_ready,
    tool_env,
    write_config,
    zconsole_all_ready,
    zconsole_argv,
    zconsole_host_ready,
)

NAME = "2. Start"
ALL_LIMIT_S = 1.5
#: zconsole's first host data against glances' first screen, measured in the same run.
HOST_RATIO = 1.5
TIMEOUT_S = 60.0


def _time_to(
    tmux: Tmux, name: str, predicates: list[Callable[[str], bool]], polls: list[float]
) -> list[float]:
    """Seconds (from the session's launch, started by the caller) until each predicate holds."""
    out: list[float] = []
    started = time.perf_counter()
    pending = list(predicates)
    deadline = started + TIMEOUT_S
    while pending and time.perf_counter() < deadline:
        before = time.perf_counter()
        screen = tmux.screen(name)
        polls.append(time.perf_counter() - before)
        while pending and pending[0](screen):
            pending.pop(0)
            out.append(time.perf_counter())
        if pending:
            time.sleep(0.002)
    if pending:
        raise TimeoutError(f"{name}: not ready in {TIMEOUT_S:.0f} s:\n{tmux.screen(name)[-1500:]}")
    return out


def run(ctx: Context) -> list[Figure]:
    workdir = ctx.workdir("start")
    write_config(workdir, ctx.servers, interval=2.0)
    env = tool_env(ctx.home)
    host: list[float] = []
    every: list[float] = []
    glances: list[float] = []
    pga: list[float] = []
    polls: list[float] = []
    tmux = Tmux()
    runs = ctx.runs + 1  # the first run of each tool warms the page cache and is not counted
    try:
        for n in range(runs):
            log(f"{NAME}: run {n + 1}/{runs}{' (warm-up, not counted)' if n == 0 else ''}")
            launches: list[
                tuple[str, list[str], list[Callable[[str], bool]], list[list[float]]]
            ] = [
                (
                    "zconsole",
                    zconsole_argv(),
                    [zconsole_host_ready, zconsole_all_ready],
                    [host, every],
                ),
                ("glances", glances_argv(), [glances_ready], [glances]),
            ]
            if ctx.servers.pg is not None:
                launches.append(
                    (
                        "pg_activity",
                        pg_activity_argv(ctx.servers.pg.dsn),
                        [pg_activity_ready],
                        [pga],
                    )
                )
            for tool, argv, predicates, sinks in launches:
                session = f"{tool}-{n}"
                t0 = time.perf_counter()
                pid = tmux.launch(session, argv, cwd=workdir, env=env)
                try:
                    times = _time_to(tmux, session, predicates, polls)
                finally:
                    kill_tree(pid)
                    tmux.kill(session)
                if n > 0:
                    for sink, at in zip(sinks, times, strict=True):
                        sink.append(at - t0)
                time.sleep(0.5)
    finally:
        tmux.close()

    resolution = median(polls) * 1000 if polls else float("nan")
    note = f"tmux capture-pane polled every ≈{resolution + 2:.0f} ms (resolution)"
    figures = [
        Figure(NAME, "zconsole: launch → host pane shows data", "s", host, note=note),
        Figure(
            NAME,
            "zconsole: launch → all five panes show data",
            "s",
            every,
            target=f"≤ {ALL_LIMIT_S} s",
            limit=ALL_LIMIT_S,
        ),
        Figure(NAME, "glances: launch → first screen with data", "s", glances),
    ]
    if pga:
        figures.append(Figure(NAME, "pg_activity: launch → first screen with data", "s", pga))
    if glances:
        figures.append(
            Figure(
                NAME,
                "zconsole host data / glances first screen",
                "×",
                [h / g for h, g in zip(host, glances, strict=True) if g > 0],
                target=f"≤ {HOST_RATIO}",
                limit=HOST_RATIO,
            )
        )
    return figures
