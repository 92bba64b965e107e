"""Incident records: the postmortem Markdown (runbook 001's template), JSON, and the report.

Pure functions over store records; everything written is redacted and made plain (no escape
sequences from outside text reach a file).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zconsole.checks.base import to_jsonable
from zconsole.checks.incident import KIND_CORRECTION, Entry, Incident, utc
from zconsole.checks.secrets import redact
from zconsole.updates import minutes
from zconsole.widgets.text import plain

if TYPE_CHECKING:
    from zconsole.recording.postmortem import RecordedWindow

PLACEHOLDER = "_To be written._"
EXPORT_VERSION = 1


def slug(title: str, max_len: int = 60) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", plain(title).lower()).strip("-")
    return text[:max_len].rstrip("-") or "incident"


def export_name(incident: Incident, suffix: str = ".md") -> str:
    return f"{utc(incident.started_at):%Y-%m-%d}-{slug(incident.title)}{suffix}"


def _cell(text: str) -> str:
    return plain(text).replace("|", "\\|").replace("\n", "<br>")


def _section(text: str) -> str:
    return plain(text).strip() or PLACEHOLDER


def _time(entry: Entry, start: datetime) -> str:
    at = utc(entry.at)
    return f"{at:%H:%M:%S}" if at.date() == utc(start).date() else f"{at:%Y-%m-%d %H:%M:%S}"


def _duration(incident: Incident) -> str:
    if incident.resolved_at is None:
        return f"ongoing (since {utc(incident.started_at):%H:%M} UTC)"
    seconds = (utc(incident.resolved_at) - utc(incident.started_at)).total_seconds()
    return (
        f"{minutes(seconds)} ({utc(incident.started_at):%H:%M} - "
        f"{utc(incident.resolved_at):%H:%M} UTC)"
    )


def _event(entry: Entry) -> str:
    text = entry.text
    if entry.kind == KIND_CORRECTION and entry.corrects is not None:
        text = f"Correction of #{entry.corrects}: {text}"
    elif entry.corrected_by is not None:
        text = f"{text} (corrected in #{entry.corrected_by})"
    return text


def _clock(moment: datetime, start: datetime) -> str:
    at = utc(moment)
    return f"{at:%H:%M:%S}" if at.date() == utc(start).date() else f"{at:%Y-%m-%d %H:%M:%S}"


def _timeline_rows(
    entries: Sequence[Entry], recorded: RecordedWindow | None, start: datetime
) -> list[str]:
    """The store's entries and the recording's transitions, in time order."""
    rows = [
        (
            utc(e.at),
            0,
            e.id,
            f"| {e.id} | {_time(e, start)} | {_cell(e.author)} | {e.kind} | {_cell(_event(e))} |",
        )
        for e in entries
    ]
    if recorded is not None:
        rows += [
            (
                utc(event.at),
                -1,  # a transition first: it is what the entry of the same second reacted to
                i,
                f"| – | {_clock(event.at, start)} | recorder | recorded | {_cell(event.text)} |",
            )
            for i, event in enumerate(recorded.events)
        ]
    return [row for *_key, row in sorted(rows)]


def _span_s(seconds: float) -> str:
    """Seconds for a drill-fast detection, minutes beyond two of them."""
    return f"{seconds:.0f} s" if seconds < 120 else minutes(seconds)


def _recorded_detection(recorded: RecordedWindow) -> list[str]:
    lines = []
    first = recorded.first_crit
    if first is None:
        lines.append(
            "- **Time to detect:** no CRIT recorded in the 30 minutes before the declaration"
        )
    else:
        ttd = recorded.time_to_detect_s or 0.0
        lines += [
            f"- **First CRIT recorded:** {utc(first.at):%Y-%m-%d %H:%M:%S} UTC "
            f"({plain(first.text)})",
            f"- **Time to detect:** {_span_s(max(0.0, ttd))} (first CRIT → declared "
            f"{utc(recorded.declared_at):%H:%M:%S} UTC)",
        ]
    ttm = recorded.time_to_mitigate_s
    if ttm is not None and recorded.recovered_at is not None:
        lines.append(
            f"- **Time to mitigate:** {_span_s(ttm)} (declared → no source CRIT any more, "
            f"{utc(recorded.recovered_at):%H:%M:%S} UTC)"
        )
    elif first is not None:
        lines.append("- **Time to mitigate:** not recovered within the recorded window")
    return lines


def postmortem_markdown(
    incident: Incident,
    entries: Sequence[Entry],
    recorded: RecordedWindow | None = None,
    charts: Sequence[tuple[str, str]] = (),
) -> str:
    """The runbooks' postmortem shape, with the timeline filled in from the store.

    With ``recorded`` (the flight recorder's view of the incident window) the timeline also
    holds every recorded status change, Detection gains time to detect and to mitigate, and
    ``charts`` ((title, relative path) of each chart file) are linked under the timeline.
    """
    start = incident.started_at
    entries = sorted(entries, key=lambda e: (utc(e.at), e.id))
    responders = list(incident.responders)
    for entry in entries:
        if entry.author not in responders and entry.author != "system":
            responders.append(entry.author)
    tta = (
        minutes((utc(incident.acknowledged_at) - utc(start)).total_seconds())
        if incident.acknowledged_at
        else "not acknowledged"
    )
    lines = [
        f"# Postmortem: {plain(incident.title)}",
        "",
        f"**Incident:** {incident.id}  ",
        f"**Date:** {utc(start):%Y-%m-%d}  ",
        f"**Author:** {plain(incident.commander)}  ",
        f"**Severity:** {incident.severity_label}  ",
        f"**Status:** {incident.status.capitalize()}  ",
        f"**Duration:** {_duration(incident)}  ",
        f"**Responders:** {plain(', '.join(responders)) or 'TBD'}",
        "",
        "---",
        "",
        "## Summary",
        _section(incident.summary),
        "",
        "---",
        "",
        "## Timeline (All times UTC)",
        "| # | Time | Author | Kind | Event |",
        "|---|------|--------|------|-------|",
    ]
    lines += _timeline_rows(entries, recorded, start)
    if charts:
        lines += ["", "### Recorded (flight recorder)", ""]
        for title, path in charts:
            lines += [f"![{_cell(title)}]({path})", ""]
        lines.pop()
    lines += [
        "",
        "---",
        "",
        "## Root Cause",
        _section(incident.root_cause),
        "",
        "---",
        "",
        "## Impact",
        f"- **Impact:** {plain(incident.impact) or 'TBD'}",
        f"- **Duration:** {_duration(incident)}",
        f"- **Services Affected:** {plain(', '.join(incident.services)) or 'TBD'}",
        "",
        "---",
        "",
        "## Resolution",
        _section(incident.resolution),
        "",
        "---",
        "",
        "## Detection",
        f"- **Started:** {utc(start):%Y-%m-%d %H:%M} UTC",
        f"- **Time to acknowledge:** {tta}",
    ]
    if recorded is not None:
        lines += _recorded_detection(recorded)
    if incident.detection.strip():
        lines.append(f"- **How detected:** {plain(incident.detection).strip()}")
    else:
        lines.append(f"- **How detected:** {PLACEHOLDER}")
    lines += [
        "",
        "---",
        "",
        "## Action Items",
    ]
    if incident.action_items.strip():
        lines.append(plain(incident.action_items).strip())
    else:
        lines += [
            "| Action | Owner | Due Date | Priority |",
            "|--------|-------|----------|----------|",
            "| | | | |",
        ]
    lines += ["", "---", "", "## Lessons Learned"]
    if incident.lessons.strip():
        lines.append(plain(incident.lessons).strip())
    else:
        for heading in ("What Went Well", "What Went Wrong", "Where We Got Lucky"):
            lines += [f"### {heading}", f"- {PLACEHOLDER}", ""]
        lines.pop()
    return redact("\n".join(lines) + "\n")


def incident_json(incident: Incident, entries: Sequence[Entry]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": EXPORT_VERSION,
        "incident": to_jsonable(incident),
        "entries": [to_jsonable(e) for e in entries],
    }
    return data


def write_export(
    incident: Incident,
    entries: Sequence[Entry],
    out_dir: Path,
    *,
    as_json: bool = False,
    recorded: RecordedWindow | None = None,
) -> Path:
    """The postmortem file; with ``recorded``, its charts as SVG files in ``<name>-charts/``."""
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    if as_json:
        path = out_dir / export_name(incident, ".json")
        text = redact(json.dumps(incident_json(incident, entries), indent=2, ensure_ascii=False))
        path.write_text(text + "\n", encoding="utf-8")
    else:
        path = out_dir / export_name(incident)
        charts = _write_charts(recorded, out_dir, path.stem) if recorded is not None else []
        path.write_text(postmortem_markdown(incident, entries, recorded, charts), encoding="utf-8")
    return path


def _write_charts(recorded: RecordedWindow, out_dir: Path, stem: str) -> list[tuple[str, str]]:
    from zconsole.charts import line_chart

    folder = out_dir / f"{stem}-charts"
    marks = [(recorded.declared_at, "declared")]
    if recorded.first_crit is not None:
        marks.append((recorded.first_crit.at, "first CRIT"))
    written = []
    for series in recorded.charts:
        folder.mkdir(exist_ok=True)
        # From the first recorded point: a recorder started mid-window leaves no empty left half.
        first = min(t for points in series.lines.values() for t, _ in points)
        svg = line_chart(
            series.title,
            series.unit,
            series.lines,
            since=max(recorded.since, first),
            until=recorded.until,
            marks=marks,
        )
        (folder / f"{series.name}.svg").write_text(svg, encoding="utf-8")
        written.append((series.title, f"{folder.name}/{series.name}.svg"))
    return written


# -- report -----------------------------------------------------------------------------------

_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str) -> timedelta:
    """ "30d", "12h", "2w", "90m"."""
    match = _SINCE.match(text)
    if match is None:
        raise ValueError(f"--since {text!r}: expected a number and m, h, d or w (e.g. 30d)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True, slots=True)
class Report:
    total: int
    by_severity: dict[str, int]
    tta_mean_s: float | None
    tta_worst_s: float | None
    ttr_mean_s: float | None
    ttr_worst_s: float | None
    unresolved: int


def report(incidents: Sequence[Incident], levels: Sequence[str]) -> Report:
    by = {level: 0 for level in levels}
    tta: list[float] = []
    ttr: list[float] = []
    for incident in incidents:
        by[incident.severity] = by.get(incident.severity, 0) + 1
        start = utc(incident.started_at)
        if incident.acknowledged_at is not None:
            tta.append((utc(incident.acknowledged_at) - start).total_seconds())
        if incident.resolved_at is not None:
            ttr.append((utc(incident.resolved_at) - start).total_seconds())
    return Report(
        total=len(incidents),
        by_severity=by,
        tta_mean_s=sum(tta) / len(tta) if tta else None,
        tta_worst_s=max(tta) if tta else None,
        ttr_mean_s=sum(ttr) / len(ttr) if ttr else None,
        ttr_worst_s=max(ttr) if ttr else None,
        unresolved=sum(1 for i in incidents if i.resolved_at is None),
    )


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 3600:
        return minutes(seconds)
    return f"{seconds / 3600:.1f} h"


def report_text(rep: Report, since: str) -> str:
    lines = [f"Incidents in the last {since}: {rep.total} ({rep.unresolved} unresolved)"]
    lines += [f"  {level}: {count}" for level, count in rep.by_severity.items()]
    lines.append(
        f"Time to acknowledge: mean {_span(rep.tta_mean_s)}, worst {_span(rep.tta_worst_s)}"
    )
    lines.append(
        f"Time to resolve:     mean {_span(rep.ttr_mean_s)}, worst {_span(rep.ttr_worst_s)}"
    )
    return "\n".join(lines) + "\n"
