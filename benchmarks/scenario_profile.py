"""Where zconsole's CPU goes at rest: py-spy samples the running console (scenario 1's setup) and
the table's notes name the hot spots. Not a target, the explanation for one."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Context,
    Tmux,
    kill_tree,
    load_checks,
    log,
    peer_bin,
    tool_env,
    write_config,
    zconsole_all_ready,
    zconsole_argv,
)

TOP = 10
REPAINT_S = 5.0


def _short_frame(frame: str) -> str:
    # py-spy raw frames read "function (path/to/file.py:123)".
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path, _, _line = where.rpartition(":")
    parts = path.split("/")
    for anchor in ("site-packages", "zconsole", "lib"):
        if anchor in parts:
            parts = parts[parts.index(anchor) + 1 :]
            break
    return f"{name} ({'/'.join(parts[-3:])})"


def run(ctx: Context) -> list[str]:
    """Markdown lines for the hot-spot section."""
    spy = peer_bin("py-spy")
    if not spy.exists():
        return ["py-spy not available in the peers venv; no profile taken."]
    seconds = 8 if ctx.short else 20
    workdir = ctx.workdir("profile")
    write_config(workdir, ctx.servers, interval=2.0)
    tmux = Tmux()
    out = workdir / "py-spy.txt"
    try:
        pid = tmux.launch("profile", zconsole_argv(), cwd=workdir, env=tool_env(ctx.home))
        try:
            tmux.wait_for("profile", zconsole_all_ready, timeout=60, interval=0.1)
            time.sleep(2)
            log(f"py-spy: sampling zconsole for {seconds} s")
            done = subprocess.run(
                [
                    str(spy),
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(seconds),
                    "--rate",
                    "100",
                    "--nonblocking",
                    # Only the thread holding the GIL: Python's CPU, not threads parked in I/O.
                    "--gil",
                    "--full-filenames",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                ],
                capture_output=True,
                text=True,
                timeout=seconds + 60,
            )
        finally:
            kill_tree(pid)
    finally:
        tmux.close()
    if done.returncode != 0 or not out.exists():
        return [f"py-spy failed ({done.returncode}): {done.stderr.strip()[-300:]}"]
    own: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in out.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit() or not stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        own[_short_frame(frames[-1])] += count
        seen = set()
        for frame in frames:
            if ("/zconsole/" in frame or "zconsole-" in frame) and "/cli.py:" not in frame:
                short = _short_frame(frame)
                if short not in seen:
                    ours[short] += count
                    seen.add(short)
    if not total:
        return ["py-spy took no samples (the console was idle the whole time)."]
    busy = total / (seconds * 100) * 100
    lines = [
        f"py-spy --gil, {seconds} s at 100 Hz on the running console (every source configured, "
        f"2 s refresh): {total} samples with a thread holding the GIL = Python ran ≈{busy:.1f} % "
        "of the time.",
        "",
        "| own time (leaf frame) | share |",
        "|---|---|",
    ]
    lines += [f"| `{f}` | {c / total * 100:.1f} % |" for f, c in own.most_common(TOP)]
    lines += ["", "| zconsole function (inclusive) | share |", "|---|---|"]
    lines += [f"| `{f}` | {c / total * 100:.1f} % |" for f, c in ours.most_common(TOP)]
    try:
        lines += ["", *asyncio.run(_repaint(workdir))]
    except Exception as exc:
        lines += ["", f"repaint count failed: {exc!r}"]
    try:
        lines += ["", *_gc(ctx, workdir)]
    except Exception as exc:
        lines += ["", f"GC measurement failed: {exc!r}"]
    return lines


#: zconsole's own entry point with a gc callback that logs every collection (generation, wall ms,
#: CPU ms) to argv[1]; argv[2] == "tuned" freezes the start-up heap after 5 s and raises the
#: thresholds (the candidate fix).
_GC_WRAPPER = r"""
import gc, sys, threading, time
log = open(sys.argv[1], "a", buffering=1)
mode = sys.argv[2]
began = {}
def callback(phase, info):
    if phase == "start":
        began["wall"], began["cpu"] = time.perf_counter(), time.process_time()
    elif began:
        wall = (time.perf_counter() - began["wall"]) * 1000
        cpu = (time.process_time() - began["cpu"]) * 1000
        log.write(f"{time.monotonic():.3f} {info['generation']} {wall:.3f} {cpu:.3f}\n")
gc.callbacks.append(callback)
if mode == "tuned":
    def tune():
        gc.freeze()
        gc.set_threshold(20000, 50, 1000)
    threading.Timer(5.0, tune).start()
