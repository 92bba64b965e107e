"""The two HTTP listeners, as services a long-running process hosts: start, stop, bound address.

- :class:`AlertListener`: ``POST`` any path with an Alertmanager (v4) or Grafana webhook body;
  answers 200 with how many timeline entries it wrote, 400 for a body that is not one, 401 without
  the configured bearer token, 413 past :data:`MAX_BODY`.
- :class:`MetricsServer`: ``GET /metrics`` in Prometheus' text format (the official client's
  ``generate_latest``), fed by :meth:`MetricsServer.on_result` from the scheduler.

Each runs a stdlib ``ThreadingHTTPServer`` in a daemon thread: small, no framework, and a slow
scraper or a hung Alertmanager holds one request thread only. Request lines are not logged
(the stdlib would write them to stderr, over the screen).
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from zconsole.checks.base import CheckResult
from zconsole.checks.secrets import redact
from zconsole.notify.alerts import AlertIntake, PayloadError
from zconsole.notify.metrics import CheckMetrics

#: Alertmanager groups are small; a body past this is refused unread.
MAX_BODY = 1 << 20

log = logging.getLogger(__name__)


class ServiceError(OSError):
    """A listener cannot start (the port is taken, the address is not this host's); one line."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Rebinding the same port right after a stop must work (the recorder restarts it).
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    service: ClassVar[HttpService]
    server_version = "zconsole"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s", redact(format % args))

    def reply(self, code: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, code: int, data: dict[str, Any]) -> None:
        self.reply(code, json.dumps(data).encode())


class HttpService:
    """A loopback-or-wherever HTTP listener with a lifecycle a host process drives."""

    name = "http"
    handler: type[_Handler] = _Handler

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) actually bound (port 0 in the config picks a free one); None when
        stopped."""
        if self._server is None:
            return None
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        address = self.address
        if address is None:
            return ""
        host, port = address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        if self._server is not None:
            return
        handler = type(f"{type(self).__name__}Handler", (self.handler,), {"service": self})
        server_class = _Server6 if ":" in self.host else _Server
        try:
            self._server = server_class((self.host, self.port), handler)
        except OSError as exc:
            raise ServiceError(
                f"{self.name}: cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"notify-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def on_result(self, result: CheckResult) -> None:
        """Check results, fanned out by the host process; most services ignore them."""


class _AlertHandler(_Handler):
    service: ClassVar[AlertListener]

    def do_GET(self) -> None:
        self.reply_json(200, {"status": "ok", "accepts": "POST Alertmanager v4 / Grafana"})

    def do_POST(self) -> None:
        service = self.service
        if service.token:
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {service.token}".encode()):
                self.reply_json(401, {"error": "missing or wrong bearer token"})
                return
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.reply_json(413, {"error": f"body must be 0..{MAX_BODY} bytes"})
            self.close_connection = True
            return
        body = self.rfile.read(length)
        try:
            payload = json.loads(body)
            written = service.intake.take(payload)
        except (ValueError, PayloadError) as exc:
            self.reply_json(400, {"error": redact(str(exc))[:200]})
            return
        except Exception as exc:  # noqa: BLE001 - a store problem: Alertmanager will retry
            log.warning("alert intake: %s", redact(str(exc)))
            self.reply_json(503, {"error": "incident store unavailable; retry"})
            return
        self.reply_json(200, {"status": "ok", "written": written})


class AlertListener(HttpService):
    """``[alertmanager] listen``: alerts into the open incident's timeline."""

    name = "alertmanager"
    handler = _AlertHandler

    def __init__(self, host: str, port: int, intake: AlertIntake, *, token: str = "") -> None:
        super().__init__(host, port)
        self.intake = intake
        self.token = token


class _MetricsHandler(_Handler):
    service: ClassVar[MetricsServer]

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/metrics":
            self.reply(404, b"see /metrics\n", "text/plain; charset=utf-8")
            return
        self.reply(200, generate_latest(self.service.registry), CONTENT_TYPE_LATEST)

    do_HEAD = do_GET


class MetricsServer(HttpService):
    """``[metrics] listen``: ``/metrics`` from the latest check results."""

    name = "metrics"
    handler = _MetricsHandler

    def __init__(self, host: str, port: int, *, hostname: str | None = None) -> None:
        super().__init__(host, port)
        self.metrics = CheckMetrics(hostname)
        # A registry of our own: the process-wide default one would add whatever else
        # registered there, and two servers in one process (tests) would collide.
        self.registry = CollectorRegistry()
        self.registry.register(self.metrics)

    def on_result(self, result: CheckResult) -> None:
        self.metrics.on_result(result)
