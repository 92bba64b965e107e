"""HTTP & TLS: the check against local servers started here, the pane, and `snapshot --json`.

Every server is in-process on 127.0.0.1 (a free port): plain HTTP routes for 200, 500, slow,
redirect and body text, the harness's hanging listener, a listener whose accept queue is full
(connect timeout), and TLS servers whose self-signed certificates are made in the test.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from textual.app import App, ComposeResult

from tests import services
from zconsole.checks.base import CheckResult, Snapshot, Status
from zconsole.checks.http import EndpointResult, HttpCheck, HttpData
from zconsole.checks.http_settings import EndpointSettings, HttpSettings
from zconsole.checks.http_urls import display_url, url_secrets
from zconsole.config import Config, effective_toml, load_config
from zconsole.widgets.http import HttpPane
from zconsole.widgets.table import Table

# -- local servers --------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.release = threading.Event()
        self.seen: list[tuple[str, dict[str, str]]] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        """The check hanging up on a slow endpoint (its timeout) is the point, not an error."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers.items())))
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self._reply(200, b'{"status": "healthy", "db": "ok"}')
        elif path == "/error":
            self._reply(500, b"database connection failed")
        elif path == "/slow":
            self.server.release.wait(30)  # until the test ends
            self._reply(200, b"late")
        elif path == "/moved":
            self._reply(302, b"", location="/health")
        elif path == "/echo":  # a careless app that echoes the request into its error page
            auth = self.headers.get("Authorization", "")
            self._reply(500, f"denied {auth} for {self.path}".encode())
        elif path == "/login":
            self._reply(200, b"<form>Sign in</form>")
        else:
            self._reply(404, b"not found")

    def _reply(self, code: int, body: bytes, location: str | None = None) -> None:
        self.send_response(code)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Local:
    server: _Server
    scheme: str = "http"
    cert_file: Path | None = None
    extra: list[object] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str, userinfo: str = "") -> str:
        auth = f"{userinfo}@" if userinfo else ""
        return f"{self.scheme}://{auth}127.0.0.1:{self.port}{path}"


@contextlib.contextmanager
def serve(tls: tuple[Path, Path] | None = None) -> Iterator[Local]:
    import ssl

    server = _Server()
    local = Local(server)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        local.scheme, local.cert_file = "https", tls[0]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield local
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def web() -> Iterator[Local]:
    with serve() as local:
        yield local


def make_cert(
    directory: Path, days_left: float, *, valid_since_days: float = 1.0
) -> tuple[Path, Path]:
    """A self-signed certificate for localhost/127.0.0.1 expiring `days_left` days from now."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=valid_since_days))
        .not_valid_after(now + timedelta(days=days_left))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    tag = f"{days_left:g}".replace("-", "m")
    cert_file, key_file = directory / f"cert-{tag}.pem", directory / f"key-{tag}.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextlib.contextmanager
def full_backlog() -> Iterator[int]:
    """A loopback port whose accept queue is full: new connections are never completed."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    held: list[socket.socket] = []
    try:
        # Fill the queue (never accepted) until a connection attempt no longer completes.
        for _ in range(8):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.settimeout(0.3)
            try:
                probe.connect(("127.0.0.1", port))
            except OSError:
                probe.close()
                break
            held.append(probe)
        else:
            pytest.skip("this kernel completes every loopback connection; no connect timeout")
        yield port
    finally:
        for conn in held:
            conn.close()
        listener.close()


def poll(*endpoints: EndpointSettings, timeout: float = 5.0, **cfg: Any) -> Snapshot[HttpData]:
    check = HttpCheck(HttpSettings(endpoints=list(endpoints), **cfg), timeout=timeout)
    try:
        return check.collect()
    finally:
        check.close()


def rows(snapshot: Snapshot[HttpData]) -> tuple[EndpointResult, ...]:
    assert snapshot.error is None, snapshot.error
    assert snapshot.data is not None
    return snapshot.data.endpoints


# -- the check: HTTP ------------------------------------------------------------------------------


