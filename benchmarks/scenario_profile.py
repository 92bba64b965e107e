"""Where zconsole's CPU goes at rest: py-spy samples the running console (scenario 1's setup) and
the table's notes name the hot spots. Not a target, the explanation for one."""

from __future__ import annotations

import subprocess
import time
from collections import Counter

from benchmarks.harness import (
    Context,
    Tmux,
    kill_tree,
    log,
    peer_bin,
    tool_env,
    write_config,
    zconsole_all_ready,
    zconsole_argv,
)

TOP = 10


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
    seconds = 8 if ctx.short else 30
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
            if "/zconsole/" in frame or "zconsole-" in frame:
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
    return lines
