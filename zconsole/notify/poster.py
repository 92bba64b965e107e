"""Posting status updates: into the outbox first, then to each receiver, the result into the
incident's timeline.

A failed attempt (connection refused, a timeout, HTTP 5xx or 429) is retried once at once, then
left in the outbox with a growing delay; :meth:`Notifier.deliver` (the console calls it every
few seconds, the recorder hosts :class:`OutboxSender`) sends it when the receiver is back. A
4xx answer is a rejection: the same request cannot succeed, so the row is kept, marked, and
said so in the timeline. No URL, token or response body reaches the timeline or an error
message: a failure is described by the receiver's name, the HTTP status or the error's type.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from zconsole import __version__
from zconsole.checks.incident import KIND_POST, Incident
from zconsole.checks.secrets import redact, register_secret
from zconsole.notify import payloads
from zconsole.notify.outbox import Outbox, OutboxRow
from zconsole.notify.payloads import EVENT_DECLARED, EVENT_STATUS, EVENT_UPDATE, Post
from zconsole.notify.settings import (
    NotifyTarget,
    target_names,
    target_token,
    target_url,
    url_secrets,
)

if TYPE_CHECKING:
    from zconsole.store import IncidentStore

#: Attempts in one delivery: the first and one retry.
ATTEMPTS = 2
#: Pause before the retry: long enough for a receiver's blip, short enough for a responder.
RETRY_PAUSE_S = 0.5
#: Later deliveries wait 30 s, 60 s, 120 s … up to 10 minutes between tries.
BACKOFF_FIRST_S = 30.0
BACKOFF_MAX_S = 600.0
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class Timeline(Protocol):
    """Where a post's result is written (the incident store)."""

    def add_entry(self, incident_id: str, kind: str, text: str, author: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class Receiver:
    name: str
    settings: NotifyTarget

    @property
    def kind(self) -> str:
        return self.settings.kind

    @property
    def label(self) -> str:
        return self.name if self.name == self.kind else f"{self.name} ({self.kind})"


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one row's delivery went."""

    ok: bool
    #: HTTP status of the last attempt (None when no answer came).
    status_code: int | None
    #: One line, no URL and no body: "HTTP 500", "ConnectError".
    error: str
    retryable: bool
    #: Statuspage's incident id from a create.
    remote_id: str | None = None


class _RedactingFilter(logging.Filter):
    """httpx logs each request with its full URL at INFO: a webhook URL is a credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


def _guard_client_logs() -> None:
    for name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactingFilter) for f in logger.filters):
            logger.addFilter(_RedactingFilter())


def post_from_incident(
    incident: Incident, event: str, *, text: str = "", update_kind: str = ""
) -> Post:
    return Post(
        event=event,
        incident_id=incident.id,
        title=redact(incident.title),
        severity=incident.severity,
        severity_index=incident.severity_index,
        status=incident.status,
        text=redact(text),
        update_kind=update_kind,
        impact=redact(incident.impact),
        started_at=incident.started_at.astimezone(UTC).isoformat(),
        at=datetime.now(UTC).isoformat(),
    )


class Notifier:
    """The configured receivers, the outbox, and the timeline the results go to."""

    def __init__(
        self,
        targets: Iterable[NotifyTarget],
        outbox: Outbox,
        timeline: Timeline,
        *,
        env: Mapping[str, str] | None = None,
        pause: float = RETRY_PAUSE_S,
    ) -> None:
        settings = list(targets)
        self.receivers = [
            Receiver(name, t) for name, t in zip(target_names(settings), settings, strict=True)
        ]
        self.outbox = outbox
        self.timeline = timeline
        self.env = env
        self.pause = pause
        self._deliver_lock = threading.Lock()
        _guard_client_logs()

    @classmethod
    def for_store(
        cls, targets: Iterable[NotifyTarget], store: IncidentStore, **kwargs: Any
    ) -> Notifier:
        """The outbox lives in the store's own file."""
        return cls(targets, Outbox(store.path), store, **kwargs)

    def close(self) -> None:
        self.outbox.close()

    @property
    def configured(self) -> bool:
        return bool(self.receivers)

    def names(self) -> list[str]:
        """The receivers a posted update goes to."""
        return [r.label for r in self.receivers if r.settings.takes_updates]

    # -- what to post --------------------------------------------------------------------------

    def post_update(self, incident: Incident, text: str, *, update_kind: str, author: str) -> int:
        """Queue a status update for every receiver; the number queued."""
        post = post_from_incident(incident, EVENT_UPDATE, text=text, update_kind=update_kind)
        return self._queue(post, author, [r for r in self.receivers if r.settings.takes_updates])

    def lifecycle(self, incident: Incident, *, declared: bool, author: str) -> int:
        """A declaration or status change, for the receivers that follow them (status pages)."""
        post = post_from_incident(incident, EVENT_DECLARED if declared else EVENT_STATUS)
        followers = [r for r in self.receivers if r.settings.follows_status]
        return self._queue(post, author, followers)

    def _queue(self, post: Post, author: str, receivers: list[Receiver]) -> int:
        for receiver in receivers:
            self.outbox.add(receiver.name, post, author)
        return len(receivers)

    # -- delivery ------------------------------------------------------------------------------

    def deliver(self, *, now_due: bool = False) -> int:
        """Send what is due, oldest first per receiver, until nothing due is left; the number
        sent. Blocking (HTTP): call it from a thread."""
        with self._deliver_lock:
            if now_due:
                self.outbox.release_all()
            sent = 0
            names = [r.name for r in self.receivers]
            by_name = {r.name: r for r in self.receivers}
            with httpx.Client(
                headers={"User-Agent": f"zconsole/{__version__}"}, follow_redirects=False
            ) as client:
                while True:
                    rows = self.outbox.claim_due(names)
                    if not rows:
                        return sent
                    for row in rows:
                        if self._deliver_row(client, by_name[row.target], row):
                            sent += 1
                        else:
                            # This receiver failed: its later rows wait behind this one.
                            names.remove(row.target)

    def _deliver_row(self, client: httpx.Client, receiver: Receiver, row: OutboxRow) -> bool:
        attempts = row.attempts
        result = Attempt(ok=False, status_code=None, error="not attempted", retryable=True)
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(self.pause)
            attempts += 1
            result = self._send(client, receiver, row)
            if result.ok or not result.retryable:
                break
        if result.ok:
            if result.remote_id:
                self.outbox.set_remote_id(receiver.name, row.incident_id, result.remote_id)
            self.outbox.mark_sent(row.id, attempts)
            self._record(row, self._sent_text(receiver, row, result, attempts))
            return True
        if result.retryable:
            delay = min(BACKOFF_FIRST_S * 2 ** max(attempts // ATTEMPTS - 1, 0), BACKOFF_MAX_S)
            self.outbox.mark_failed(row.id, attempts, result.error, retry_in_s=delay)
            if row.attempts == 0:  # said once, not at every retry
                self._record(
                    row,
                    f"Post to {receiver.label} failed ({result.error}); kept in the outbox, "
                    "retrying until it is delivered",
                )
        else:
            self.outbox.mark_failed(row.id, attempts, result.error, retry_in_s=None)
            self._record(
                row,
                f"Post to {receiver.label} rejected ({result.error}); kept in the outbox, "
                "not retried (check the receiver's config)",
            )
        return False

    def _record(self, row: OutboxRow, text: str) -> None:
        try:
            self.timeline.add_entry(row.incident_id, KIND_POST, redact(text), row.author)
        except Exception as exc:  # noqa: BLE001 - the post happened; a store hiccup must not undo it
            logging.getLogger(__name__).warning("timeline: %s", redact(str(exc)))

    def _sent_text(self, receiver: Receiver, row: OutboxRow, result: Attempt, attempts: int) -> str:
        post = row.post
        if receiver.kind == "statuspage":
            what = (
                f"incident created ({post.status})"
                if result.remote_id
                else f"incident updated ({post.status})"
            )
        elif post.event == EVENT_UPDATE:
            what = f"{post.update_kind or 'status'} update posted"
        else:
            what = f"{post.event} posted"
        text = f"{receiver.label}: {what}, HTTP {result.status_code}"
        if attempts > 1:
            text += f" after {attempts} attempts"
        if row.attempts:
            late = (datetime.now(UTC) - row.created_at).total_seconds()
            text += f" (from the outbox, {late:.0f} s late)"
        return text

    # -- one HTTP request ----------------------------------------------------------------------

    def _send(self, client: httpx.Client, receiver: Receiver, row: OutboxRow) -> Attempt:
        try:
            url = target_url(receiver.settings, self.env)
            token = target_token(receiver.settings, self.env)
        except ValueError as exc:
            return Attempt(ok=False, status_code=None, error=redact(str(exc)), retryable=True)
        # Read again at each send (a rotated url_file): registered again, so the new one is
        # masked as well.
        for secret in (*url_secrets(url), token):
            register_secret(secret)
        headers = {"Content-Type": "application/json"}
        creating = False
        if receiver.kind == "statuspage":
            headers["Authorization"] = f"OAuth {token}"
            remote = self.outbox.remote_id(receiver.name, row.incident_id)
            base = url.rstrip("/")
            if remote is None:
                creating = True
                method, target = "POST", f"{base}/incidents"
                body = payloads.statuspage_create(row.post)
            else:
                method, target = "PATCH", f"{base}/incidents/{remote}"
                body = payloads.statuspage_update(row.post)
        else:
            if token:
                headers["Authorization"] = f"Bearer {token}"
            method, target = "POST", url
            body = payloads.CHAT_BUILDERS[receiver.kind](row.post)
        try:
            response = client.request(
                method, target, json=body, headers=headers, timeout=receiver.settings.timeout
            )
        except httpx.HTTPError as exc:
            # The type only: httpx puts the request URL into some messages.
            return Attempt(ok=False, status_code=None, error=type(exc).__name__, retryable=True)
        code = response.status_code
        if 200 <= code < 300:
            remote_id = None
            if creating:
                remote_id = _remote_id(response)
                if remote_id is None:
                    return Attempt(
                        ok=False,
                        status_code=code,
                        error=f"HTTP {code} without an incident id",
                        retryable=False,
                    )
            return Attempt(
                ok=True, status_code=code, error="", retryable=False, remote_id=remote_id
            )
        return Attempt(
            ok=False,
            status_code=code,
            error=f"HTTP {code}",
            retryable=code in RETRYABLE_STATUS,
        )


def _remote_id(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if isinstance(value, str | int) and str(value) else None


class OutboxSender:
    """A hostable service: delivers the outbox every ``interval`` seconds in its own thread."""

    name = "outbox"

    def __init__(self, notifier: Notifier, *, interval: float = 5.0) -> None:
        self.notifier = notifier
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        return None

    def wake(self) -> None:
        """Deliver now (something was just queued) instead of at the next interval."""
        self._wake.set()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="notify-outbox", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        log = logging.getLogger(__name__)
        while not self._stop.is_set():
            try:
                self.notifier.deliver()
            except Exception as exc:  # noqa: BLE001 - keep trying; the rows stay in the outbox
                log.warning("outbox delivery: %s", redact(str(exc)))
            self._wake.wait(self.interval)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def on_result(self, result: object) -> None:
        """Check results do not concern the outbox."""
