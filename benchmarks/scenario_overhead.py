"""Scenario 1, overhead at rest: CPU seconds and peak RSS of the whole process tree over a window
at a 2 s refresh, in 200x50 tmux panes, for zconsole, `glances -t 2` and `pg_activity --refresh 2`
against the same servers. The three run side by side in the same window, so machine noise hits
all of them alike and the ratio stays meaningful.

Targets: zconsole CPU ≤ 0.75 x glances' CPU; zconsole peak RSS ≤ 80 MiB.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

from benchmarks.harness import (
    Context,
    Figure,
    Tmux,
    TreeSampler,
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
)

NAME = "1. Overhead at rest"
CPU_RATIO = 0.75
RSS_LIMIT_MIB = 80.0
SETTLE_S = 4.0


@dataclass
class Tool:
    name: str
    argv: list[str]
    ready: Callable[[str], bool]


def tools(ctx: Context) -> list[Tool]:
    out = [Tool("zconsole", zconsole_argv(), zconsole_all_ready)]
    out.append(Tool("glances", glances_argv(), glances_ready))
    if ctx.servers.pg is not None:
        out.append(Tool("pg_activity", pg_activity_argv(ctx.servers.pg.dsn), pg_activity_ready))
    return out


def run(ctx: Context) -> list[Figure]:
    window = 15.0 if ctx.short else 60.0
    workdir = ctx.workdir("overhead")
    write_config(workdir, ctx.servers, interval=2.0)
    env = tool_env(ctx.home)
    chosen = tools(ctx)
    cpu: dict[str, list[float]] = {t.name: [] for t in chosen}
    rss: dict[str, list[float]] = {t.name: [] for t in chosen}
    tmux = Tmux()
    try:
        for n in range(ctx.runs):
            log(f"{NAME}: run {n + 1}/{ctx.runs}, {window:.0f} s window, {len(chosen)} tools")
            pids: dict[str, int] = {}
            try:
                for tool in chosen:
                    pids[tool.name] = tmux.launch(
                        f"{tool.name}-{n}", tool.argv, cwd=workdir, env=env
                    )
                for tool in chosen:
                    tmux.wait_for(f"{tool.name}-{n}", tool.ready, timeout=60, interval=0.1)
                time.sleep(SETTLE_S)
                with ExitStack() as stack:
                    samplers = {
                        name: stack.enter_context(TreeSampler(pid)) for name, pid in pids.items()
                    }
                    for sampler in samplers.values():
                        sampler.mark()
                    time.sleep(window)
                    for sampler in samplers.values():
                        sampler.sample()
                    for name, sampler in samplers.items():
                        cpu[name].append(sampler.cpu_seconds())
                        rss[name].append(sampler.peak_rss / 2**20)
            finally:
                for name, pid in pids.items():
                    kill_tree(pid)
                    tmux.kill(f"{name}-{n}")
    finally:
        tmux.close()

    figures: list[Figure] = []
    glances_cpu = median(cpu["glances"]) if cpu.get("glances") else None
    limit = glances_cpu * CPU_RATIO if glances_cpu is not None else None
    note = (
        "every source configured: host, Docker (20 containers), PostgreSQL (50 sessions), "
        "Redis (5000-item `celery` list), 2 HTTP endpoints; the three tools run side by side"
    )
    for name in cpu:
        is_us = name == "zconsole"
        figures.append(
            Figure(
                NAME,
                f"{name}: CPU seconds over {window:.0f} s",
                "s",
                cpu[name],
                target=f"(ratio row) ≤ {limit:.3f} s" if is_us and limit else "",
                note=note if is_us else _peer_note(name),
            )
        )
    for name in cpu:
        figures.append(
            Figure(
                NAME,
                f"{name}: CPU % of one core",
                "%",
                [c / window * 100 for c in cpu[name]],
            )
        )
    for name in rss:
        is_us = name == "zconsole"
        figures.append(
            Figure(
                NAME,
                f"{name}: peak RSS (process tree)",
                "MiB",
                rss[name],
                target=f"≤ {RSS_LIMIT_MIB:.0f} MiB" if is_us else "",
                limit=RSS_LIMIT_MIB if is_us else None,
            )
        )
    if glances_cpu:
        figures.append(
            Figure(
                NAME,
                "zconsole CPU / glances CPU",
                "×",
                [z / g for z, g in zip(cpu["zconsole"], cpu["glances"], strict=True) if g > 0],
                target=f"≤ {CPU_RATIO}",
                limit=CPU_RATIO,
            )
        )
    return figures


def _peer_note(name: str) -> str:
    if name == "glances":
        return "`glances -t 2`, off-host plugins disabled (ip, ports, cloud, wifi)"
    if name == "pg_activity":
        return "`pg_activity --refresh 2` on the same PostgreSQL"
    return ""