def test_healthy_endpoint_is_ok_with_code_latency_and_expected_text(web: Local) -> None:
    snap = poll(EndpointSettings(url=web.url("/health"), name="health", expect_text='"healthy"'))
    (row,) = rows(snap)
    assert snap.status is Status.OK
    assert (row.status_code, row.ok, row.error, row.status) == (200, True, None, Status.OK)
    assert row.latency_ms is not None and row.latency_ms > 0
    assert row.cert_days_left is None  # plain http has no certificate
    assert snap.summary.startswith("1/1 up")


def test_server_error_is_crit_with_code_and_body_excerpt(web: Local) -> None:
    snap = poll(EndpointSettings(url=web.url("/error"), name="api"))
    (row,) = rows(snap)
    assert snap.status is Status.CRIT
    assert (row.status_code, row.ok, row.error_kind) == (500, False, "status")
    assert row.error == "HTTP 500 — body: database connection failed"
    assert "api HTTP 500" in snap.summary and "0/1 up" in snap.summary


def test_expected_text_present_and_missing(web: Local) -> None:
    present, missing = rows(
        poll(
            EndpointSettings(url=web.url("/login"), expect_text="Sign in"),
            EndpointSettings(url=web.url("/health"), expect_text="Sign in"),
        )
    )
    assert present.ok and present.status is Status.OK
    assert not missing.ok and missing.status is Status.CRIT
    assert missing.status_code == 200
    assert missing.error_kind == "text"
    assert missing.error is not None and "'Sign in' not in body" in missing.error
    assert '"healthy"' in missing.error  # what the body did say


def test_expect_status_overrides_the_2xx_rule(web: Local) -> None:
    wanted_500, wanted_204 = rows(
        poll(
            EndpointSettings(url=web.url("/error"), expect_status=500),
            EndpointSettings(url=web.url("/health"), expect_status=204),
        )
    )
    assert wanted_500.ok and wanted_500.status is Status.OK
    assert not wanted_204.ok
    assert wanted_204.error is not None and wanted_204.error.startswith("HTTP 200, expected 204")


def test_slow_endpoint_past_its_timeout_is_a_read_timeout_and_others_still_answer(
    web: Local,
) -> None:
    snap = poll(
        EndpointSettings(url=web.url("/slow"), name="slow", timeout=0.5),
        EndpointSettings(url=web.url("/health"), name="fast"),
    )
    slow, fast = rows(snap)
    assert (slow.ok, slow.status, slow.status_code) == (False, Status.CRIT, None)
    assert slow.error_kind == "read_timeout"
    assert slow.error == "read timeout: no response within 0.5 s"
    assert slow.latency_ms is None
    assert fast.ok and fast.status_code == 200
    assert snap.status is Status.CRIT
    assert "slow read timeout" in snap.summary and "1/2 up" in snap.summary


def test_endpoint_that_never_answers_is_a_read_timeout() -> None:
    with services.hanging_listener() as port:
        (row,) = rows(poll(EndpointSettings(url=f"http://127.0.0.1:{port}/health", timeout=0.4)))
    assert row.error_kind == "read_timeout"
    assert row.error == "read timeout: no response within 0.4 s"
    assert row.status is Status.CRIT


def test_connect_timeout_is_told_apart_from_read_timeout() -> None:
    with full_backlog() as port:
        (row,) = rows(poll(EndpointSettings(url=f"http://127.0.0.1:{port}/", timeout=0.4)))
    assert row.error_kind == "connect_timeout"
    assert row.error == "connect timeout: no connection within 0.4 s"
    assert row.status is Status.CRIT


def test_refused_connection_is_crit_with_a_clear_message() -> None:
    port = services.closed_port()
    (row,) = rows(poll(EndpointSettings(url=f"http://127.0.0.1:{port}/health")))
    assert (row.error_kind, row.error) == ("refused", "connection refused (nothing listening)")
    assert row.status is Status.CRIT


def test_endpoint_timeout_is_capped_below_the_check_timeout(web: Local) -> None:
    check = HttpCheck(HttpSettings(endpoints=[EndpointSettings(url=web.url("/"))]), timeout=2.0)
    try:
        capped = check.effective_timeout(EndpointSettings(url="http://x/", timeout=30.0))
        kept = check.effective_timeout(EndpointSettings(url="http://x/", timeout=0.5))
    finally:
        check.close()
    assert 0.5 < capped < 2.0
    assert kept == 0.5


