"""Find what is big: ``du -x`` of one mount, iterative, cancellable, bounded in time and depth.

Runs in a worker thread; progress goes to a callback (the widget posts it as a message). Never
crosses into another filesystem (``st_dev``), never follows symlinks, and a directory it may not
read is counted and listed, not fatal. Sizes are allocated bytes (``st_blocks``), like ``du``.

Also runnable on its own: ``python -m zconsole.checks.disk_scan /var --top 15``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import stat
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

#: Denied directories listed by path (all are counted).
MAX_DENIED_LISTED = 100


@dataclass(frozen=True, slots=True)
class DirTotal:
    path: str
    bytes: int
    files: int
    depth: int


@dataclass(frozen=True, slots=True)
class ScanProgress:
    root: str
    files: int
    dirs: int
    bytes: int
    #: Largest directories (recursive totals so far), biggest first; the root itself excluded.
    largest: tuple[DirTotal, ...]
    denied_count: int
    denied: tuple[str, ...]
    #: Entries that vanished or failed with another error while scanning.
    errors: int
    #: Mount points below the root that were not entered.
    other_fs: int
    #: Directories not entered because of max_depth.
    depth_limited: int
    elapsed_s: float
    done: bool = False
    cancelled: bool = False
    timed_out: bool = False


class _Dir:
    __slots__ = ("depth", "files", "own", "parent", "path")

    def __init__(self, path: str, parent: int, depth: int) -> None:
        self.path = path
        self.parent = parent
        self.depth = depth
        self.own = 0
        self.files = 0


def scan(
    root: str,
    *,
    max_depth: int = 32,
    time_limit: float = 300.0,
    cancel: threading.Event | None = None,
    on_progress: Callable[[ScanProgress], None] | None = None,
    progress_every: float = 0.5,
    top: int = 20,
) -> ScanProgress:
    """Scan ``root``; call ``on_progress`` every ``progress_every`` s; return the final totals."""
    started = time.monotonic()
    root = os.path.abspath(root)
    root_dev = os.lstat(root).st_dev
    dirs: list[_Dir] = [_Dir(root, -1, 0)]
    stack: list[int] = [0]
    files = total = errors = other_fs = depth_limited = denied_count = 0
    denied: list[str] = []
    next_report = started + progress_every
    cancelled = timed_out = False
    cost = 0.0  # time the last progress computation took: reports never take over the scan

    def progress(done: bool) -> ScanProgress:
        totals = [0] * len(dirs)
        counts = [0] * len(dirs)
        # Children are always appended after their parent: one reverse pass sums every subtree.
        for index in range(len(dirs) - 1, -1, -1):
            d = dirs[index]
            totals[index] += d.own
            counts[index] += d.files
            if d.parent >= 0:
                totals[d.parent] += totals[index]
                counts[d.parent] += counts[index]
        best = heapq.nlargest(top, range(1, len(dirs)), key=totals.__getitem__)
        return ScanProgress(
            root=root,
            files=files,
            dirs=len(dirs),
            bytes=total,
            largest=tuple(
                DirTotal(dirs[i].path, totals[i], counts[i], dirs[i].depth) for i in best
            ),
            denied_count=denied_count,
            denied=tuple(denied),
            errors=errors,
            other_fs=other_fs,
            depth_limited=depth_limited,
            elapsed_s=round(time.monotonic() - started, 3),
            done=done,
            cancelled=cancelled,
            timed_out=timed_out,
        )

    while stack:
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        now = time.monotonic()
        if now - started > time_limit:
            timed_out = True
            break
        if on_progress is not None and now >= next_report:
            t0 = time.monotonic()
            on_progress(progress(False))
            cost = time.monotonic() - t0
            next_report = time.monotonic() + max(progress_every, 4 * cost)
        index = stack.pop()
        current = dirs[index]
        try:
            it = os.scandir(current.path)
        except PermissionError:
            denied_count += 1
            if len(denied) < MAX_DENIED_LISTED:
                denied.append(current.path)
            continue
        except OSError:
            errors += 1
            continue
        with it:
            while True:
                try:
                    entry = next(it)
                except StopIteration:
                    break
                except PermissionError:
                    denied_count += 1
                    if len(denied) < MAX_DENIED_LISTED:
                        denied.append(current.path)
                    break
                except OSError:
                    errors += 1
                    break
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    errors += 1
                    continue
                if st.st_dev != root_dev:
                    other_fs += 1
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if current.depth + 1 > max_depth:
                        depth_limited += 1
                        continue
                    dirs.append(_Dir(entry.path, index, current.depth + 1))
                    stack.append(len(dirs) - 1)
                    continue
                size = st.st_blocks * 512
                current.own += size
                current.files += 1
                files += 1
                total += size
    final = progress(True)
    if on_progress is not None:
        on_progress(final)
    return final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zconsole.checks.disk_scan", description=__doc__
    )
    parser.add_argument("root")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--max-depth", type=int, default=32)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = scan(args.root, max_depth=args.max_depth, time_limit=args.time_limit, top=args.top)
    if args.json:
        json.dump(asdict(result), sys.stdout)
        sys.stdout.write("\n")
        return 0
    for d in result.largest:
        print(f"{d.bytes / 1024**2:10.1f}M  {d.path}")
    print(f"{result.files} files, {result.dirs} dirs, {result.bytes / 1024**2:.1f}M", end="")
    print(f", {result.denied_count} denied, {result.elapsed_s:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
