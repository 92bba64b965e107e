"""`benchmarks/run`: start the servers, install the peers, run every scenario, write the table.

Exit status: 0 all targets met (or --short, where no target is asserted), 1 a target was missed
(the table says by how much), 2 the harness itself broke (the table says where).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import (
    scenario_hang,
    scenario_instructions,
    scenario_overhead,
    scenario_profile,
    scenario_recorder,
    scenario_scale,
    scenario_start,
)
from benchmarks.harness import (
    BENCH,
    ROOT,
    Context,
    Figure,
    Servers,
    ensure_peers,
    log,
    machine_info,
    private_home,
    tool_env,
    versions,
)

SCENARIOS: list[tuple[str, Callable[[Context], list[Figure]]]] = [
    (scenario_overhead.NAME, scenario_overhead.run),
    (scenario_start.NAME, scenario_start.run),
    (scenario_hang.NAME, scenario_hang.run),
    # Instruction counts before scale: scale leaves 200 containers and many sessions behind.
    (scenario_instructions.NAME, scenario_instructions.run),
    (scenario_scale.NAME, scenario_scale.run),
    # Last: it leaves only its own files behind.
    (scenario_recorder.NAME, scenario_recorder.run),
]
PANE_BENCH_TIMEOUT_S = 240

#: Why a target is missed and what would close it, from profiling (see README.md), by the start of
#: the figure's label. Printed under Notes only when that target is missed in the run.
WHY: dict[str, str] = {
    "zconsole CPU / glances CPU": (
        "profiled (Hot spots): most of what is left is the UI thread: Textual's compositor "
        "and styles for each frame (the clock's each second, with the tick's poll results) and "
        "the panes taking in a poll (show_result); then the host scan (the kernel formatting "
        "/proc/PID/stat for every process, as glances pays too) and the other checks. Done "
        "this round (Changes measured): one frame per tick for every pane's new data, tables "
        "that redraw only changed rows, each poll encoded once, no docker stats threads, an "
        "input thread that sleeps, the host scan through kept descriptors. Below that is "
        "Textual's own per-frame cost, which glances (curses) does not pay; the next levers are "
        "a header clock without seconds at rest (one frame a minute instead of a second) and "
        "fewer widgets per pane."
    ),
    "zconsole: peak RSS": (
        "imports are ~66 MiB of it (VmRSS after each import: asyncio with ssl 10, textual 15, "
        "zconsole 7, psycopg 10 with its own OpenSSL, libpq, Kerberos and LDAP copies, "
        "redis-py 7 (its asyncio client, cluster and every command module load with the "
        "package), httpx 4.5); the rest is the DOM, Textual's render caches and what the "
        "allocator keeps. Done: the docker SDK and its stats threads gone, rarely used screens "
        "lazy, arenas capped, DataTable's caches cut. To close: psycopg over the system libpq "
        "(where one is installed), a lighter Redis client, and httpx without its CLI."
    ),
    "zconsole: launch → all five": (
        "Python, Textual and the console's own modules take ~0.3 s to import before the "
        "first frame, the app then parses its CSS and composes the panes (~0.1 s); the other "
        "checks' first polls start once the host's data is drawn (at most 0.25 s after the "
        "host's poll began: their client imports would otherwise slow that frame down), then "
        "import their clients (~0.2 s of CPU, under one GIL) and poll; on a loaded machine "
        "each step stretches. Done: discovery (a source left unset) runs in a child process "
        "on a free core while the app imports, and not at all when every source is named."
    ),
    "zconsole host data / glances": (
        "the host's figures are the first paint's (zconsole/first_paint.py: the standard "
        "library and psutil, written before Textual is imported, once the config has loaded); "
        "a miss means Python, argparse, the config (msgspec, platformdirs) or psutil were slow "
        "to load on a loaded machine: glances needs psutil and curses alone."
    ),
    "tmux: key → tab": (
        "the median press is far inside the target (next row); the slow few land on a frame "
        "that also draws a refresh of several panes, on 2 cores shared with the check threads. "
        "The hung PostgreSQL is not the cause: its poll waits in its own thread. Done: the "
        "garbage collector is calmed after start-up (gc.freeze + higher thresholds), panes "
        "re-render only changed cells, the key bar no longer rebuilds on every focus move "
        "(half of a press's CPU), a focus move no longer repaints the whole screen. The price "
        "of one frame per tick: a press that lands on it waits for every pane's new data."
    ),
}
WHY["Pilot: key → tab bar"] = WHY["tmux: key → tab"]
WHY["zconsole record, 5 s cadence: CPU"] = (
    "the recording itself is a small share (the writer's row below: encode, redact, compress "
    "and commit); the rest is the checks the recorder runs: the host check's process scan "
    "(the kernel formatting /proc/PID/stat of every process each poll), the docker check's "
    "inspects and cgroup reads, then PostgreSQL, Redis and the event loop. Done: no stats "
    "threads, each poll encoded once, redaction only where the JSON may hold a secret, the "
    "war-room socket idle while nobody is attached. To close: scan every process less often "
    "than every poll at this cadence (the top list from the last full scan, refreshed for "
    "the processes in it)."
)
ORDER = [
    scenario_overhead.NAME,
    scenario_start.NAME,
    scenario_hang.NAME,
    scenario_scale.NAME,
    scenario_instructions.NAME,
    scenario_recorder.NAME,
]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/run", description=__doc__)
    parser.add_argument(
        "--short", action="store_true", help="one run of each scenario, no targets asserted (CI)"
    )
    parser.add_argument(
        "--out", type=Path, default=BENCH / "RESULTS.md", help="Markdown table to write"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument(
        "--only", action="append", default=[], help="run only scenarios whose name has this"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="zc-bench-", dir="/tmp"))
    home = private_home()
    # This process runs checks and Pilot apps too: keep the user's config and data out of it.
    os.environ.update(tool_env(home))
    for name in ("DATABASE_URL", "REDIS_URL", "DOCKER_HOST", "PGHOST", "PGPORT", "NO_COLOR"):
        os.environ.pop(name, None)
    machine = machine_info()
    problems: list[str] = []
    figures: list[Figure] = []
    hot_spots: list[str] = []
    pane_benches: list[str] = []
    broke = False
    peers_problem = ensure_peers()
    if peers_problem:
        problems.append(peers_problem)
        broke = True
    servers = Servers()
    ctx = Context(
        servers=servers,
        short=args.short,
        runs=1 if args.short else args.runs,
        scratch=scratch,
        home=home,
    )
    try:
        servers.start()
        problems += [f"{k}: {v}" for k, v in servers.problems.items()]
        log("populating: 20 containers, 50 PostgreSQL sessions, 5000-item celery list")
        servers.set_containers(20)
        servers.set_sessions(50)
        servers.fill_queue()
        version_table = versions(servers)
        for name, scenario in SCENARIOS:
            if args.only and not any(o in name for o in args.only):
                continue
            log(f"== {name}")
            t0 = time.monotonic()
            try:
                figures += scenario(ctx)
            except Exception as exc:
                broke = True
                log(f"{name} broke:\n{traceback.format_exc()}")
                figures.append(Figure(name, "scenario", "", text=f"HARNESS ERROR: {exc!r}"[:400]))
            log(f"{name}: {time.monotonic() - t0:.0f} s")
        if not args.only or any(o in "panes" for o in args.only):
            pane_benches = run_pane_benches(short=args.short)
        if not args.only or any(o in "profile" for o in args.only):
            try:
                hot_spots = scenario_profile.run(ctx)
            except Exception as exc:
                hot_spots = [f"profile failed: {exc!r}"]
    finally:
        try:
            servers.stop()
        except Exception as exc:
            problems.append(f"teardown: {exc!r}")
    took = time.monotonic() - started
    machine["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    for figure in figures:
        if figure.missed:
            why = next((text for key, text in WHY.items() if figure.label.startswith(key)), "")
            if why:
                ctx.notes.append(f"{figure.label} — {why}")
    write_report(
        args.out,
        short=args.short,
        runs=ctx.runs,
        machine=machine,
        versions=version_table if "version_table" in locals() else {},
        figures=figures,
        problems=problems,
        hot_spots=hot_spots,
        pane_benches=pane_benches,
        notes=ctx.notes,
        took=took,
    )
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    missed = [f for f in figures if f.missed]
    log(f"wrote {args.out} in {took / 60:.1f} min; {len(missed)} target(s) missed")
    if broke:
        return 2
    if missed and not args.short:
        return 1
    return 0


def run_pane_benches(*, short: bool) -> list[str]:
    """The per-pane benchmarks other issues added (benchmarks/bench_*.py), their output verbatim.

    They start servers of their own; --short skips them to keep CI quick."""
    benches = sorted(BENCH.glob("bench_*.py"))
    if short:
        names = ", ".join(p.name for p in benches) or "none"
        return [f"Skipped in --short ({names})."]
    lines: list[str] = []
    for path in benches:
        log(f"== {path.name}")
        code = (
            "import sys; sys.path.append(sys.argv.pop(1)); "
            f"from benchmarks.{path.stem} import main; raise SystemExit(main() or 0)"
        )
        t0 = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, "-P", "-c", code, str(ROOT)],
                capture_output=True,
                text=True,
                timeout=PANE_BENCH_TIMEOUT_S,
            )
            out = (done.stdout.strip() or "(no output)") + (
                f"\n(exit {done.returncode}) {done.stderr.strip()[-500:]}"
                if done.returncode
                else ""
            )
        except subprocess.TimeoutExpired:
            out = f"(timed out after {PANE_BENCH_TIMEOUT_S} s)"
        took = time.monotonic() - t0
        lines += [f"`{path.name}` ({took:.0f} s):", "", "```", out, "```", ""]
    return lines or ["(none present)"]


# -- the table writer ------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_report(
    path: Path,
    *,
    short: bool,
    runs: int,
    machine: dict[str, str],
    versions: dict[str, str],
    figures: list[Figure],
    problems: list[str],
    hot_spots: list[str],
    pane_benches: list[str],
    notes: list[str],
    took: float,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    targeted = [f for f in figures if f.limit is not None and f.values]
    missed = [f for f in targeted if f.missed]
    mode = (
        "`benchmarks/run --short` (one run of each scenario; targets shown, not asserted)"
        if short
        else f"`benchmarks/run` ({runs} runs per figure; median, min and max)"
    )
    lines = [
        "# zconsole benchmarks",
        "",
        f"Written by {mode} on {when}; the run took {took / 60:.1f} min.",
        "Every time is a ratio against a peer measured in the same run, a count, or a CPU-time; "
        "the machine is shared and noisy. Regenerate with `benchmarks/run` (see "
        "benchmarks/README.md).",
        "",
        f"**{len(targeted) - len(missed)} of {len(targeted)} targets met"
        + (f"; missed: {', '.join(f.label for f in missed)}**" if missed else ".**"),
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {k} | {_cell(v)} |" for k, v in machine.items()]
    lines += ["", "## Versions", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in versions.items()]
    lines.append("")
    for name in ORDER:
        rows = [f for f in figures if f.scenario == name]
        if not rows:
            continue
        lines += [
            f"## {name}",
            "",
            "| figure | median | min | max | n | target | verdict | note |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for f in rows:
            if f.text:
                lines.append(f"| {_cell(f.label)} | {_cell(f.text)} | | | | | | |")
                continue
            unit = f" {f.unit}" if f.unit else ""
            lo = min(f.values) if f.values else math.nan
            hi = max(f.values) if f.values else math.nan
            lines.append(
                f"| {_cell(f.label)} | **{f.fmt(f.med)}{unit}** | {f.fmt(lo)} | {f.fmt(hi)} | "
                f"{len(f.values)} | {_cell(f.target)} | {f.verdict()} | {_cell(f.note)} |"
            )
        lines.append("")
    lines += ["## Hot spots (zconsole at rest)", ""]
    lines += hot_spots or ["(not profiled in this run)"]
    lines.append("")
    if pane_benches:
        lines += ["## The panes' own benchmarks (benchmarks/bench_*.py)", "", *pane_benches, ""]
    if notes or problems:
        lines += ["## Notes", ""]
        lines += [f"- {_cell(n)}" for n in notes]
        lines += [f"- problem: {_cell(p)}" for p in problems]
        lines.append("")
    changes = BENCH / "CHANGES.md"
    if changes.exists():
        # Hand-kept: each change and the figure it moved, measured before and after it.
        lines += [changes.read_text().rstrip(), ""]
    readme = BENCH / "README.md"
    if readme.exists():
        lines += [
            "How each figure is measured, and what the misses mean: "
            f"[{readme.relative_to(ROOT)}](README.md).",
            "",
        ]
    path.write_text("\n".join(lines))
