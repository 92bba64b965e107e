"""Times as responders type them: ISO 8601, a clock time today, or relative ("-15m", "2h ago").

A time without a zone is UTC, as the header, the timeline and the postmortem show times.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^\s*-?\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*(?:ago)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """``-15m``, ``15m ago``, ``90s``, ``03:12``, ``03:12:04``, ``2026-12-04T03:12:04[+00:00]``.

    Raises ValueError with the accepted forms.
    """
    now = now or datetime.now(UTC)
    if text.strip().lower() == "now":
        return now
    relative = _RELATIVE.match(text.lower())
    if relative:
        return now - timedelta(seconds=float(relative.group(1)) * _UNITS[relative.group(2)])
    clock = _CLOCK.match(text)
    if clock:
        hour, minute, second = int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"{text!r}: not a time of day")
        moment = now.astimezone(UTC).replace(hour=hour, minute=minute, second=second, microsecond=0)
        # "03:12" typed at 01:00 means yesterday's 03:12: the recording holds only the past.
        return moment - timedelta(days=1) if moment > now else moment
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r}: expected -15m / 2h ago, 03:12[:04] (UTC) or an ISO time "
            "(2026-12-04T03:12:04)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