sys.argv = ["zconsole"]
from zconsole.cli import main
main()
"""


def _gc(ctx: Context, workdir: Path) -> list[str]:
    """Python's cyclic GC in the running console at rest, as built and tuned (freeze + higher
    thresholds): collections per generation, their CPU, and the process tree's CPU."""
    from benchmarks.harness import TreeSampler

    seconds = 10.0 if ctx.short else 20.0
    rows: list[str] = []
    tmux = Tmux()
    try:
        wrapper = workdir / "gc_wrapper.py"
        wrapper.write_text(_GC_WRAPPER)
        for mode, label in (("built", "as built"), ("tuned", "tuned")):
            log(f"GC: zconsole {label}, {seconds:.0f} s")
            gclog = workdir / f"gc-{mode}.log"
            gclog.unlink(missing_ok=True)
            argv = [sys.executable, "-P", str(wrapper), str(gclog), mode]
            session = f"gc-{mode}"
            pid = tmux.launch(session, argv, cwd=workdir, env=tool_env(ctx.home))
            try:
                tmux.wait_for(session, zconsole_all_ready, timeout=60, interval=0.1)
                time.sleep(6.0)  # past the 5 s freeze of the tuned run
                with TreeSampler(pid) as sampler:
                    sampler.mark()
                    start = time.monotonic()
                    time.sleep(seconds)
                    end = time.monotonic()
                    sampler.sample()
                    cpu = sampler.cpu_seconds()
            finally:
                kill_tree(pid)
                tmux.kill(session)
            per_gen: dict[int, list[float]] = {0: [], 1: [], 2: []}
            for line in gclog.read_text().splitlines():
                at, gen, _wall, gc_cpu = line.split()
                if start <= float(at) <= end:
                    per_gen[int(gen)].append(float(gc_cpu))
            gc_total = sum(sum(v) for v in per_gen.values()) / 1000
            gens = " · ".join(
                f"gen {g}: {len(v) / seconds:.1f}/s, max {max(v, default=0):.0f} ms"
                for g, v in per_gen.items()
            )
            rows.append(
                f"| {label} | {cpu / seconds * 100:.1f} % | {gc_total / seconds * 100:.1f} % | "
                f"{gens} |"
            )
    finally:
        tmux.close()
    return [
        f"Python's garbage collector in the running console at rest ({seconds:.0f} s, every "
        "source configured, 2 s refresh). Tuned = `gc.freeze()` after start-up and "
        "`gc.set_threshold(20000, 50, 1000)`, the candidate fix.",
        "",
        "| console | CPU (% of a core) | of which GC | collections |",
        "|---|---|---|---|",
        *rows,
    ]


async def _repaint(workdir: Path) -> list[str]:
    """Lines (Strips) Textual renders per second with no new data, with and without the panes'
    1 s tick; a count, so it does not move with the machine's load."""
    from textual import strip as strip_module

    from zconsole.app import ZConsoleApp
    from zconsole.checks.base import CheckResult
    from zconsole.config import load_config
    from zconsole.widgets.pane import Pane

    config = load_config(config_path=workdir / "zconsole.toml", env={})
    checks = load_checks(workdir)
    snapshots = {name: check.collect() for name, check in checks.items()}
    for check in checks.values():
        check.close()
    counted = [0]
    original_init = strip_module.Strip.__init__
    original_tick = Pane.tick

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        counted[0] += 1
        original_init(self, *args, **kwargs)

    out: list[str] = []
    setattr(strip_module.Strip, "__init__", counting_init)  # noqa: B010 - count, then restore
    try:
        for label, tick in (("as built", original_tick), ("Pane.tick disabled", None)):
            setattr(Pane, "tick", tick or (lambda self: None))  # noqa: B010
            app = ZConsoleApp(config, checks.values(), poll=False)
            async with app.run_test(size=(200, 50)) as pilot:
                for snap in snapshots.values():
                    app.show_result(
                        CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic())
                    )
                await pilot.pause(1.0)
                counted[0] = 0
                cpu = time.process_time()
                await asyncio.sleep(REPAINT_S)
                cpu = time.process_time() - cpu
                out.append(
                    f"| {label} | {counted[0] / REPAINT_S:.0f} | {cpu / REPAINT_S * 1000:.1f} ms |"
                )
    finally:
        setattr(strip_module.Strip, "__init__", original_init)  # noqa: B010
        setattr(Pane, "tick", original_tick)  # noqa: B010
    return [
        f"Repaint with no new data (Pilot, 200x50, every pane filled once, then {REPAINT_S:.0f} s "
        "idle): Textual lines (Strips) built per second, and this process's CPU per second.",
        "",
        "| console | strips / s | CPU / s |",
        "|---|---|---|",
        *out,
    ]