def test_redirect_not_followed_says_where_and_followed_shows_the_final_url(web: Local) -> None:
    stopped, followed = rows(
        poll(
            EndpointSettings(url=web.url("/moved")),
            EndpointSettings(url=web.url("/moved"), follow_redirects=True, expect_text="healthy"),
        )
    )
    assert stopped.status_code == 302 and not stopped.ok
    assert stopped.error_kind == "redirect"
    assert stopped.redirected_to == web.url("/health")
    assert stopped.error is not None and "follow_redirects = true" in stopped.error
    assert followed.ok and followed.status_code == 200
    assert followed.redirected_to == web.url("/health")
    assert followed.redirects == 1


def test_latency_over_its_threshold_warns(web: Local) -> None:
    snap = poll(EndpointSettings(url=web.url("/health")), latency_warn_ms=0.0)
    (row,) = rows(snap)
    assert row.ok and row.latency_status is Status.WARN and row.status is Status.WARN
    assert snap.status is Status.WARN and "slow" in snap.summary


# -- the check: TLS -------------------------------------------------------------------------------


def test_certificate_expiring_in_two_days_is_crit_with_days_left(tmp_path: Path) -> None:
    with serve(make_cert(tmp_path, 2)) as tls:
        snap = poll(EndpointSettings(url=tls.url("/health"), name="site", verify=False))
    (row,) = rows(snap)
    assert row.ok and row.status_code == 200  # the site works; its certificate is the problem
    assert row.cert_days_left is not None and 1.9 < row.cert_days_left <= 2.0
    assert row.cert_status is Status.CRIT and row.status is Status.CRIT
    assert row.cert_hostnames == ("localhost", "127.0.0.1")
    assert snap.status is Status.CRIT
    assert "site cert 2.0 days left" in snap.summary


def test_certificate_valid_for_sixty_days_is_ok(tmp_path: Path) -> None:
    with serve(make_cert(tmp_path, 60)) as tls:
        snap = poll(EndpointSettings(url=tls.url("/health"), verify=False))
    (row,) = rows(snap)
    assert row.cert_days_left is not None and 59.9 < row.cert_days_left <= 60.0
    assert row.cert_status is Status.OK and row.status is Status.OK
    assert row.cert_verified is None  # verify = false: not checked, not claimed
    assert "cert 60 days left" in snap.summary


def test_certificate_inside_the_warn_window_warns(tmp_path: Path) -> None:
    with serve(make_cert(tmp_path, 10)) as tls:
        (row,) = rows(poll(EndpointSettings(url=tls.url("/health"), verify=False)))
    assert row.cert_status is Status.WARN and row.status is Status.WARN


def test_expired_certificate_is_crit(tmp_path: Path) -> None:
    with serve(make_cert(tmp_path, -1, valid_since_days=30)) as tls:
        snap = poll(
            EndpointSettings(url=tls.url("/health"), name="old", verify=False),
            EndpointSettings(url=tls.url("/health"), name="checked", ca_file=str(tls.cert_file)),
        )
    unchecked, checked = rows(snap)
    assert unchecked.cert_days_left is not None and -1.01 < unchecked.cert_days_left < -0.99
    assert unchecked.status is Status.CRIT
    assert "old cert expired" in snap.summary
    # With verification on the request itself fails, and the certificate is still read.
    assert not checked.ok and checked.error_kind == "tls"
    assert checked.error is not None and "expired" in checked.error
    assert checked.cert_days_left is not None and checked.cert_days_left < 0


def test_self_signed_with_verification_on_still_shows_the_certificate(tmp_path: Path) -> None:
    with serve(make_cert(tmp_path, 60)) as tls:
        (row,) = rows(poll(EndpointSettings(url=tls.url("/health"))))
    assert not row.ok and row.status is Status.CRIT and row.status_code is None
    assert row.error_kind == "tls"
    assert row.error is not None and row.error.startswith("TLS certificate not trusted")
    assert "self-signed" in row.error or "self signed" in row.error
    assert row.cert_verified is False
    assert row.cert_days_left is not None and row.cert_days_left > 59
    assert row.cert_hostnames == ("localhost", "127.0.0.1")


