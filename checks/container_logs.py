"""Container logs, the data side: log lines and Engine timestamps (parse, filter, rate), and
fetching them (tail, then follow; stdout and stderr apart).

Every line parsed here goes through the one redaction function (``checks/secrets.py``) before
anything shows it, as evidence bundles' log tails do.

The Engine multiplexes stdout and stderr into one stream, and a client's ``logs()`` joins
them. We ask for each separately (``stdout=1&stderr=0`` and the reverse) with timestamps, and
merge by time, so every line keeps which stream it came from. The fetching functions take the
check's Engine API client (``checks/docker_client.py``) as an argument: this module imports no
client, so the logs screen (``widgets/container_logs.py``) may use its records. The flow that
opens that screen and feeds it from worker threads is ``zconsole/container_logs.py``.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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


# -- fetching (the check's Engine API client is passed in) ---------------------------------------


def release_stream(stream: Any) -> None:
    """Close a stream and free its socket now; call it from the thread that read the stream.

    A stream's ``close()`` shuts the socket down, which wakes a reader blocked in another thread;
    its ``release()`` then closes the response from the reading thread, so the descriptor is
    given back at once instead of waiting for the garbage collector (an "unclosed socket"
    ResourceWarning, a leaked fd per restarted stream).
    """
    with contextlib.suppress(Exception):
        stream.close()
    release = getattr(stream, "release", None)
    if release is not None:
        with contextlib.suppress(Exception):
            release()


def fetch_tail(api: Any, container_id: str, name: str, tail: int) -> list[LogLine]:
    """The last ``tail`` lines of each stream of one container, stdout and stderr told apart."""
    lines: list[LogLine] = []
    for stream in (STDOUT, STDERR):
        raw = api.logs(
            container_id,
            stdout=stream == STDOUT,
            stderr=stream == STDERR,
            timestamps=True,
            tail=tail,
        )
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
        complete, rest = split_chunk(name, stream, "", text)
        lines.extend(complete)
        if rest:
            lines.extend(split_chunk(name, stream, rest, "\n")[0])
    return lines


def fetch_tails(api: Any, ids: Sequence[str], names: Sequence[str], tail: int) -> list[LogLine]:
    """The last ``tail`` lines of several containers, merged in time order."""
    lines: list[LogLine] = []
    for cid, name in zip(ids, names, strict=True):
        lines.extend(fetch_tail(api, cid, name, tail))
    merged = merge(lines)
    return merged[-tail * max(len(ids), 1) :]


def follow_stream(
    api: Any,
    container_id: str,
    name: str,
    stream: str,
    since: float,
    out: queue.Queue[LogLine],
    stop: threading.Event,
    opened: list[Any] | None = None,
) -> None:
    """Follow one stream of one container until ``stop``; reconnects after read timeouts.

    Each stream opened is appended to ``opened`` so the caller can close its socket at once.
    """
    last = since
    while not stop.is_set():
        pending = ""
        try:
            chunks = api.logs(
                container_id,
                stdout=stream == STDOUT,
                stderr=stream == STDERR,
                timestamps=True,
                stream=True,
                follow=True,
                since=last if last > 0 else None,
            )
            if opened is not None:
                opened.append(chunks)
            try:
                for chunk in chunks:
                    if stop.is_set():
                        break
                    text = chunk.decode("utf-8", errors="replace")
                    lines, pending = split_chunk(name, stream, pending, text)
                    for line in lines:
                        at = ts_epoch(line.ts)
                        if at is not None and at <= last:
                            continue  # already shown (the tail, or before a reconnect)
                        if at is not None:
                            last = at
                        out.put(line)
                else:
                    # The container stopped: its log stream ended. Look again in a moment.
                    stop.wait(1.0)
            finally:
                release_stream(chunks)
                if opened is not None:
                    with contextlib.suppress(ValueError):
                        opened.remove(chunks)  # a long follow reconnects: keep the list short
        except Exception:  # noqa: BLE001 - read timeout on a quiet container, or it went away
            stop.wait(0.5)
