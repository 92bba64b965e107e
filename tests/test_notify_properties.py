"""Property test: generated webhook tokens and Statuspage keys, given inline, by environment
variable or by file, through every output a post touches — `zconsole config`, the timeline (a
failed try and the delivery), the Markdown and JSON export, the outbox in the store file, the
log records httpx writes, and the one-line config error — hold neither the token nor the URL's
secret path. Example counts are kept small: this runs in CI on every push."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.receivers import Receiver, StatuspageReceiver
from zconsole.config import ConfigError, effective_toml, load_config
from zconsole.export import incident_json, postmortem_markdown
from zconsole.notify import notifier as make_notifier
from zconsole.store import IncidentStore

#: What webhook services put in their URLs' secret parts (URL-safe, no percent-encoding).
TOKENS = st.text(string.ascii_letters + string.digits + "-_", min_size=20, max_size=48)
#: An API key travels in a header: any visible ASCII.
KEYS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=16, max_size=40)
SETTINGS = settings(
    max_examples=int(os.environ.get("ZCONSOLE_PROPERTY_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CHAT_KINDS = ("slack", "mattermost", "discord", "teams", "webhook")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def chat() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def page() -> Iterator[StatuspageReceiver]:
    # The key is checked per example: the receiver takes whatever key the example chose.
    with StatuspageReceiver("page", "unused") as receiver:
        yield receiver


def _given(value: str, how: str, name: str, tmp: Path, env: dict[str, str]) -> dict[str, str]:
    if how == "inline":
        return {name: value}
    if how == "env":
        env[f"ZC_TEST_{name.upper()}"] = value
        return {f"{name}_env": f"ZC_TEST_{name.upper()}"}
    path = tmp / f"{name}.secret"
    path.write_text(value + "\n")
    return {f"{name}_file": str(path)}


@SETTINGS
@given(
    kind=st.sampled_from(CHAT_KINDS),
    token=TOKENS,
    key=KEYS,
    how=st.sampled_from(("inline", "env", "file")),
)
def test_no_output_holds_a_generated_webhook_token(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    chat: Receiver,
    page: StatuspageReceiver,
    kind: str,
    token: str,
    key: str,
    how: str,
) -> None:
    tmp = tmp_path_factory.mktemp("notify")
    env: dict[str, str] = {}
    secret_path = f"/hooks/T0{token[:4]}/{token}"
    page.api_key = key
    targets: list[dict[str, Any]] = [
        {"kind": kind, **_given(chat.url + secret_path, how, "url", tmp, env)},
        {"kind": "statuspage", "url": page.page_url, **_given(key, how, "token", tmp, env)},
    ]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    flags = {"general": {"store": str(tmp / "store.db")}, "notify": targets}
    config = load_config(flags=flags, env=env, cwd=tmp)
    store = IncidentStore(tmp / "store.db")
    notifier = make_notifier(config, store)
    assert notifier is not None
    notifier.pause = 0.0
    collect = _Collect()
    for logger in ("httpx", "zconsole"):
        logging.getLogger(logger).addHandler(collect)
    previous = logging.getLogger("httpx").level
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    try:
        incident = store.declare(title="Checkout down", severity="P1", author="alice")
        notifier.lifecycle(incident, declared=True, author="alice")
        chat.fail_next(500, 500)  # the first delivery fails and is kept
        notifier.post_update(incident, "We rolled back.", update_kind="update", author="alice")
        notifier.deliver()
        notifier.deliver(now_due=True)  # the receiver is back
        assert notifier.outbox.pending_count() == 0
    finally:
        for logger in ("httpx", "zconsole"):
            logging.getLogger(logger).removeHandler(collect)
        logging.getLogger("httpx").setLevel(previous)
        notifier.close()
    entries = store.entries(incident.id)
    store.close()
    db = sqlite3.connect(tmp / "store.db")
    dump = "\n".join(db.iterdump())
    db.close()
    outputs = [
        effective_toml(config),
        *(f"{e.author} {e.text}" for e in entries),
        postmortem_markdown(incident, entries),
        json.dumps(incident_json(incident, entries)),
        dump,
        *collect.lines,
    ]
    try:
        load_config(
            flags={"notify": [{"kind": "statuspage", "url": page.page_url + secret_path}]},
            env={},
            cwd=tmp,
        )
    except ConfigError as exc:
        outputs.append(str(exc))
    else:
        pytest.fail("a statuspage receiver without a key was accepted")
    # The example did what it says: a failure and a delivery are in the timeline, httpx logged.
    texts = [e.text for e in entries]
    assert any("failed (HTTP 500)" in t for t in texts)
    assert any("posted, HTTP 200" in t for t in texts)
    assert any("HTTP Request" in line for line in collect.lines)
    everything = "\n".join(outputs)
    assert token not in everything
    assert secret_path not in everything
    assert key not in everything
    assert json.dumps(key)[1:-1] not in everything