def test_private_ca_file_verifies_the_certificate(tmp_path: Path) -> None:
    with serve(make_cert(tmp_path, 60)) as tls:
        (row,) = rows(
            poll(
                EndpointSettings(
                    url=tls.url("/health"), ca_file=str(tls.cert_file), expect_text="healthy"
                )
            )
        )
    assert row.ok and row.status is Status.OK, row.error
    assert row.cert_verified is True
    assert row.cert_days_left is not None and row.cert_days_left > 59


# -- secrets --------------------------------------------------------------------------------------


def fresh(prefix: str) -> str:
    """A secret no earlier test registered, so redaction here is this test's own doing."""
    return f"{prefix}-{secrets.token_hex(6)}"


def test_url_password_token_and_header_never_appear_but_are_sent(web: Local) -> None:
    password = fresh("pas")
    token = fresh("tok")
    bearer = fresh("bea")
    dead = services.closed_port()
    snap = poll(
        EndpointSettings(
            url=web.url(f"/health?token={token}&verbose=1", userinfo=f"ops:{password}")
        ),
        EndpointSettings(
            url=web.url(f"/echo?api_key={token}"),
            headers={"Authorization": f"Bearer {bearer}"},
        ),
        EndpointSettings(url=f"https://ops:{password}@127.0.0.1:{dead}/?token={token}"),
    )
    ok, error, refused = rows(snap)
    assert ok.ok and not error.ok and not refused.ok
    # The credentials were really used ...
    seen = dict(web.server.seen)
    basic = base64.b64encode(f"ops:{password}".encode()).decode()
    assert seen[f"/health?token={token}&verbose=1"]["Authorization"] == f"Basic {basic}"
    assert seen[f"/echo?api_key={token}"]["Authorization"] == f"Bearer {bearer}"
    # ... and appear nowhere in what the check returns.
    out = json.dumps(snap.to_json()) + repr(snap)
    for secret in (password, token, bearer):
        assert secret not in out
    assert ok.url == f"http://ops:***@127.0.0.1:{web.port}/health?token=***&verbose=1"
    assert error.url == f"http://127.0.0.1:{web.port}/echo?api_key=***"
    assert error.error == "HTTP 500 — body: denied *** for /echo?api_key=***"


def test_config_registers_endpoint_credentials_for_zconsole_config(workdir: Path) -> None:
    password, token, bearer = fresh("pas"), fresh("tok"), fresh("bea")
    (workdir / "zconsole.toml").write_text(
        endpoint_toml(f"https://ops:{password}@app.test/health?access_token={token}", "app")
        + f'headers = {{ Authorization = "Bearer {bearer}" }}\n'
    )
    shown = effective_toml(load_config(cwd=workdir))
    assert "https://ops:***@app.test/health?access_token=***" in shown
    for secret in (password, token, bearer):
        assert secret not in shown


@pytest.mark.parametrize(
    ("url", "shown", "secrets"),
    [
        ("https://u:p%40ss%20w@h/x", "https://u:***@h/x", {"p%40ss%20w", "p@ss w"}),
        ("https://ghp_tok3n@h/", "https://***@h/", {"ghp_tok3n"}),
        ("https://h/?a=1&access_token=xyz1", "https://h/?a=1&access_token=***", {"xyz1"}),
        ("https://h/health?verbose=1", "https://h/health?verbose=1", set()),
    ],
)
def test_display_url_masks_and_url_secrets_finds(url: str, shown: str, secrets: set[str]) -> None:
    assert display_url(url) == shown
    assert secrets <= set(url_secrets(url))
    if not secrets:
        assert url_secrets(url) == []


