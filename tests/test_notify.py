"""Status updates to chat and status pages, through the outbox, against loopback receivers that
speak each service's documented API (tests/receivers.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import services
from tests.receivers import (
    DiscordReceiver,
    MattermostReceiver,
    Receiver,
    SlackReceiver,
    StatuspageReceiver,
    TeamsReceiver,
)
from zconsole.checks.incident import KIND_POST, Incident
from zconsole.config import Config, load_config
from zconsole.incident_controller import IncidentController
from zconsole.notify import notifier as make_notifier
from zconsole.notify.outbox import PENDING, REJECTED, SENT, Outbox
from zconsole.notify.poster import Notifier
from zconsole.store import IncidentStore

UPDATE = "🔄 **INCIDENT UPDATE** 🔄\n**Status:** Identified\n- restarted <api> & db\n@channel"


def config_with(
    tmp_path: Path, *targets: dict[str, Any], env: dict[str, str] | None = None
) -> Config:
    flags: dict[str, Any] = {
        "general": {"store": str(tmp_path / "store.db")},
        "notify": list(targets),
    }
    return load_config(flags=flags, env=env or {}, cwd=tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IncidentStore]:
    opened = IncidentStore(tmp_path / "store.db")
    yield opened
    opened.close()


def declare(store: IncidentStore, title: str = "API errors", severity: str = "P1") -> Incident:
    return store.declare(title=title, severity=severity, author="alice", impact="checkout fails")


def notifier_for(config: Config, store: IncidentStore) -> Notifier:
    made = make_notifier(config, store)
    assert made is not None
    made.pause = 0.05  # the retry pause, short for tests
    return made


def posts(store: IncidentStore, incident_id: str) -> list[str]:
    return [e.text for e in store.entries(incident_id) if e.kind == KIND_POST]


# -- each kind's payload -------------------------------------------------------------------------


def expected_payload(kind: str, incident: Incident) -> dict[str, Any]:
    if kind == "slack":
        # mrkdwn: one * for bold; &, <, > escaped so nothing becomes a link or <!channel>.
        return {
            "text": "🔄 *INCIDENT UPDATE* 🔄\n*Status:* Identified\n"
            "- restarted &lt;api&gt; &amp; db\n@channel"
        }
    if kind == "mattermost":
        return {
            "text": "🔄 **INCIDENT UPDATE** 🔄\n**Status:** Identified\n"
            "- restarted <api> & db\n@\u2060channel"
        }
    if kind == "discord":
        return {"content": UPDATE, "allowed_mentions": {"parse": []}}
    if kind == "teams":
        lines = [
            "🔄 **INCIDENT UPDATE** 🔄",
            "**Status:** Identified",
            "- restarted <api> & db",
            "@\u2060channel",
        ]
        body: list[dict[str, Any]] = [
            {"type": "TextBlock", "text": line, "wrap": True} for line in lines
        ]
        body[0].update(weight="Bolder", size="Medium")
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": body,
                    },
                }
            ],
        }
    assert kind == "webhook"
    return {
        "version": 1,
        "event": "update",
        "kind": "update",
        "incident": {
            "id": incident.id,
            "title": "API errors",
            "severity": "P1",
            "status": "investigating",
            "impact": "checkout fails",
            "started_at": incident.started_at.isoformat(),
        },
        "text": UPDATE,
        "sent_at": "(any)",
    }


RECEIVERS: dict[str, type[Receiver]] = {
    "slack": SlackReceiver,
    "mattermost": MattermostReceiver,
    "discord": DiscordReceiver,
    "teams": TeamsReceiver,
    "webhook": Receiver,
}


@pytest.mark.parametrize("kind", list(RECEIVERS))
def test_each_kind_receives_its_documented_payload(
    kind: str, tmp_path: Path, store: IncidentStore
) -> None:
    with RECEIVERS[kind]() as receiver:
        path = "/hooks/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx"
        config = config_with(
            tmp_path, {"kind": kind, "name": f"ops-{kind}", "url": receiver.url + path}
        )
        incident = declare(store)
        notifier = notifier_for(config, store)
        assert notifier.post_update(incident, UPDATE, update_kind="update", author="alice") == 1
        assert notifier.deliver() == 1
        notifier.close()
    [request] = receiver.requests
    assert request.method == "POST"
    assert request.path == path
    assert request.headers["content-type"] == "application/json"
    body = dict(request.body)
    if kind == "webhook":
        assert body.pop("sent_at")
        body["sent_at"] = "(any)"
    assert body == expected_payload(kind, incident)
    # The result is in the incident's timeline, by the receiver's name, with the HTTP status.
    [line] = posts(store, incident.id)
    code = {"discord": 204, "teams": 202}.get(kind, 200)
    assert line == f"ops-{kind} ({kind}): update update posted, HTTP {code}"


def test_a_500_then_a_200_is_one_post_retried_once(tmp_path: Path, store: IncidentStore) -> None:
    with SlackReceiver() as slack:
        slack.fail_next(500)
        config = config_with(tmp_path, {"kind": "slack", "url": slack.url + "/services/x"})
        incident = declare(store)
        notifier = notifier_for(config, store)
        notifier.post_update(incident, "update one", update_kind="update", author="alice")
        assert notifier.deliver() == 1
        assert [r.body for r in slack.requests] == [{"text": "update one"}] * 2
        [row] = notifier.outbox.rows()
        assert (row.state, row.attempts) == (SENT, 2)
        notifier.close()
    assert posts(store, incident.id) == ["slack: update update posted, HTTP 200 after 2 attempts"]


def test_a_rejected_post_is_kept_and_not_retried(tmp_path: Path, store: IncidentStore) -> None:
    with SlackReceiver() as slack:
        slack.fail_next(404)  # Slack's answer for a revoked webhook (no_service)
        config = config_with(tmp_path, {"kind": "slack", "url": slack.url + "/services/x"})
        incident = declare(store)
        notifier = notifier_for(config, store)
        notifier.post_update(incident, "update", update_kind="update", author="alice")
        assert notifier.deliver(now_due=True) == 0
        assert notifier.deliver(now_due=True) == 0
        assert len(slack.requests) == 1
        [row] = notifier.outbox.rows()
        assert (row.state, row.last_error) == (REJECTED, "HTTP 404")
        notifier.close()
    [line] = posts(store, incident.id)
    assert line.startswith("Post to slack rejected (HTTP 404); kept in the outbox")


def test_an_unreachable_receiver_keeps_the_update_until_it_is_back(
    tmp_path: Path, store: IncidentStore
) -> None:
    port = services.closed_port()
    config = config_with(
        tmp_path, {"kind": "mattermost", "name": "mm", "url": f"http://127.0.0.1:{port}/hooks/k"}
    )
    incident = declare(store)
    notifier = notifier_for(config, store)
    notifier.post_update(incident, "first", update_kind="detected", author="alice")
    notifier.post_update(incident, "second", update_kind="update", author="alice")
    assert notifier.deliver() == 0
    assert [r.state for r in notifier.outbox.rows()] == [PENDING, PENDING]
    assert notifier.outbox.rows()[0].attempts == 2  # tried, retried once, kept
    assert posts(store, incident.id) == [
        "Post to mm (mattermost) failed (ConnectError); kept in the outbox, "
        "retrying until it is delivered"
    ]
    assert notifier.deliver() == 0  # backing off: not asked again at once
    assert notifier.outbox.rows()[0].attempts == 2
    notifier.close()

    # Another process (the recorder, a new console) sends it when the receiver is back: the
    # outbox is durable, in the store's own file.
    with MattermostReceiver(port) as mattermost:
        again = notifier_for(config, store)
        assert again.deliver(now_due=True) == 2
        assert [r.body["text"] for r in mattermost.requests] == ["first", "second"]  # in order
        assert again.outbox.pending_count() == 0
        again.close()
    lines = posts(store, incident.id)
    assert lines[1].startswith("mm (mattermost): detected update posted, HTTP 200 after 3 attempts")
    assert "from the outbox" in lines[1]
    assert lines[2].startswith("mm (mattermost): update update posted, HTTP 200")


def test_two_processes_never_send_the_same_row_twice(tmp_path: Path, store: IncidentStore) -> None:
    with SlackReceiver() as slack:
        config = config_with(tmp_path, {"kind": "slack", "url": slack.url + "/services/x"})
        incident = declare(store)
        first, second = notifier_for(config, store), notifier_for(config, store)
        first.post_update(incident, "once", update_kind="update", author="alice")
        claimed = first.outbox.claim_due(["slack"])
        assert len(claimed) == 1
        assert second.outbox.claim_due(["slack"]) == []  # claimed by the other process
        first.close()
        second.close()


# -- Statuspage ----------------------------------------------------------------------------------


def test_statuspage_sees_the_create_and_each_status_change(
    tmp_path: Path, store: IncidentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_key = "sp-key-0123456789abcdef"
    with StatuspageReceiver("pg7k2l9xq3", api_key) as page:
        config = config_with(
            tmp_path,
            {
                "kind": "statuspage",
                "name": "status",
                "url": page.page_url,
                "token_env": "SP_KEY",
                "post_updates": True,  # the team's updates too, not only the public lines
            },
            env={"SP_KEY": api_key},
        )
        monkeypatch.setenv("SP_KEY", api_key)
        controller = IncidentController(
            store, config.incident, author="alice", notifier=notifier_for(config, store)
        )
        notifier = controller.notifier
        assert notifier is not None
        incident = controller.declare(title="Checkout down", severity="P0")
        assert incident is not None
        notifier.deliver()
        for status in ("identified", "monitoring"):
            controller.set_status(status)
            notifier.deliver()
        controller.posted_update("We rolled back the deploy.", "update")
        notifier.deliver()
        controller.set_status("resolved")
        notifier.deliver()
        notifier.close()

    assert [(r.method, r.path) for r in page.requests] == [
        ("POST", "/v1/pages/pg7k2l9xq3/incidents"),
    ] + [("PATCH", "/v1/pages/pg7k2l9xq3/incidents/sp0001")] * 4
    create = page.requests[0].body
    assert create == {
        "incident": {
            "name": "Checkout down",
            "status": "investigating",
            "impact_override": "critical",
            "body": "We are currently investigating this issue.",
        }
    }
    assert [r.body["incident"]["status"] for r in page.requests[1:]] == [
        "identified",
        "monitoring",
        "monitoring",
        "resolved",
    ]
    assert page.requests[3].body["incident"]["body"] == "We rolled back the deploy."
    assert page.incidents["sp0001"]["status"] == "resolved"
    lines = posts(store, incident.id)
    assert lines[0] == "status (statuspage): incident created (investigating), HTTP 201"
    assert lines[-1] == "status (statuspage): incident updated (resolved), HTTP 200"


def test_a_status_change_waits_behind_the_create_while_statuspage_is_down(
    tmp_path: Path, store: IncidentStore
) -> None:
    port = services.closed_port()
    config = config_with(
        tmp_path,
        {
            "kind": "statuspage",
            "url": f"http://127.0.0.1:{port}/v1/pages/abc",
            "token": "key-abcdef0123456789",
        },
    )
    notifier = notifier_for(config, store)
    controller = IncidentController(store, config.incident, author="alice", notifier=notifier)
    controller.declare(title="Down", severity="P1")
    controller.set_status("identified")
    assert notifier.deliver() == 0
    with StatuspageReceiver("abc", "key-abcdef0123456789", port) as page:
        assert notifier.deliver(now_due=True) == 2
    assert [r.method for r in page.requests] == ["POST", "PATCH"]
    assert page.incidents["sp0001"]["status"] == "identified"
    notifier.close()


def test_the_outbox_lives_in_the_store_file_and_holds_no_url(
    tmp_path: Path, store: IncidentStore
) -> None:
    secret = "zz9plural-zalpha-0123456789"
    config = config_with(
        tmp_path,
        {"kind": "slack", "url": f"http://127.0.0.1:{services.closed_port()}/services/{secret}"},
    )
    notifier = notifier_for(config, store)
    notifier.post_update(declare(store), "text", update_kind="update", author="alice")
    notifier.deliver()
    notifier.close()
    db = sqlite3.connect(store.path)
    dump = "\n".join(db.iterdump())
    db.close()
    assert "notify_outbox" in dump
    assert secret not in dump
    assert isinstance(Outbox(store.path).rows()[0].id, int)


def test_a_webhook_that_follows_status_hears_each_declaration_and_change(
    tmp_path: Path, store: IncidentStore
) -> None:
    with Receiver() as hook, SlackReceiver() as slack:
        config = config_with(
            tmp_path,
            {"kind": "webhook", "url": hook.url + "/zc", "follow_status": True},
            {"kind": "slack", "url": slack.url + "/services/x"},  # chat: updates only
        )
        notifier = notifier_for(config, store)
        controller = IncidentController(store, config.incident, author="alice", notifier=notifier)
        incident = controller.declare(title="Queue backlog", severity="P2")
        assert incident is not None
        controller.set_status("monitoring")
        assert notifier.deliver() == 2
        notifier.close()
    assert slack.requests == []
    events = [
        (r.body["event"], r.body["kind"], r.body["incident"]["status"]) for r in hook.requests
    ]
    assert events == [("declared", "", "investigating"), ("status", "", "monitoring")]
    assert all(
        r.body["incident"]["id"] == incident.id and r.body["text"] == "" for r in hook.requests
    )


def test_a_long_update_is_cut_to_discords_limit(tmp_path: Path, store: IncidentStore) -> None:
    with DiscordReceiver() as discord:
        config = config_with(
            tmp_path, {"kind": "discord", "url": discord.url + "/api/webhooks/1/t"}
        )
        notifier = notifier_for(config, store)
        notifier.post_update(declare(store), "x" * 5000, update_kind="update", author="alice")
        assert notifier.deliver() == 1
        notifier.close()
    [request] = discord.requests
    assert len(request.body["content"]) == 2000
    assert request.body["content"].endswith("…")


def test_a_status_page_gets_no_team_update_unless_asked(
    tmp_path: Path, store: IncidentStore
) -> None:
    with SlackReceiver() as slack, StatuspageReceiver("p", "key-0123456789abcdef") as page:
        config = config_with(
            tmp_path,
            {"kind": "slack", "url": slack.url + "/services/x"},
            {"kind": "statuspage", "url": page.page_url, "token": "key-0123456789abcdef"},
        )
        notifier = notifier_for(config, store)
        assert notifier.names() == ["slack"]
        incident = declare(store)
        assert notifier.post_update(incident, "internal", update_kind="update", author="a") == 1
        assert notifier.deliver() == 1
        notifier.close()
    assert len(slack.requests) == 1
    assert page.requests == []


def test_a_read_only_console_posts_and_delivers_nothing(tmp_path: Path) -> None:
    with SlackReceiver() as slack:
        config = config_with(tmp_path, {"kind": "slack", "url": slack.url + "/services/x"})
        writer = IncidentStore(tmp_path / "store.db")
        declare(writer)
        writer.close()
        opened = IncidentController.open(
            tmp_path / "store.db", config.incident, read_only=True, notify=config.notify
        )
        assert isinstance(opened, IncidentController)
        assert opened.notifier is None
        assert opened.posted_update("text", "update") == 0
        opened.store.close()
    assert slack.requests == []
    db = sqlite3.connect(tmp_path / "store.db")
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert "notify_outbox" not in tables
