"""Scenario 5, instruction counts: one refresh of each check, counted so a regression shows even on
a noisy machine.

* callgrind: a child process runs every check under `valgrind --tool=callgrind`; a tiny C library
  (built here with gcc from valgrind/callgrind.h) zeroes the counters just before one
  `check.collect()` and dumps them just after (instrumenting only in between), so each figure is
  the instructions (Ir, every thread of the process) of exactly one refresh, connections already
  made. The dumps are kept in benchmarks/out/callgrind/ for `callgrind_annotate`.
* cProfile: the same refresh natively, counting Python function calls — a deterministic proxy that
  needs neither valgrind nor a compiler — and naming the hot spots (most own time).

(`perf stat -e instructions` is not used: virtual machines of this kind expose no hardware
counters — perf reports `<not supported>`.)
"""

from __future__ import annotations

import contextlib
import cProfile
import ctypes
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import BENCH, ROOT, Context, Figure, load_checks, log, median, write_config

NAME = "5. Instruction counts"

_C_SOURCE = r"""
#include <valgrind/callgrind.h>
void zc_zero(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_ZERO_STATS; }
void zc_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); CALLGRIND_STOP_INSTRUMENTATION; }
"""


NOTES = {
    "docker": "includes its events thread (and, for a remote engine, its stats pool) in the window",
    "http": "2 endpoints fetched in worker threads; their instructions are counted",
}


def build_marks(where: Path) -> tuple[Path | None, str]:
    """The marker library, or (None, why not)."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        return None, "no C compiler (apt-get install gcc)"
    if not Path("/usr/include/valgrind/callgrind.h").exists():
        return None, "valgrind/callgrind.h missing (apt-get install valgrind)"
    src = where / "zc_marks.c"
    lib = where / "zc_marks.so"
    src.write_text(_C_SOURCE)
    done = subprocess.run(
        [gcc, "-shared", "-fPIC", "-O0", "-o", str(lib), str(src)], capture_output=True, text=True
    )
    if done.returncode != 0:
        return None, f"gcc failed: {done.stderr[-300:]}"
    return lib, ""


def _child_argv(workdir: Path, lib: Path | None, out: Path, mode: str) -> list[str]:
    code = (
        "import sys; sys.path.append(sys.argv[1]); "
        "from benchmarks.scenario_instructions import child; child(sys.argv[2:])"
    )
    return [
        sys.executable,
        "-P",
        "-c",
        code,
        str(ROOT),
        str(workdir),
        str(lib or ""),
        str(out),
        mode,
    ]


def child(argv: list[str]) -> None:
    """Runs in the measured process: warm every configured check, then one counted refresh."""
    workdir, lib, out, mode = argv
    marks = ctypes.CDLL(lib) if lib else None
    results: dict[str, Any] = {}
    for name, check in load_checks(Path(workdir)).items():
        if check.collect().configured is False:
            continue
        check.collect()  # warm: connections made, rate windows primed
        if mode == "callgrind" and marks is not None:
            marks.zc_zero()
            snapshot = check.collect()
            marks.zc_dump(name.encode())
            results[name] = {"error": snapshot.error}
        else:
            profile = cProfile.Profile()
            profile.enable()
            snapshot = check.collect()
            profile.disable()
            stats = pstats.Stats(profile)
            raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
            own = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:5]
            results[name] = {
                "error": snapshot.error,
                "calls": stats.total_calls,  # type: ignore[attr-defined]
                "hot": [
                    f"{Path(k[0]).name}:{k[1]}({k[2]}) {v[2] * 1000:.1f} ms own" for k, v in own
                ],
            }
        with contextlib.suppress(Exception):
            check.close()
    Path(out).write_text(json.dumps(results))
    sys.stdout.flush()
    os._exit(0)  # a check thread stuck in a backend must not hold the exit


def _parse_dumps(directory: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in directory.glob("callgrind.out.*"):
        name = ""
        total = 0
        with path.open(errors="replace") as fh:
            for line in fh:
                if line.startswith("desc: Trigger: Client Request: "):
                    name = line.split(":", 3)[3].strip()
                elif line.startswith("totals:"):
                    # "totals" sums the functions' costs; "summary" can wrap below zero when
                    # another thread was inside a function at the zeroing (docker's events thread).
                    total = int(line.split()[1])
        if name:
            counts[name] = total
    return counts


def run(ctx: Context) -> list[Figure]:
    workdir = ctx.workdir("instructions")
    write_config(workdir, ctx.servers)
    figures: list[Figure] = []
    runs = 1 if ctx.short else 3

    # cProfile: Python calls per refresh (deterministic proxy) and the hot spots.
    calls: dict[str, list[float]] = {}
    hot: dict[str, list[str]] = {}
    for n in range(runs):
        log(f"{NAME}: cProfile run {n + 1}/{runs}")
        out = workdir / f"cprofile-{n}.json"
        subprocess.run(_child_argv(workdir, None, out, "cprofile"), check=True, timeout=300)
        for name, result in json.loads(out.read_text()).items():
            if result["error"]:
                raise RuntimeError(f"{name}: {result['error']}")
            calls.setdefault(name, []).append(float(result["calls"]))
            hot[name] = result["hot"]

    # callgrind: instructions per refresh.
    instructions: dict[str, list[float]] = {}
    why = ""
    with tempfile.TemporaryDirectory(prefix="zc-bench-cg-") as tmp:
        lib, why = build_marks(Path(tmp))
        valgrind = shutil.which("valgrind")
        if valgrind is None:
            why = "valgrind not installed (apt-get install valgrind)"
        cg_runs = min(ctx.runs, 2)  # instruction counts barely move between runs
        for n in range(cg_runs if lib is not None and valgrind is not None else 0):
            log(f"{NAME}: callgrind run {n + 1}/{cg_runs} (slow: everything runs ~50x slower)")
            dumps = Path(tmp) / f"run-{n}"
            dumps.mkdir()
            out = dumps / "result.json"
            argv = [
                str(valgrind),
                "--tool=callgrind",
                f"--callgrind-out-file={dumps}/callgrind.out.%p",
                "--dump-line=no",
                # Instrument only between the marks: Python's start-up runs at valgrind's
                # plain speed, the counted refresh under callgrind.
                "--instr-atstart=no",
                *_child_argv(workdir, lib, out, "callgrind"),
            ]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=900)
            if done.returncode != 0 or not out.exists():
                why = f"callgrind run failed ({done.returncode}): {done.stderr[-300:]}"
                break
            for name, count in _parse_dumps(dumps).items():
                instructions.setdefault(name, []).append(float(count))
            keep = BENCH / "out" / "callgrind"
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(dumps, keep)

    for name in calls:
        if name in instructions:
            figures.append(
                Figure(
                    NAME,
                    f"{name}: instructions per refresh (callgrind Ir)",
                    "M Ir",
                    [v / 1e6 for v in instructions[name]],
                    digits=4,
                    note=NOTES.get(name, ""),
                )
            )
        figures.append(
            Figure(
                NAME,
                f"{name}: Python function calls per refresh (cProfile)",
                "calls",
                calls[name],
                note="hot spots (own time): " + "; ".join(hot.get(name, [])[:3]),
                digits=5,
            )
        )
    if why:
        figures.append(Figure(NAME, "callgrind", "", text=f"not available: {why}"))
    elif instructions:
        total = sum(median(v) for v in instructions.values())
        figures.append(
            Figure(
                NAME, "all checks: instructions per refresh cycle", "M Ir", [total / 1e6], digits=4
            )
        )
    return figures
