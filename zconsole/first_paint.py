"""The first paint: the host's own figures on the screen before Textual is even imported.

``import textual.app`` alone takes ~0.17 s and the console's first frame with data ~0.5 s more,
while glances shows its first screen in ~0.2 s; a responder who types ``zconsole`` on a server in
trouble should see the machine at once. So the CLI, once the config has loaded and it is about to
start the TUI on a real terminal, calls :func:`show`: one plain screen — the header and the host
pane's gauges (CPU, load, memory, swap, pressure) and the fullest disks, in the host pane's words
and units — on the alternate screen. The TUI then enters the alternate screen again (a no-op for
xterm, VTE and tmux, which keep the cursor saved by the first entry), paints over it and, on exit,
restores the user's screen as it always does.

If the TUI never takes over (an import fails, the app dies before its driver starts),
:meth:`FirstPaint.restore` leaves the alternate screen: the CLI calls it in a ``finally`` and it
is registered with ``atexit`` as the last resort, so the terminal is never left on it.

What it writes: host figures only (no DSN, no config value, nothing the redactor must see), mount
paths and the host name neutralised, every line cut to the terminal's width and the lines to its
height, no colour — about 0.5 KiB, so a slow SSH link is not held up by it.

Only the standard library, psutil (~10 ms to import; the host check loads it anyway, and it gives
the very figures the host pane shows) and the host check's own mount reader (the same disks as the
pane, each statvfs on a thread with a deadline: a dead NFS mount cannot hold up the start).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from zconsole.checks.host_mounts import Hanging, StatPool, read_mounts, real_mounts
from zconsole.checks.text import plain
from zconsole.checks.units import human_bytes

if TYPE_CHECKING:
    from zconsole.checks.host_settings import HostSettings

#: Set to 0 to start the TUI without the first paint.
ENV_SWITCH = "ZCONSOLE_FIRST_PAINT"
#: The header says the console is on its way; the TUI's own header replaces it (tests wait for
#: it to go to know the TUI has taken over).
STARTING = "starting…"
#: CPU % is the busy share between two samples of /proc/stat: the first taken as the CLI module
#: loads (before the parser and the config), the second when it paints. A since-boot
#: average would say nothing about now; the sample is at least this long (the config load
#: usually covers it, else the paint waits the rest), so that /proc/stat's 10 ms ticks give a
#: figure to a few percent.
MIN_SAMPLE_S = 0.05
#: Deadline for the statvfs of every disk, all together.
DISK_TIMEOUT_S = 0.1

ENTER = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J"  # alternate screen, cursor hidden, cleared
LEAVE = "\x1b[?25h\x1b[?1049l"  # cursor shown, the user's screen back


def wanted(
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> bool:
    """A real terminal that Textual will draw on as we would: both outputs ttys (Textual writes
    to stderr), a TERM that is not dumb, not a web driver (`zconsole serve`), not switched off."""
    env = os.environ if environ is None else environ
    if env.get(ENV_SWITCH, "1") == "0" or env.get("TEXTUAL_DRIVER"):
        return False
    if env.get("TERM", "dumb") in ("", "dumb"):
        return False
    if not sys.platform.startswith("linux"):
        return False  # CPU times and /proc/self/mounts as the host check reads them
    streams = (stdout or sys.__stdout__, stderr or sys.__stderr__)
    try:
        return all(s is not None and s.isatty() for s in streams)
    except ValueError:  # a closed stream
        return False


@dataclass(frozen=True, slots=True)
class HostFigures:
    hostname: str
    cpu_percent: float
    cores: int
    load: tuple[float, float, float]
    memory_percent: float
    memory_used: int
    memory_available: int
    memory_cached: int
    swap_total: int
    swap_used: int
    swap_percent: float
    #: PSI avg10 of some/full stalls, as the host pane shows them (None: no PSI).
    pressure: dict[str, tuple[float | None, float | None]] | None
    #: (mount, percent used, size in bytes), fullest first.
    disks: list[tuple[str, float, int]]


@dataclass(frozen=True, slots=True)
class CpuSample:
    at: float
    busy: int
    total: int


def cpu_sample(path: str = "/proc/stat") -> CpuSample | None:
    """The machine's CPU ticks now, counted as psutil's cpu_percent counts them (guest time is
    already in user time; idle and iowait are idle); None without /proc/stat."""
    try:
        with open(path, "rb") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if len(fields) < 5 or fields[0] != b"cpu":
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice]
    ticks = [int(v) for v in fields[1:9]]
    total = sum(ticks)
    return CpuSample(time.monotonic(), total - ticks[3] - ticks[4], total)


def _read_pressure(root: str = "/proc/pressure") -> dict[str, tuple[float | None, float | None]]:
    """avg10 of some and full per resource (the host check's read_pressure, without importing
    the host check and its clients' weight before the first paint)."""
    out: dict[str, tuple[float | None, float | None]] = {}
    for resource in ("cpu", "memory", "io"):
        values: dict[str, float | None] = {"some": None, "full": None}
        try:
            with open(os.path.join(root, resource), encoding="ascii") as fh:
                text = fh.read()
        except OSError:
            continue
        for line in text.splitlines():
            kind, _, rest = line.partition(" ")
            for item in rest.split():
                key, _, value = item.partition("=")
                if key == "avg10" and kind in values:
                    with contextlib.suppress(ValueError):
                        values[kind] = float(value)
        out[resource] = (values["some"], values["full"])
    return out


def _disks(settings: HostSettings | None) -> list[tuple[str, float, int]]:
    """The host pane's disks (same selection), by percent used, fullest first."""
    try:
        mounted = read_mounts()
    except OSError:
        return []
    entries = real_mounts(
        mounted,
        include_tmpfs=settings.include_tmpfs if settings else False,
        include=tuple(settings.include_mounts) if settings else (),
        exclude=tuple(settings.exclude_mounts) if settings else (),
    )
    stats = StatPool(workers=2).stat_all((e.mount for e in entries), DISK_TIMEOUT_S)
    out: list[tuple[str, float, int]] = []
    for mount, st in stats.items():
        if isinstance(st, Hanging | OSError):
            continue  # the TUI says "hanging" or the error; the first paint leaves it out
        # df's figures, as the host check computes them.
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        avail = st.f_bavail * st.f_frsize
        percent = round(100.0 * used / (used + avail), 1) if used + avail else 0.0
        out.append((mount, percent, st.f_blocks * st.f_frsize))
    return sorted(out, key=lambda d: d[1], reverse=True)


def stale(sample: CpuSample, limit_s: float = 1.0) -> bool:
    """Too old to say what the CPU does now."""
    return time.monotonic() - sample.at > limit_s


class FirstPaint:
    """One first paint, from the first CPU sample to the TUI's taking over (or the restore)."""

    def __init__(self, out: TextIO | None = None, first: CpuSample | None = None) -> None:
        import psutil

        self._psutil = psutil
        first = first or cpu_sample()
        if first is None:
            raise OSError("/proc/stat unreadable")
        self._cpu_first = first
        self._out = out
        self.shown = False
        self.handed_over = False

    def figures(self, settings: HostSettings | None = None) -> HostFigures:
        psutil = self._psutil
        first = self._cpu_first
        wait = MIN_SAMPLE_S - (time.monotonic() - first.at)
        if wait > 0:
            time.sleep(wait)
        now = cpu_sample() or first
        elapsed = now.total - first.total
        cpu = max(0.0, min(100.0, 100.0 * (now.busy - first.busy) / elapsed)) if elapsed else 0.0
        vm = psutil.virtual_memory()
        sw = psutil.swap_memory()
        pressure = _read_pressure()
        load = os.getloadavg()
        return HostFigures(
            hostname=os.uname().nodename,
            cpu_percent=cpu,
            cores=psutil.cpu_count() or 1,
            load=(load[0], load[1], load[2]),
            memory_percent=vm.percent,
            memory_used=vm.total - vm.available,  # as the host check counts it
            memory_available=vm.available,
            memory_cached=getattr(vm, "cached", 0),
            swap_total=sw.total,
            swap_used=sw.used,
            swap_percent=sw.percent,
            pressure=pressure or None,
            disks=_disks(settings),
        )

    def show(self, settings: HostSettings | None = None) -> None:
        """Paint the host's figures on the alternate screen (once)."""
        if self.shown:
            return
        out = self._out or sys.__stderr__
        assert out is not None
        size = os.get_terminal_size(out.fileno())
        text = render(self.figures(settings), size.columns, size.lines)
        # Registered before the alternate screen is entered: however the process ends from
        # here (short of SIGKILL), the user's screen comes back unless the TUI took it.
        atexit.register(self.restore)
        self.shown = True
        out.write(ENTER + text)
        out.flush()

    def take_over(self) -> None:
        """The TUI owns the screen now (and restores it on exit)."""
        self.handed_over = True

    def restore(self) -> None:
        """Leave the alternate screen if the TUI never took it over; idempotent."""
        if not self.shown or self.handed_over:
            return
        self.shown = False
        out = self._out or sys.__stderr__
        with contextlib.suppress(OSError, ValueError, AttributeError):
            assert out is not None
            out.write(LEAVE)
            out.flush()


def _bar(percent: float, width: int) -> str:
    """The panes' text bar (widgets.format.bar, without importing Rich)."""
    filled = round(max(0.0, min(percent, 100.0)) / 100 * width)
    return "█" * filled + "░" * (width - filled)


def _psi(pressure: Mapping[str, tuple[float | None, float | None]] | None) -> str:
    """The host pane's pressure words: ``PSI cpu 3/0 mem 0/0 io 1/0``."""
    if pressure is None:
        return "PSI n/a"

    def one(v: float | None) -> str:
        return "–" if v is None else f"{v:.0f}"

    parts = []
    for resource, word in (("cpu", "cpu"), ("memory", "mem"), ("io", "io")):
        some, full = pressure.get(resource, (None, None))
        parts.append(f"{word} {one(some)}/{one(full)}")
    return "PSI " + " ".join(parts)


def lines(figures: HostFigures) -> list[str]:
    """The screen's lines, widest first in meaning (cut to the width by :func:`render`)."""
    f = figures
    host = plain(f.hostname, single_line=True, max_len=40)
    out = [f" {host} · zconsole · {STARTING}", ""]
    load = " ".join(f"{v:.2f}" for v in f.load)
    out.append(f" CPU  {_bar(f.cpu_percent, 8)} {f.cpu_percent:5.1f}%  load {load} /{f.cores}")
    out.append(
        f" MEM  {_bar(f.memory_percent, 8)} {f.memory_percent:5.1f}%  "
        f"{human_bytes(f.memory_used)} used {human_bytes(f.memory_available)} avail "
        f"{human_bytes(f.memory_cached)} cache"
    )
    swap = f"SWAP {f.swap_percent:.0f}% {human_bytes(f.swap_used)}" if f.swap_total else "SWAP none"
    out.append(f" {swap} · {_psi(f.pressure)}")
    if f.disks:
        out.append("")
        width = min(24, max(len(m) for m, _, _ in f.disks))
        for mount, percent, total in f.disks:
            shown = plain(mount, single_line=True)
            if len(shown) > width:
                shown = "…" + shown[-(width - 1) :]  # the tail says which mount it is
            out.append(
                f" {shown:<{width}}  {_bar(percent, 5)} {percent:4.1f}%  {human_bytes(total)}"
            )
    return out


def render(figures: HostFigures, columns: int, rows: int) -> str:
    """The text to write after entering the alternate screen: at most ``rows`` lines, each cut
    to ``columns - 1`` cells (no line reaches the last column, so none wraps)."""
    width = max(columns - 1, 1)
    shown = [line[:width] for line in lines(figures)[: max(rows - 1, 1)]]
    return "\r\n".join(shown)


def begin(
    first: CpuSample | None = None, environ: Mapping[str, str] | None = None
) -> FirstPaint | None:
    """A first paint for this terminal (``first``: the CPU sample taken as the CLI started), or
    None when not wanted or the host cannot be read."""
    if not wanted(environ):
        return None
    try:
        return FirstPaint(first=first)
    except Exception:  # noqa: BLE001 - the console starts without it, whatever went wrong
        return None


def show(paint: FirstPaint | None, settings: HostSettings | None = None) -> None:
    """Paint, never failing the start: a figure that cannot be read means no first paint."""
    if paint is None:
        return
    try:
        paint.show(settings)
    except Exception:  # noqa: BLE001 - the TUI shows the same figures a moment later
        paint.restore()


def hand_over(app: Any, paint: FirstPaint | None) -> None:
    """Tell ``paint`` when the app's driver has entered application mode: from then on Textual
    restores the screen on exit (also when the app fails), so the first paint must not."""
    if paint is None or not paint.shown:
        return
    base = app.driver_class
    shown = paint

    class HandOver(base):  # type: ignore[misc, valid-type]
        def start_application_mode(self) -> None:
            super().start_application_mode()
            # Textual stops application mode (leaving the alternate screen) on every path
            # once this returned.
            shown.take_over()

    app.driver_class = HandOver


__all__: Sequence[str] = (
    "FirstPaint",
    "begin",
    "cpu_sample",
    "hand_over",
    "render",
    "show",
    "wanted",
)
