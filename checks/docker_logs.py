"""Container log lines and Engine timestamps: records and pure functions (parse, filter, rate).

Every line parsed here goes through the one redaction function (``checks/secrets.py``) before
anything shows it, as evidence bundles' log tails do.

No I/O and no docker import here: the fetching (tail and follow, stdout and stderr apart) is in
``zconsole.docker_logs``; the screen that shows the lines is ``widgets/container_logs.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from zconsole.checks.secrets import redact

STDOUT = "out"
STDERR = "err"


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line a container wrote. ``text`` is outside text: render it through inert().

    Lines made by :func:`parse_line` are already redacted (registered secrets, URL and keyword
    passwords): a password a container logs never reaches the screen.
    """

    container: str
    #: "out" or "err".
    stream: str
    #: The Engine's RFC 3339 timestamp with nanoseconds ("" if the line had none).
    ts: str
    text: str

    @property
    def sort_key(self) -> tuple[str, str]:
        return (ts_sort_key(self.ts), self.container)


def ts_sort_key(ts: str) -> str:
    """RFC 3339 Nano drops trailing zeros; pad the fraction so strings sort as times."""
    if not ts:
        return ""
    head, dot, tail = ts.partition(".")
    if not dot:
        return head.rstrip("Z") + ".000000000"
    return f"{head}.{tail.rstrip('Z')[:9].ljust(9, '0')}"


def parse_engine_time(value: str | None) -> datetime | None:
    """The Engine's RFC 3339 time with nanoseconds to a datetime (None if absent or zero)."""
    if not value or value.startswith("0001-01-01"):
        return None
    text = value.replace("Z", "+00:00")
    head, dot, tail = text.partition(".")
    if dot:
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[:digits][:6].ljust(6, '0')}{tail[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def ts_epoch(ts: str) -> float | None:
    """Seconds since the epoch of an Engine timestamp (microsecond precision)."""
    if not ts:
        return None
    key = ts_sort_key(ts)
    head, _, frac = key.partition(".")
    try:
        base = datetime.fromisoformat(head).replace(tzinfo=UTC)
    except ValueError:
        return None
    return base.timestamp() + int(frac[:6] or 0) / 1e6


def split_chunk(container: str, stream: str, pending: str, chunk: str) -> tuple[list[LogLine], str]:
    """Complete lines of ``pending + chunk`` (timestamps parsed) and the unfinished rest."""
    text = pending + chunk
    *complete, rest = text.split("\n")
    return [parse_line(container, stream, raw) for raw in complete], rest


def parse_line(container: str, stream: str, raw: str) -> LogLine:
    """A line fetched with ``timestamps=True``: "2026-11-23T14:22:35.04Z message", redacted.

    Redacted here, one whole line at a time, so that the tail and the followed lines alike
    pass through it, and a secret split across two chunks of a stream is still caught.
    """
    raw = raw.removesuffix("\r")
    ts, sep, text = raw.partition(" ")
    if sep and len(ts) >= 20 and ts[4:5] == "-" and ts[10:11] == "T":
        return LogLine(container, stream, ts, redact(text))
    return LogLine(container, stream, "", redact(raw))


def merge(lines: Iterable[LogLine]) -> list[LogLine]:
    """Lines of several streams/containers in time order (stable for equal times)."""
    return sorted(lines, key=lambda line: line.sort_key)


class FilterError(ValueError):
    pass


def compile_filter(text: str) -> re.Pattern[str] | None:
    """The logs filter: a substring, or ``re:PATTERN`` for a regular expression."""
    text = text.strip()
    if not text:
        return None
    if text.startswith("re:"):
        try:
            return re.compile(text[3:])
        except re.error as exc:
            raise FilterError(f"bad regular expression: {exc}") from None
    return re.compile(re.escape(text), re.IGNORECASE)


def error_rate(lines: Sequence[LogLine], pattern: re.Pattern[str], now: float) -> float:
    """Error lines per minute over the last minute of the lines (by their timestamps).

    Lines without a timestamp count as "now". When the lines span less than a minute, the
    figure is the count in that minute (no extrapolation).
    """
    count = 0
    for line in reversed(lines):
        at = ts_epoch(line.ts)
        if at is not None and now - at > 60:
            break
        if pattern.search(line.text):
            count += 1
    return float(count)


def first_error(lines: Sequence[LogLine], pattern: re.Pattern[str]) -> int | None:
    """Index of the first line matching the error pattern."""
    for index, line in enumerate(lines):
        if pattern.search(line.text):
            return index
    return None