def test_no_overlap_a_stuck_request_is_reported_not_repeated() -> None:
    """A request stuck past its deadline (say in DNS) is reported as hung, never doubled."""
    gate = threading.Event()
    calls: list[float] = []

    class StuckCheck(HttpCheck):
        def _request(self, slot: Any, progress: Any, timeout: float) -> EndpointResult:
            calls.append(time.monotonic())
            progress.phase = "wait"
            gate.wait(30)
            raise OSError("released")

    check = StuckCheck(
        HttpSettings(endpoints=[EndpointSettings(url="http://127.0.0.1:9/", timeout=0.2)]),
        timeout=2,
    )
    try:
        first = rows(check.collect())[0]
        second = rows(check.collect())[0]
        assert len(calls) == 1
        assert first.error == "read timeout: no response within 0.2 s"
        assert second.error is not None and second.error.startswith(first.error)
        assert "the request has been stuck for" in second.error
        gate.set()
        services.wait_for(lambda: check._slots[0].future.done(), 5, "stuck request")  # type: ignore[union-attr]
        third = rows(check.collect())[0]
    finally:
        gate.set()
        check.close()
    assert len(calls) == 2
    assert third.error_kind == "error" and third.error == "OSError: released"


# -- the pane -------------------------------------------------------------------------------------


def fixed_data() -> HttpData:
    return HttpData(
        endpoints=(
            EndpointResult(
                name="health",
                url="https://app.example.test/health",
                status_code=200,
                latency_ms=42.0,
                ok=True,
                cert_days_left=2.0,
                error=None,
                status=Status.CRIT,
                cert_status=Status.CRIT,
                cert_hostnames=("app.example.test", "example.test"),
            ),
            EndpointResult(
                name="[bold red]api[/]\x1b[2J",
                url="http://127.0.0.1:8000/api\x1b]52;c;ZXZpbA==\x07",
                status_code=500,
                latency_ms=12.0,
                ok=False,
                cert_days_left=None,
                error="HTTP 500 — body: [link=http://evil]oops[/link]",
                status=Status.CRIT,
                error_kind="status",
            ),
            EndpointResult(
                name="login",
                url="http://127.0.0.1:8000/login",
                status_code=200,
                latency_ms=8.0,
                ok=True,
                cert_days_left=None,
                error=None,
                redirected_to="http://127.0.0.1:8000/accounts/login/",
                redirects=1,
            ),
        )
    )


def plain_rows(app: Any) -> list[list[str]]:

    table = app.query_one("#http-endpoints", Table)
    # Every column, shown at this width or not.
    return [
        [str(getattr(c, "plain", c)) for c in table.full_row(i)] for i in range(table.row_count)
    ]


class PaneApp(App[None]):
    """The HTTP pane alone, fed fixed data."""

    def compose(self) -> ComposeResult:
        yield HttpPane("http", "HTTP & TLS")


async def test_pane_shows_one_row_per_endpoint_with_everything_inert() -> None:
    app = PaneApp()
    data = fixed_data()
    snap: Snapshot[HttpData] = Snapshot(
        check="http",
        status=Status.CRIT,
        summary="CRIT: health cert 2.0 days left, api HTTP 500 — 2/3 up",
        collected_at=datetime.now(UTC),
        duration_ms=50.0,
        data=data,
    )
    async with app.run_test(size=(200, 60)) as pilot:
        pane = app.query_one(HttpPane)
        pane.show_result(CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic()))
        await pilot.pause()
        table = plain_rows(app)
        assert pane.has_class("-crit")
        assert "2.0&#160;days&#160;left" in app.export_screenshot()  # SVG spaces
    health, api, login = table
    assert health[0] == "health https://app.example.test/health"
    assert health[1] == "✖ CRIT 200"
    assert health[2] == "42 ms"
    assert health[3] == "2.0 days left · app.example.test, example.test"
    assert api[0] == "[bold red]api[/] http://127.0.0.1:8000/api"  # markup shown, escapes gone
    assert api[1] == "✖ CRIT 500"
    assert api[3] == "–"
    assert api[4] == "HTTP 500 — body: [link=http://evil]oops[/link]"
    assert login[1] == "✔ OK 200"
    assert login[4] == "→ http://127.0.0.1:8000/accounts/login/"
    for cell in (c for row in table for c in row):
        assert "\x1b" not in cell and "\x07" not in cell


