"""CLI parity for scripts and chat-ops: `zconsole incidents declare | note | status | update`,
through `zconsole.cli.main` with a config file, against loopback receivers; and no webhook
secret in any output."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import services
from tests.receivers import SlackReceiver, StatuspageReceiver
from zconsole import incident_cli, updates
from zconsole.checks.incident import KIND_NOTE, KIND_POST, KIND_UPDATE, STATUSES
from zconsole.cli import main
from zconsole.config import ConfigError, effective_toml, load_config
from zconsole.notify import services as notify_services
from zconsole.store import IncidentStore

SP_KEY = "sp-api-key-0a1b2c3d4e5f6a7b"


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "zconsole.toml"
    store = tmp_path / "store.db"
    path.write_text(f'[general]\nstore = "{store}"\n\n{body}')
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_choices_are_the_incident_modules_own() -> None:
    assert incident_cli.STATUSES == STATUSES
    assert incident_cli.UPDATE_KINDS == updates.KINDS
    assert incident_cli.UPDATE_FORMATS == updates.FORMATS


def test_declare_note_status_update_without_receivers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_config(tmp_path, ""))
    code, out, err = run(
        capsys,
        "-c",
        config,
        "incidents",
        "declare",
        "--title",
        "API 5xx",
        "--severity",
        "P1",
        "--impact",
        "checkout fails",
        "--service",
        "api",
    )
    assert code == 0, err
    incident_id = out.strip()
    assert out == f"{incident_id}\n"  # only the id: scripts capture it
    assert incident_id.startswith("INC-")
    code, out, _ = run(capsys, "-c", config, "incidents", "note", incident_id, "rolled back v2")
    assert code == 0 and out.startswith(f"{incident_id}: note #")
    code, out, _ = run(capsys, "-c", config, "incidents", "status", incident_id, "identified")
    assert (code, out) == (0, f"{incident_id}: investigating → identified\n")
    code, out, _ = run(capsys, "-c", config, "incidents", "status", incident_id, "identified")
    assert (code, out) == (0, f"{incident_id}: already identified\n")
    code, out, _ = run(capsys, "-c", config, "incidents", "update", incident_id)
    assert code == 0
    assert out.startswith("🚨 **INCIDENT DETECTED** 🚨\n")  # no update posted yet: "detected"
    assert "**Impact:** checkout fails" in out
    code, out, _ = run(
        capsys,
        "-c",
        config,
        "incidents",
        "update",
        incident_id,
        "--format",
        "plain",
        "--kind",
        "update",
    )
    assert out.startswith("INCIDENT UPDATE - P1\n")
    code, _, err = run(capsys, "-c", config, "incidents", "update", incident_id, "--post")
    assert code == 0 and "no [[notify]] receivers" in err

    store = IncidentStore(tmp_path / "store.db")
    incident = store.get(incident_id)
    kinds = [e.kind for e in store.entries(incident_id)]
    store.close()
    assert (incident.severity, incident.status, incident.services) == ("P1", "identified", ("api",))
    assert kinds == ["system", KIND_NOTE, "status", KIND_UPDATE]


def test_cli_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_config(tmp_path, ""))
    code, _, err = run(
        capsys, "-c", config, "incidents", "declare", "--title", "x", "--severity", "P9"
    )
    assert code == 2 and err.count("\n") == 1 and "P9" in err
    code, _, err = run(capsys, "-c", config, "incidents", "note", "INC-1999-01-01-001", "hi")
    assert code == 2 and "no incident INC-1999-01-01-001" in err


def test_update_post_and_status_go_to_the_receivers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SlackReceiver() as slack, StatuspageReceiver("pageabc", SP_KEY) as page:
        key_file = tmp_path / "statuspage.key"
        key_file.write_text(SP_KEY + "\n")
        config = str(
            write_config(
                tmp_path,
                f'[[notify]]\nkind = "slack"\nname = "ops"\nurl = "{slack.url}/services/T1/B2/'
                f'slacktoken0123456789abcd"\n\n'
                f'[[notify]]\nkind = "statuspage"\nurl = "{page.page_url}"\n'
                f'token_file = "{key_file}"\n',
            )
        )
        code, out, err = run(
            capsys,
            "-c",
            config,
            "incidents",
            "declare",
            "--title",
            "Checkout down",
            "--severity",
            "P0",
        )
        assert code == 0, err
        incident_id = out.strip()
        assert "statuspage: incident created (investigating), HTTP 201" in err
        assert slack.requests == []  # chat hears updates, not every lifecycle change
        code, out, err = run(capsys, "-c", config, "incidents", "update", incident_id, "--post")
        assert code == 0, err
        assert [r.body["text"] for r in slack.requests] == [out.rstrip("\n").replace("**", "*")]
        assert "ops (slack): detected update posted, HTTP 200" in err
        code, out, err = run(capsys, "-c", config, "incidents", "status", incident_id, "resolved")
        assert code == 0
        assert "statuspage: incident updated (resolved), HTTP 200" in err
    assert [r.method for r in page.requests] == ["POST", "PATCH"]  # the update is the team's
    assert page.incidents["sp0001"]["status"] == "resolved"


def test_update_post_to_a_receiver_that_is_down_exits_1_and_keeps_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = services.closed_port()
    config = str(
        write_config(tmp_path, f'[[notify]]\nkind = "slack"\nurl = "http://127.0.0.1:{port}/s/x"\n')
    )
    _, out, _ = run(
        capsys, "-c", config, "incidents", "declare", "--title", "x", "--severity", "P2"
    )
    code, _, err = run(capsys, "-c", config, "incidents", "update", out.strip(), "--post")
    assert code == 1
    assert "Post to slack failed (ConnectError); kept in the outbox" in err
    assert "1 post(s) wait in the outbox" in err


# -- no secret anywhere -----------------------------------------------------------------------


def test_no_webhook_secret_in_any_output(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slack_token = "xoxbSlackSecret0123456789ab"
    slack_path = f"/services/T0AAAA1111/B0BBBB2222/{slack_token}"
    discord_token = "discordSecretTokenABCDEFGHIJKLMNOP0123"
    am_token = "am-listener-token-0123456789ab"
    down = services.closed_port()
    discord_url = f"http://127.0.0.1:{down}/api/webhooks/112233445566778899/{discord_token}"
    monkeypatch.setenv("DISCORD_URL", discord_url)
    caplog.set_level(logging.DEBUG)
    with SlackReceiver() as slack, StatuspageReceiver("pagexyz", SP_KEY) as page:
        slack.fail_next(500, 500)  # fails, retried, kept; then delivered
        key_file = tmp_path / "sp.key"
        key_file.write_text(SP_KEY)
        config_path = write_config(
            tmp_path,
            f'[[notify]]\nkind = "slack"\nurl = "{slack.url}{slack_path}"\n\n'
            '[[notify]]\nkind = "discord"\nurl_env = "DISCORD_URL"\n\n'
            f'[[notify]]\nkind = "statuspage"\nurl = "{page.page_url}"\n'
            f'token_file = "{key_file}"\n\n'
            f'[alertmanager]\nlisten = "127.0.0.1:0"\ntoken = "{am_token}"\n\n'
            '[metrics]\nlisten = "127.0.0.1:0"\n',
        )
        config = str(config_path)
        outputs: list[str] = []
        for argv in (
            ("config",),
            ("incidents", "declare", "--title", "Checkout down", "--severity", "P1"),
        ):
            code, out, err = run(capsys, "-c", config, *argv)
            outputs += [out, err]
        incident_id = outputs[-2].strip()
        code, out, err = run(capsys, "-c", config, "incidents", "update", incident_id, "--post")
        outputs += [out, err]
        assert code == 1  # slack and discord wait in the outbox
        # Slack comes back; the outbox sender (a hosted service) delivers.
        loaded = load_config(config_path=config_path)
        hosted = notify_services(loaded, IncidentStore(tmp_path / "store.db"))
        for service in hosted:
            service.start()
        try:
            alerts = next(s for s in hosted if s.name == "alertmanager")
            metrics = next(s for s in hosted if s.name == "metrics")
            assert alerts.address is not None and metrics.address is not None
            refused = httpx.post(
                f"http://127.0.0.1:{alerts.address[1]}/",
                json={},
                timeout=5,
                headers={"Authorization": "Bearer wrong"},
            )
            outputs.append(refused.text)
            outputs.append(httpx.get(f"http://127.0.0.1:{metrics.address[1]}/metrics").text)
            sender = next(s for s in hosted if s.name == "outbox")
            sender.notifier.outbox.release_all()  # type: ignore[attr-defined]
            sender.wake()  # type: ignore[attr-defined]
            services.wait_for(lambda: len(slack.requests) >= 3, 20, "slack delivery")
        finally:
            for service in hosted:
                service.stop()
        code, out, err = run(
            capsys,
            "-c",
            config,
            "incidents",
            "export",
            incident_id,
            "--json",
            "--out",
            str(tmp_path / "export"),
        )
        outputs += [out, err]
        outputs += [p.read_text() for p in (tmp_path / "export").iterdir()]
        code, out, err = run(
            capsys,
            "-c",
            config,
            "incidents",
            "export",
            incident_id,
            "--out",
            str(tmp_path / "export-md"),
        )
        outputs += [p.read_text() for p in (tmp_path / "export-md").iterdir()]

    store = IncidentStore(tmp_path / "store.db")
    entries = store.entries(incident_id)
    store.close()
    outputs += [f"{e.author} {e.text}" for e in entries]
    db = sqlite3.connect(tmp_path / "store.db")
    outputs.append("\n".join(db.iterdump()))
    db.close()
    audit = Path.home() / ".local" / "share" / "zconsole" / "audit.jsonl"
    if audit.exists():
        outputs.append(audit.read_text())
    outputs.append(caplog.text)

    # The test saw what it means to: posts went out, failed and were kept, logs were written.
    posts = [e.text for e in entries if e.kind == KIND_POST]
    assert any(p.startswith("Post to slack failed (HTTP 500)") for p in posts)
    assert any(p.startswith("slack: detected update posted, HTTP 200") for p in posts)
    assert any(p.startswith("Post to discord failed (ConnectError)") for p in posts)
    assert "HTTP Request: POST" in caplog.text  # httpx logged each request, redacted
    assert "[[notify]]" in outputs[0]
    everything = "\n".join(outputs)
    for secret in (
        slack_token,
        slack_path,
        discord_token,
        "112233445566778899/" + discord_token,
        SP_KEY,
        am_token,
    ):
        assert secret not in everything, secret
    assert "zconsole_check_status" in everything or "zconsole_info" in everything


def test_a_broken_notify_entry_is_one_line_without_the_url(tmp_path: Path) -> None:
    secret_url = "https://api.statuspage.io/v1/pages/pageSecretId0123456789"
    with pytest.raises(ConfigError) as raised:
        load_config(
            flags={"notify": [{"kind": "statuspage", "url": secret_url}]}, env={}, cwd=tmp_path
        )
    message = str(raised.value)
    assert "statuspage needs its API key" in message
    assert "pageSecretId0123456789" not in message
    with pytest.raises(ConfigError, match="url_env HOOK: not set"):
        load_config(flags={"notify": [{"kind": "slack", "url_env": "HOOK"}]}, env={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="expected HOST:PORT"):
        load_config(flags={"metrics": {"listen": "9096"}}, env={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(
            flags={"notify": [{"kind": "slack", "url": "http://x", "urll": 1}]},
            env={},
            cwd=tmp_path,
        )


def test_effective_config_lists_receivers_with_their_secrets_masked(tmp_path: Path) -> None:
    token = "mattermostKey0123456789abc"
    config = load_config(
        flags={
            "notify": [{"kind": "mattermost", "url": f"https://chat.example.org/hooks/{token}"}]
        },
        env={},
        cwd=tmp_path,
    )
    text = effective_toml(config)
    assert '[[notify]]\nkind = "mattermost"' in text
    assert "https://chat.example.org***" in text
    assert token not in text
    parsed: dict[str, Any] = json.loads(json.dumps({"text": text}))
    assert token not in parsed["text"]


def test_the_shipped_notify_example_is_valid_config_when_uncommented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import resources

    text = resources.files("zconsole").joinpath("examples/notify.toml").read_text()
    uncommented = "\n".join(
        line[2:] for line in text.splitlines() if re.match(r"# (\[|\w+ = )", line)
    )
    (tmp_path / "hook").write_text("https://chat.example.org/hooks/abcdefghijklmnopqrstuvwxyz")
    uncommented = uncommented.replace(
        "~/.config/zconsole/mattermost-webhook", str(tmp_path / "hook")
    )
    for name in (
        "ZCONSOLE_SLACK_WEBHOOK",
        "ZCONSOLE_DISCORD_WEBHOOK",
        "ZCONSOLE_TEAMS_WORKFLOW_URL",
    ):
        monkeypatch.setenv(name, "https://hooks.example.org/x/abcdefghijklmnopqrstuvwxyz")
    for name in ("ZCONSOLE_WEBHOOK_TOKEN", "STATUSPAGE_API_KEY", "ZCONSOLE_ALERTMANAGER_TOKEN"):
        monkeypatch.setenv(name, "token-abcdefghijklmnop")
    path = tmp_path / "zconsole.toml"
    path.write_text(uncommented)
    config = load_config(config_path=path)
    assert [t.kind for t in config.notify] == [
        "slack",
        "mattermost",
        "discord",
        "teams",
        "webhook",
        "statuspage",
    ]
    assert config.alertmanager.severity_map["page"] == "P0"
    assert config.metrics.listen == "127.0.0.1:9096"


def test_outbox_lists_what_waits_and_send_delivers_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = services.closed_port()
    config = str(
        write_config(
            tmp_path,
            f'[[notify]]\nkind = "slack"\nname = "ops"\nurl = "http://127.0.0.1:{port}/s"\n',
        )
    )
    _, out, _ = run(
        capsys, "-c", config, "incidents", "declare", "--title", "x", "--severity", "P2"
    )
    incident_id = out.strip()
    run(capsys, "-c", config, "incidents", "update", incident_id, "--post")
    code, out, _ = run(capsys, "-c", config, "incidents", "outbox")
    assert code == 1
    assert out.startswith(f"#1 {incident_id} → ops: pending, 2 attempt(s) since ")
    assert out.rstrip().endswith("· ConnectError")
    with SlackReceiver(port) as slack:
        code, out, err = run(capsys, "-c", config, "incidents", "outbox", "--send")
    assert (code, out) == (0, "the outbox is empty: every post was delivered\n")
    assert "ops (slack): detected update posted, HTTP 200 after 3 attempts" in err
    assert len(slack.requests) == 1


def test_only_token_like_url_parts_are_registered_as_secrets() -> None:
    from zconsole.notify.settings import url_secrets

    assert url_secrets("http://127.0.0.1:8080/zc") == []  # "/zc" is ordinary text too
    slack = "https://hooks.slack.com/services/T0AAAA1111/B0BBBB2222/xoxbSlackSecret0123456789ab"
    found = url_secrets(slack)
    assert "/services/T0AAAA1111/B0BBBB2222/xoxbSlackSecret0123456789ab" in found
    assert "xoxbSlackSecret0123456789ab" in found
    assert "services" not in found
    teams = (
        "https://x.logic.azure.com/workflows/0f3c/triggers/manual/paths/invoke"
        "?api-version=2016-06-01&sig=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5"
    )
    assert "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5" in url_secrets(teams)
    assert "2016-06-01" not in url_secrets(teams)
    assert "hunter2pass" in url_secrets("https://user:hunter2pass@x.org/")


def test_read_only_refuses_every_write_and_posts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SlackReceiver() as slack:
        config = str(
            write_config(tmp_path, f'[[notify]]\nkind = "slack"\nurl = "{slack.url}/s/x"\n')
        )
        _, out, _ = run(
            capsys, "-c", config, "incidents", "declare", "--title", "x", "--severity", "P2"
        )
        incident_id = out.strip()
        before = len(slack.requests)
        for argv in (
            ("incidents", "declare", "--title", "y", "--severity", "P2"),
            ("incidents", "note", incident_id, "hello"),
            ("incidents", "status", incident_id, "identified"),
            ("incidents", "update", incident_id, "--post"),
            ("incidents", "outbox", "--send"),
        ):
            code, _, err = run(capsys, "-c", config, "--read-only", *argv)
            assert code == 1, argv
            assert "read-only" in err, argv
        # Viewing still works: the update text and the (empty) outbox.
        code, out, _ = run(capsys, "-c", config, "--read-only", "incidents", "update", incident_id)
        assert code == 0 and "INCIDENT" in out
        code, out, _ = run(capsys, "-c", config, "--read-only", "incidents", "outbox")
        assert code == 0 and "empty" in out
    assert len(slack.requests) == before
    store = IncidentStore(tmp_path / "store.db")
    [incident] = store.incidents()
    assert incident.status == "investigating"
    assert [e.kind for e in store.entries(incident_id)] == ["system"]
    store.close()
