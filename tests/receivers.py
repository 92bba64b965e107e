"""Loopback HTTP receivers that stand for the services zconsole posts to.

Each speaks the documented API of what it stands for, closely enough that a wrong request
fails: Slack and Mattermost incoming webhooks answer ``ok`` (text/plain) to a JSON body with
``text``; Discord's webhook answers 204 to one with ``content`` or ``embeds``; a Teams workflow
webhook answers 202 to a ``message`` with attachments; Statuspage's incidents API wants
``Authorization: OAuth KEY``, creates with ``POST /v1/pages/PAGE/incidents`` (201 and the new
incident's JSON with its ``id``), updates with ``PATCH …/incidents/ID`` and answers 404 for an
unknown id and 422 for a status it does not know. Tests queue extra answers (500, 429 …) with
:meth:`Receiver.fail_next`.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

STATUSPAGE_STATUSES = ("investigating", "identified", "monitoring", "resolved")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class Receiver:
    """One receiver on 127.0.0.1; ``port`` may be given to come back on the same one."""

    kind = "webhook"

    def __init__(self, port: int = 0) -> None:
        self.requests: list[Request] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                request = Request(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with owner._lock:
                    owner.requests.append(request)
                    failure = owner._failures.pop(0) if owner._failures else None
                if failure is not None:
                    self._reply(failure, b'{"error": "injected"}', "application/json")
                    return
                code, payload, content_type = owner.answer(request)
                self._reply(code, payload, content_type)

            def _reply(self, code: int, payload: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _handle
            do_POST = _handle
            do_PATCH = _handle
            do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, *codes: int) -> None:
        with self._lock:
            self._failures.extend(codes)

    def answer(self, request: Request) -> tuple[int, bytes, str]:
        return 200, b'{"ok": true}', "application/json"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json_post(request: Request) -> bool:
    return (
        request.method == "POST"
        and request.headers.get("content-type", "").startswith("application/json")
        and isinstance(request.body, dict)
    )


class SlackReceiver(Receiver):
    """Slack (and Mattermost's compatible) incoming webhook: ``ok``, or 400 ``no_text``."""

    kind = "slack"

    def answer(self, request: Request) -> tuple[int, bytes, str]:
        if not _json_post(request):
            return 400, b"invalid_payload", "text/plain"
        if not request.body.get("text") and not request.body.get("blocks"):
            return 400, b"no_text", "text/plain"
        return 200, b"ok", "text/plain"


class MattermostReceiver(SlackReceiver):
    kind = "mattermost"


class DiscordReceiver(Receiver):
    """Discord's execute-webhook: 204 No Content; 400 for an empty message."""

    kind = "discord"

    def answer(self, request: Request) -> tuple[int, bytes, str]:
        if not _json_post(request):
            return (
                400,
                b'{"message": "Cannot send an empty message", "code": 50006}',
                "application/json",
            )
        body = request.body
        if not body.get("content") and not body.get("embeds"):
            return (
                400,
                b'{"message": "Cannot send an empty message", "code": 50006}',
                "application/json",
            )
        if len(body.get("content", "")) > 2000:
            return 400, b'{"content": ["Must be 2000 or fewer in length."]}', "application/json"
        return 204, b"", "text/plain"


class TeamsReceiver(Receiver):
    """A Teams workflow ("When a Teams webhook request is received"): 202 Accepted."""

    kind = "teams"

    def answer(self, request: Request) -> tuple[int, bytes, str]:
        body = request.body
        ok = (
            _json_post(request)
            and body.get("type") == "message"
            and isinstance(body.get("attachments"), list)
            and all(
                a.get("contentType") == "application/vnd.microsoft.card.adaptive"
                and a.get("content", {}).get("type") == "AdaptiveCard"
                for a in body["attachments"]
            )
        )
        if not ok:
            return 400, b'{"error": {"code": "InvalidRequestContent"}}', "application/json"
        return 202, b"", "text/plain"


class StatuspageReceiver(Receiver):
    """Statuspage's incidents API for one page, with an API key."""

    kind = "statuspage"

    def __init__(self, page_id: str, api_key: str, port: int = 0) -> None:
        self.page_id = page_id
        self.api_key = api_key
        self.incidents: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        super().__init__(port)

    @property
    def page_url(self) -> str:
        return f"{self.url}/v1/pages/{self.page_id}"

    def _json(self, code: int, data: Any) -> tuple[int, bytes, str]:
        return code, json.dumps(data).encode(), "application/json"

    def answer(self, request: Request) -> tuple[int, bytes, str]:
        if request.headers.get("authorization") != f"OAuth {self.api_key}":
            return self._json(401, {"error": "Could not authenticate"})
        base = f"/v1/pages/{self.page_id}/incidents"
        body = request.body if isinstance(request.body, dict) else {}
        fields = body.get("incident")
        if not isinstance(fields, dict):
            return self._json(400, {"error": "incident is missing"})
        status = fields.get("status")
        if status is not None and status not in STATUSPAGE_STATUSES:
            return self._json(422, {"error": f"status {status} is not valid"})
        if request.method == "POST" and request.path == base:
            if not fields.get("name"):
                return self._json(422, {"error": "name can't be blank"})
            incident_id = f"sp{next(self._ids):04d}"
            record = {
                "id": incident_id,
                "name": fields["name"],
                "status": status or "investigating",
                "impact": fields.get("impact_override", "none"),
                "incident_updates": [{"status": status, "body": fields.get("body", "")}],
            }
            self.incidents[incident_id] = record
            return self._json(201, record)
        if request.method == "PATCH" and request.path.startswith(base + "/"):
            found = self.incidents.get(request.path[len(base) + 1 :])
            if found is None:
                return self._json(404, {"error": "not found"})
            if status:
                found["status"] = status
            found["incident_updates"].append({"status": status, "body": fields.get("body", "")})
            return self._json(200, found)
        return self._json(404, {"error": "not found"})
