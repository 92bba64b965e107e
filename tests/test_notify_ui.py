"""The console side of notify, through Pilot: the `u` screen posts to the configured receivers
(loopback, each speaking its API) and the timeline shows each result; the header warns before
the next status update is due and turns CRIT when it is overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text

from tests.pilot import wait_until
from tests.receivers import SlackReceiver, StatuspageReceiver
from zconsole.app import ZConsoleApp
from zconsole.checks.base import Status
from zconsole.checks.incident import KIND_POST
from zconsole.config import Config, load_config
from zconsole.incident_controller import IncidentController
from zconsole.widgets.format import STATUS_STYLE
from zconsole.widgets.header import StatusHeader, update_clock_text
from zconsole.widgets.timeline import Timeline
from zconsole.widgets.update_preview import UpdatePreviewScreen

SIZE = (200, 60)
SP_KEY = "sp-key-ui-0123456789abcdef"


def make_config(workdir: Path, notify: list[dict[str, Any]] | None = None) -> Config:
    flags: dict[str, Any] = {"general": {"store": str(workdir / "store.db")}}
    if notify:
        flags["notify"] = notify
    return load_config(flags=flags, env={}, cwd=workdir)


def controller(app: ZConsoleApp) -> IncidentController:
    assert app.incidents is not None
    return app.incidents


def timeline_entries(app: ZConsoleApp) -> list[tuple[str, str]]:
    tl = app.query_one(Timeline)
    return [(e.kind, e.text) for i in range(tl.total) if (e := tl.entry_at(i)) is not None]


def header_text(app: ZConsoleApp) -> Text:
    rendered = app.query_one(StatusHeader).render()
    assert isinstance(rendered, Text)
    return rendered


async def test_u_posts_the_update_to_every_receiver_and_the_timeline_shows_each_result(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    with SlackReceiver() as slack, StatuspageReceiver("pg1", SP_KEY) as page:
        config = make_config(
            workdir,
            [
                {
                    "kind": "slack",
                    "name": "ops",
                    "url": slack.url + "/services/T/B/tok0123456789abcdef",
                },
                {"kind": "statuspage", "url": page.page_url, "token": SP_KEY},
            ],
        )
        app = ZConsoleApp(config, [], poll=False)
        async with app.run_test(size=SIZE) as pilot:
            controller(app).declare(title="API errors", severity="P1")
            await pilot.press("u")
            await wait_until(pilot, lambda: isinstance(app.screen, UpdatePreviewScreen))
            preview = app.screen
            assert isinstance(preview, UpdatePreviewScreen)
            # The public status page gets its own line per status change, not the team's text.
            assert preview.receivers == ["ops (slack)"]
            text = preview.text
            await pilot.press("ctrl+s")
            await wait_until(
                pilot,
                lambda: (
                    ("post", "ops (slack): detected update posted, HTTP 200")
                    in timeline_entries(app)
                ),
            )
            # The declaration created the status page's incident.
            await wait_until(pilot, lambda: len(page.requests) == 1)
            await wait_until(
                pilot,
                lambda: sum(k == KIND_POST for k, _ in timeline_entries(app)) == 2,
            )
    assert [r.body for r in slack.requests] == [{"text": text.rstrip("\n").replace("**", "*")}]
    assert [r.method for r in page.requests] == ["POST"]
    assert page.requests[0].body["incident"]["body"] == "We are currently investigating this issue."


def test_update_clock_text_warns_then_turns_crit() -> None:
    every = 15 * 60.0
    assert update_clock_text(None, every).plain == ""
    assert update_clock_text(600.0, every).plain == ""  # 10 minutes left: nothing yet
    due = update_clock_text(120.0, every)
    assert due.plain == "▲ UPDATE DUE in 2m00s"
    assert str(due.style) == STATUS_STYLE[Status.WARN]
    over = update_clock_text(-190.0, every)
    assert over.plain == "✖ UPDATE OVERDUE 3m10s"
    assert str(over.style) == STATUS_STYLE[Status.CRIT]
    # A short cadence warns in its last third, not all the time.
    assert update_clock_text(200.0, 300.0).plain == ""
    assert update_clock_text(90.0, 300.0).plain.startswith("▲")


async def test_the_header_warns_before_the_update_is_due_and_turns_crit_when_overdue(
    workdir: Path,
) -> None:
    now = [datetime.now(UTC)]
    app = ZConsoleApp(make_config(workdir), [], poll=False, clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        started = now[0]
        controller(app).declare(title="DB slow", severity="P1", started_at=started)
        assert "UPDATE" not in header_text(app).plain
        now[0] = started + timedelta(minutes=13)  # P1: an update every 15 minutes
        await wait_until(pilot, lambda: "▲ UPDATE DUE in 2m" in header_text(app).plain)
        now[0] = started + timedelta(minutes=17)
        await wait_until(pilot, lambda: "✖ UPDATE OVERDUE 2m" in header_text(app).plain)
        line = header_text(app)
        spans = [
            span
            for span in line.spans
            if line.plain[span.start : span.end].startswith("✖ UPDATE OVERDUE")
        ]
        assert [str(s.style) for s in spans] == [STATUS_STYLE[Status.CRIT]]
        # A posted update resets the clock (written at the test's "now").
        incident = controller(app).open_incident
        assert incident is not None
        controller(app).store.add_entry(incident.id, "update", "update", "alice", at=now[0])
        await wait_until(pilot, lambda: "UPDATE" not in header_text(app).plain)
        controller(app).set_status("resolved")
        now[0] = started + timedelta(hours=3)
        await pilot.pause(1.2)
        assert "UPDATE" not in header_text(app).plain  # resolved: nothing is due
