"""`zconsole record` hosts the notify services: with `[alertmanager] listen` and `[metrics]
listen` in the config, the running recorder serves both (a real process, loopback ports)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests import services
from tests.test_alertmanager import alertmanager_payload
from zconsole.checks.incident import KIND_ALERT
from zconsole.store import IncidentStore


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None


def _frames(path: Path) -> int:
    """Polls recorded so far, as another process sees the file (0 before it exists)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT COUNT(*) FROM frames").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_zconsole_record_serves_alertmanager_and_metrics(workdir: Path) -> None:
    alert_port, metrics_port = services.free_port(), services.free_port()
    store = workdir / "store.db"
    (workdir / "zconsole.toml").write_text(
        f'[general]\nstore = "{store}"\n'
        "[docker]\nenabled = false\n"
        f'[recording]\npath = "{workdir / "r.sqlite3"}"\n'
        f'[alertmanager]\nlisten = "127.0.0.1:{alert_port}"\n'
        'declare_when = { severity = "critical" }\n'
        f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "zconsole", "record", "--interval", "1"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    alerts_url = f"http://127.0.0.1:{alert_port}/alerts"
    try:

        def host_in_metrics() -> bool:
            reply = _get(metrics_url)
            return reply is not None and 'zconsole_check_status{source="host"}' in reply.text

        services.wait_for(host_in_metrics, 30, "/metrics with the host check")
        reply = _get(metrics_url)
        assert reply is not None
        names = {f.name for f in text_string_to_metric_families(reply.text)}
        assert {"zconsole_check_status", "zconsole_check_up", "zconsole_host_cpu_percent"} <= names
        fired = httpx.post(alerts_url, json=alertmanager_payload("firing"), timeout=10)
        assert fired.json() == {"status": "ok", "written": 1}
        resolved = httpx.post(alerts_url, json=alertmanager_payload("resolved"), timeout=10)
        assert resolved.json() == {"status": "ok", "written": 1}
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"alertmanager listening on http://127.0.0.1:{alert_port}" in out
    assert f"metrics listening on http://127.0.0.1:{metrics_port}/metrics" in out
    opened = IncidentStore(store)
    [incident] = opened.incidents()
    lines = [e.text for e in opened.entries(incident.id) if e.kind == KIND_ALERT]
    opened.close()
    assert incident.severity == "P1"  # severity_map: critical -> P1
    assert [line.split()[0] for line in lines] == ["FIRING", "RESOLVED"]
    assert _get(metrics_url) is None  # stopped with the recorder


def test_a_taken_port_is_one_line_and_the_recorder_records_on(workdir: Path) -> None:
    with services.hanging_listener() as taken:
        (workdir / "zconsole.toml").write_text(
            "[docker]\nenabled = false\n"
            f'[recording]\npath = "{workdir / "r.sqlite3"}"\n'
            f'[metrics]\nlisten = "127.0.0.1:{taken}"\n'
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "zconsole", "record", "--interval", "1"],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            services.wait_for(lambda: _frames(workdir / "r.sqlite3") >= 1, 30, "a recorded poll")
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"metrics: cannot listen on 127.0.0.1:{taken}" in err
    assert "into " in out


def test_read_only_hosts_only_metrics(workdir: Path) -> None:
    from zconsole.config import load_config
    from zconsole.notify.hosting import start_hosted

    flags = {
        "general": {"store": str(workdir / "store.db"), "read_only": True},
        "alertmanager": {"listen": "127.0.0.1:0"},
        "metrics": {"listen": "127.0.0.1:0"},
    }
    hosted = start_hosted(load_config(flags=flags, env={}, cwd=workdir))
    assert hosted is not None
    try:
        assert [s.name for s in hosted.running] == ["metrics"]
        assert hosted.store is None
    finally:
        hosted.close()
    assert not (workdir / "store.db").exists()


def test_an_alert_listener_beyond_loopback_counts_as_exposed() -> None:
    from types import SimpleNamespace

    from zconsole.notify.hosting import _loopback

    def at(host: str) -> Any:
        return SimpleNamespace(address=(host, 9095))

    assert _loopback(at("127.0.0.1")) and _loopback(at("::1")) and _loopback(at("127.0.0.2"))
    assert not _loopback(at("0.0.0.0")) and not _loopback(at("10.0.0.5"))