async def test_pane_polls_real_endpoints_end_to_end(web: Local) -> None:
    password = fresh("pas")
    from textual.widgets import DataTable

    from zconsole.app import ZConsoleApp

    check = HttpCheck(
        HttpSettings(
            endpoints=[
                EndpointSettings(url=web.url("/health", userinfo=f"ops:{password}"), name="health"),
                EndpointSettings(url=web.url("/error"), name="api"),
            ]
        ),
        interval=0.2,
        timeout=3.0,
    )
    app = ZConsoleApp(Config(), [check], poll=True)
    async with app.run_test(size=(200, 60)) as pilot:
        table = app.query_one("#http-endpoints", DataTable)
        for _ in range(200):
            if table.row_count == 2:
                break
            await pilot.pause(0.05)
        table_rows = plain_rows(app)
        screen = app.export_screenshot()
    assert [r[1] for r in table_rows] == ["✔ OK 200", "✖ CRIT 500"]
    assert table_rows[1][4] == "HTTP 500 — body: database connection failed"
    assert password not in screen and password not in json.dumps(table_rows)
    assert "ops:***@" in table_rows[0][0]


# -- snapshot --json ------------------------------------------------------------------------------

CALM = """
[host]
cpu_warn = 101.0
cpu_crit = 102.0
memory_warn = 101.0
memory_crit = 102.0
disk_warn = 101.0
disk_crit = 102.0
swap_warn = 101.0
swap_crit = 102.0
load_warn_per_core = 1000.0
load_crit_per_core = 2000.0
[docker]
enabled = false
"""


def endpoint_toml(url: str, name: str, **extra: object) -> str:
    lines = ["[[http.endpoints]]", f'url = "{url}"', f'name = "{name}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def snapshot_json(workdir: Path) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-m", "zconsole", "snapshot", "--json"],
        cwd=workdir,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=90,
    )
    return done.returncode, json.loads(done.stdout), done.stdout + done.stderr


def test_snapshot_json_has_the_documented_endpoint_fields(workdir: Path, web: Local) -> None:
    (workdir / "zconsole.toml").write_text(
        CALM
        + endpoint_toml(web.url("/health"), "health", expect_text="healthy")
        + endpoint_toml(web.url("/moved"), "moved", follow_redirects=True)
    )
    code, report, _ = snapshot_json(workdir)
    http = report["checks"]["http"]
    assert code == 0, http
    assert http["status"] == "ok" and http["configured"] is True
    endpoints = http["data"]["endpoints"]
    assert [e["name"] for e in endpoints] == ["health", "moved"]
    for endpoint in endpoints:
        assert {"url", "status_code", "latency_ms", "ok", "cert_days_left", "error"} <= set(
            endpoint
        )
        assert endpoint["status_code"] == 200 and endpoint["ok"] is True
        assert endpoint["error"] is None and endpoint["cert_days_left"] is None
        assert isinstance(endpoint["latency_ms"], float)
    assert endpoints[1]["redirected_to"] == web.url("/health")


def test_snapshot_exits_2_when_an_endpoint_is_down_and_hides_its_password(
    workdir: Path, web: Local, tmp_path: Path
) -> None:
    password = fresh("pas")
    token = fresh("tok")
    dead = services.closed_port()
    with serve(make_cert(tmp_path, 2)) as tls:
        (workdir / "zconsole.toml").write_text(
            CALM
            + endpoint_toml(web.url("/health", userinfo=f"ops:{password}"), "health")
            + endpoint_toml(f"http://ops:{password}@127.0.0.1:{dead}/?token={token}", "down")
            + endpoint_toml(tls.url("/health"), "tls", verify=False)
        )
        code, report, output = snapshot_json(workdir)
    assert code == 2
    assert report["worst"] == "crit"
    http = report["checks"]["http"]
    assert http["status"] == "crit"
    health, down, tls_row = http["data"]["endpoints"]
    assert health["ok"] is True
    assert down["ok"] is False and down["status_code"] is None
    assert down["error"] == "connection refused (nothing listening)"
    assert tls_row["ok"] is True and tls_row["status"] == "crit"
    assert 1.9 < tls_row["cert_days_left"] <= 2.0
    assert password not in output and token not in output
