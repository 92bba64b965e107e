"""HTTP health and TLS certificate check (httpx): the runbooks' `curl -f /health/` and
`openssl s_client … | openssl x509 -noout -dates`, for every configured endpoint.

Endpoints are fetched concurrently, one worker thread each, so one slow endpoint never delays
another. Each request is bounded by its endpoint timeout, and every timeout is capped below the
check's own timeout so the scheduler never has to give up on the whole check. A fresh connection
is made on every poll (no keep-alive), as curl does: a server that stopped accepting connections
must not hide behind a pooled one, and the TLS certificate is read from the connection that served
the request. URLs may carry passwords or tokens; they are masked in everything this module returns.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from zconsole.checks.base import Check, Status, describe_error, worst
from zconsole.checks.http_settings import EndpointSettings, HttpSettings
from zconsole.checks.http_urls import display_url, register_endpoint_secrets
from zconsole.checks.lazy import lazy
from zconsole.checks.secrets import redact
from zconsole.checks.tls import CertInfo, fetch_peer_cert, parse_der, peer_cert_der

# The client is imported at the first poll, in the check's thread (see checks/lazy.py).
if TYPE_CHECKING:
    import httpx
else:
    httpx = lazy("httpx")

#: Enough of a body to find the expected text in a health page; more is never read.
BODY_LIMIT = 1 << 20
#: Characters of the body quoted in an error ("500 — database down").
EXCERPT_LEN = 120
# -- records --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointResult:
    """One endpoint, one poll.

    ``ok`` says the endpoint answered as expected (status, body text, no timeout); ``status``
    also grades latency and the certificate, so a working site whose certificate expires in two
    days is ``ok`` but ``crit``.
    """

    name: str
    #: The URL with passwords and tokens masked.
    url: str
    status_code: int | None
    latency_ms: float | None
    ok: bool
    cert_days_left: float | None
    error: str | None
    status: Status = Status.OK
    #: Short machine word for what went wrong: connect_timeout, tls_timeout, read_timeout,
    #: refused, tls, status, text, redirect, error.
    error_kind: str | None = None
    #: Where the endpoint redirected (followed: the final URL; not followed: the Location).
    redirected_to: str | None = None
    redirects: int = 0
    latency_status: Status = Status.OK
    cert_status: Status | None = None
    #: The names the certificate was issued for (SAN DNS/IP, else the CN).
    cert_hostnames: tuple[str, ...] = ()
    cert_not_after: str | None = None
    cert_issuer: str | None = None
    #: Whether the certificate verified against the trust store (None: not checked, verify=false).
    cert_verified: bool | None = None
    #: The effective timeout used, seconds (the endpoint's, capped below the check timeout).
    timeout_s: float = 0.0


@dataclass(frozen=True, slots=True)
class HttpData:
    endpoints: tuple[EndpointResult, ...]


# -- the check ------------------------------------------------------------------------------------


@dataclass
class _Progress:
    """Where a request is, updated from httpcore's trace hook (so a timeout names its phase)."""

    phase: str = "connect"
    tls_der: bytes | None = None

    def trace(self, event: str, info: dict[str, Any]) -> None:
        phase = _PHASES.get(event)
        if phase is not None:
            self.phase = phase
        if event == "connection.start_tls.complete" and self.tls_der is None:
            # The first TLS handshake is to the configured host (or the first https hop).
            # An exception here would abort the request itself, so none may escape.
            with contextlib.suppress(Exception):
                stream = info.get("return_value")
                ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
                self.tls_der = peer_cert_der(ssl_object)


_PHASES = {
    "connection.connect_tcp.started": "connect",
    "connection.start_tls.started": "tls",
    "http11.send_request_headers.started": "send",
    "http11.receive_response_headers.started": "wait",
    "http11.receive_response_body.started": "body",
}


@dataclass
class _Slot:
    """Per-endpoint state between polls: its client and its request in flight."""

    endpoint: EndpointSettings
    client: httpx.Client | None = None
    future: Future[EndpointResult] | None = None
    progress: _Progress = field(default_factory=_Progress)
    started: float = 0.0


class HttpCheck(Check[HttpData]):
    """Status, latency, body text, redirects and certificate of each configured endpoint."""

    name = "http"

    def __init__(
        self,
        settings: HttpSettings,
        *,
        interval: float = 2.0,
        timeout: float = 5.0,
        user_agent: str = "zconsole health-check",
    ) -> None:
        super().__init__(interval=interval, timeout=timeout)
        self.settings = settings
        #: Sent with every request, so the endpoint's access log names the console.
        self.user_agent = user_agent
        for endpoint in settings.endpoints:
            register_endpoint_secrets(endpoint)
        self._slots = [_Slot(endpoint) for endpoint in settings.endpoints]
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, len(self._slots)), thread_name_prefix="http-endpoint"
        )

    # Time the workers may use, leaving the scheduler's hard timeout room to never fire.
    @property
    def budget(self) -> float:
        margin = min(1.0, max(0.3, 0.15 * self.timeout))
        return max(0.1, self.timeout - margin)

    def effective_timeout(self, endpoint: EndpointSettings) -> float:
        return round(max(0.05, min(endpoint.timeout, self.budget - _GRACE)), 2)

    def probe(self) -> tuple[Status, str, HttpData]:
        started = time.monotonic()
        for slot in self._slots:
            if slot.future is not None and not slot.future.done():
                continue  # still stuck since an earlier poll: never start a second request
            slot.progress = _Progress()
            slot.started = time.monotonic()
            slot.future = self._pool.submit(self._fetch, slot, slot.progress)
        longest = max((self.effective_timeout(s.endpoint) for s in self._slots), default=0.0)
        pending = [s.future for s in self._slots if s.future is not None]
        wait_futures(pending, timeout=max(0.0, started + longest + _GRACE - time.monotonic()))
        results = tuple(self._result_of(slot, started) for slot in self._slots)
        return _grade_all(results)

    def _result_of(self, slot: _Slot, poll_started: float) -> EndpointResult:
        future = slot.future
        if future is not None and future.done():
            return future.result()  # _fetch never raises
        # Still running after its own deadline: report the phase it is stuck in.
        stuck = time.monotonic() - slot.started if slot.started < poll_started else None
        return self._timeout_result(slot.endpoint, slot.progress.phase, stuck)

    def _client(self, slot: _Slot) -> httpx.Client:
        if slot.client is None:
            endpoint = slot.endpoint
            verify: ssl.SSLContext | bool = endpoint.verify
            if endpoint.verify and endpoint.ca_file:
                verify = ssl.create_default_context(cafile=endpoint.ca_file)
            slot.client = httpx.Client(
                verify=verify,
                follow_redirects=endpoint.follow_redirects,
                # A fresh connection each poll, as curl makes: see the module docstring.
                limits=httpx.Limits(max_keepalive_connections=0),
                headers={"User-Agent": self.user_agent, **endpoint.headers},
            )
        return slot.client

    def _fetch(self, slot: _Slot, progress: _Progress) -> EndpointResult:
        """One request; runs in a worker thread; never raises."""
        endpoint = slot.endpoint
        timeout = self.effective_timeout(endpoint)
        try:
            return self._request(slot, progress, timeout)
        except httpx.TimeoutException:
            return self._timeout_result(endpoint, progress.phase)
        except Exception as exc:  # noqa: BLE001 - every failure is a row for the pane
            return self._failure_result(endpoint, progress, exc, timeout)

    def _request(self, slot: _Slot, progress: _Progress, timeout: float) -> EndpointResult:
        endpoint = slot.endpoint
        client = self._client(slot)
        begun = time.perf_counter()
        deadline = time.monotonic() + timeout
        with client.stream(
            "GET",
            endpoint.url,
            timeout=httpx.Timeout(timeout),
            extensions={"trace": progress.trace},
        ) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) >= BODY_LIMIT:
                    break
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("body not complete before the deadline")
            latency_ms = (time.perf_counter() - begun) * 1000
            text = _decode_body(response, bytes(body[:BODY_LIMIT]))
            location = response.headers.get("location")
            code = response.status_code
            history = len(response.history)
            final_url = str(response.url)
        redirected_to: str | None = None
        if history:
            redirected_to = display_url(final_url)
        elif location and 300 <= code < 400:
            redirected_to = display_url(urljoin(final_url, location))
        cert, cert_verified = self._cert(endpoint, progress.tls_der, None)
        kind, reason = _judge(endpoint, code, text, redirected_to)
        error = None
        if kind is not None:
            error = reason
            if kind == "status" and text.strip():
                error += f" — body: {_excerpt(text)}"
        return self._result(
            endpoint,
            status_code=code,
            latency_ms=latency_ms,
            ok=kind is None,
            error=error,
            error_kind=kind,
            redirected_to=redirected_to,
            redirects=history,
            cert=cert,
            cert_verified=cert_verified,
            timeout=timeout,
        )

    def _cert(
        self, endpoint: EndpointSettings, der: bytes | None, verify_error: str | None
    ) -> tuple[CertInfo | None, bool | None]:
        if der is None:
            return None, None
        try:
            cert = parse_der(der)
        except ValueError:
            return None, None
        if verify_error is not None:
            return cert, False
        return cert, True if endpoint.verify else None

    def _failure_result(
        self, endpoint: EndpointSettings, progress: _Progress, exc: Exception, timeout: float
    ) -> EndpointResult:
        kind, message = _classify(exc)
        der = progress.tls_der
        if kind == "tls" and der is None:
            # Verification failed, so httpx has no certificate to give: read it ourselves.
            der = _fetch_cert_quietly(endpoint.url, timeout)
        cert, verified = self._cert(endpoint, der, message if kind == "tls" else None)
        return self._result(
            endpoint,
            status_code=None,
            latency_ms=None,
            ok=False,
            error=message,
            error_kind=kind,
            cert=cert,
            cert_verified=verified,
            timeout=timeout,
        )

    def _timeout_result(
        self, endpoint: EndpointSettings, phase: str, stuck_for: float | None = None
    ) -> EndpointResult:
        """A timeout, named by the phase it happened in (connect, TLS handshake, response)."""
        t = f"{self.effective_timeout(endpoint):g} s"
        if phase == "connect":
            kind, message = "connect_timeout", f"connect timeout: no connection within {t}"
        elif phase == "tls":
            kind, message = "tls_timeout", f"TLS handshake timeout: not done within {t}"
        elif phase == "body":
            kind, message = "read_timeout", f"read timeout: body not complete within {t}"
        else:
            kind, message = "read_timeout", f"read timeout: no response within {t}"
        if stuck_for is not None:
            # Not retried while stuck (no pile-up of requests against a hung server).
            message += f"; the request has been stuck for {stuck_for:.0f} s"
        return self._result(
            endpoint,
            status_code=None,
            latency_ms=None,
            ok=False,
            error=message,
            error_kind=kind,
            cert=None,
            cert_verified=None,
            timeout=self.effective_timeout(endpoint),
        )

    def _result(
        self,
        endpoint: EndpointSettings,
        *,
        status_code: int | None,
        latency_ms: float | None,
        ok: bool,
        error: str | None,
        error_kind: str | None,
        cert: CertInfo | None,
        cert_verified: bool | None,
        timeout: float,
        redirected_to: str | None = None,
        redirects: int = 0,
    ) -> EndpointResult:
        cfg = self.settings
        days = None if cert is None else round(cert.days_left(), 2)
        cert_status: Status | None = None
        if days is not None:
            if days < cfg.cert_crit_days:
                cert_status = Status.CRIT
            elif days < cfg.cert_warn_days:
                cert_status = Status.WARN
            else:
                cert_status = Status.OK
        latency_status = Status.OK
        if latency_ms is not None and latency_ms >= cfg.latency_warn_ms:
            latency_status = Status.WARN
        status = worst([Status.OK if ok else Status.CRIT, latency_status, cert_status or Status.OK])
        shown_url = display_url(endpoint.url)
        return EndpointResult(
            name=redact(endpoint.name),
            url=shown_url,
            status_code=status_code,
            latency_ms=None if latency_ms is None else round(latency_ms, 1),
            ok=ok,
            cert_days_left=days,
            error=None if error is None else _scrub(error, endpoint.url, shown_url),
            status=status,
            error_kind=error_kind,
            redirected_to=redirected_to,
            redirects=redirects,
            latency_status=latency_status,
            cert_status=cert_status,
            cert_hostnames=tuple(redact(n) for n in cert.hostnames) if cert else (),
            cert_not_after=cert.not_after.isoformat() if cert else None,
            cert_issuer=redact(cert.issuer) if cert else None,
            cert_verified=cert_verified,
            timeout_s=timeout,
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for slot in self._slots:
            if slot.client is not None:
                with contextlib.suppress(Exception):  # closing at shutdown must not raise
                    slot.client.close()


#: Seconds between an endpoint's own deadline and the moment the check stops waiting for it.
_GRACE = 0.25


# -- judging --------------------------------------------------------------------------------------


def _judge(
    endpoint: EndpointSettings, code: int, text: str, redirected_to: str | None
) -> tuple[str | None, str]:
    """(error kind, reason) for an answered request; kind None means as expected."""
    if endpoint.expect_status is not None:
        if code != endpoint.expect_status:
            return "status", f"HTTP {code}, expected {endpoint.expect_status}"
    elif 300 <= code < 400 and redirected_to is not None:
        return (
            "redirect",
            f"HTTP {code} redirect to {redirected_to} "
            f"(set follow_redirects = true or expect_status = {code})",
        )
    elif not 200 <= code < 300:
        return "status", f"HTTP {code}"
    if endpoint.expect_text and endpoint.expect_text not in text:
        return "text", f"expected text {endpoint.expect_text!r} not in body: {_excerpt(text)}"
    return None, ""


def _classify(exc: Exception) -> tuple[str, str]:
    """(error kind, one clear line) for a failed request."""
    chain = _chain(exc)
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            detail = item.verify_message or item.reason or str(item)
            return "tls", f"TLS certificate not trusted: {detail}"
    for item in chain:
        if isinstance(item, ssl.SSLError):
            return "tls", f"TLS error: {item.reason or item}"
    for item in chain:
        if isinstance(item, ConnectionRefusedError):
            return "refused", "connection refused (nothing listening)"
    if isinstance(exc, httpx.TooManyRedirects):
        return "redirect", "too many redirects"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return "error", f"bad URL: {exc}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "error", f"protocol error: {exc}"
    if isinstance(exc, httpx.ConnectError):
        return "error", f"cannot connect: {exc}"
    return "error", describe_error(exc)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    item: BaseException | None = exc
    while item is not None and item not in seen:
        seen.append(item)
        item = item.__cause__ or item.__context__
    return seen


def _fetch_cert_quietly(url: str, timeout: float) -> bytes | None:
    try:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            return None
        return fetch_peer_cert(parts.hostname, parts.port or 443, timeout)
    except (OSError, ValueError):
        return None


def _decode_body(response: httpx.Response, body: bytes) -> str:
    encoding = response.charset_encoding or "utf-8"
    try:
        return body.decode(encoding, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    if not flat:
        return "(empty)"
    return flat if len(flat) <= EXCERPT_LEN else flat[: EXCERPT_LEN - 1] + "…"


def _scrub(text: str, raw_url: str, shown_url: str) -> str:
    return redact(text.replace(raw_url, shown_url))


# -- status and summary ---------------------------------------------------------------------------


def _label(result: EndpointResult) -> str:
    if result.name:
        return result.name
    try:
        parts = urlsplit(result.url)
        return (parts.netloc.rpartition("@")[2] + parts.path) or result.url
    except ValueError:
        return result.url


def _problem(result: EndpointResult) -> str:
    """A few words for the summary line."""
    if not result.ok:
        code = f"HTTP {result.status_code}"
        words = {
            "status": code,
            "redirect": f"{code} redirect",
            "text": "expected text missing",
            "tls": "TLS not trusted",
            "refused": "connection refused",
        }
        kind = result.error_kind or "error"
        if kind in words:
            return words[kind]
        if kind.endswith("_timeout"):
            return kind.replace("_", " ")
        return (result.error or "failed")[:60]
    if result.cert_status is not None and result.cert_status is not Status.OK:
        days = result.cert_days_left or 0.0
        return "cert expired" if days <= 0 else f"cert {days:.1f} days left"
    if result.latency_status is not Status.OK and result.latency_ms is not None:
        return f"slow {result.latency_ms:.0f} ms"
    return result.status.value


def _grade_all(results: tuple[EndpointResult, ...]) -> tuple[Status, str, HttpData]:
    status = worst([r.status for r in results])
    up = sum(1 for r in results if r.ok)
    counts = f"{up}/{len(results)} up"
    bad = [r for r in results if r.status is not Status.OK]
    bad.sort(key=lambda r: r.status.rank, reverse=True)
    if bad:
        problems = ", ".join(f"{_label(r)} {_problem(r)}" for r in bad)
        summary = f"{status.value.upper()}: {problems} — {counts}"
    else:
        summary = counts
        timed = [r for r in results if r.latency_ms is not None]
        if timed:
            slowest = max(timed, key=lambda r: r.latency_ms or 0.0)
            summary += f" · slowest {_label(slowest)} {slowest.latency_ms:.0f} ms"
        certs = [r for r in results if r.cert_days_left is not None]
        if certs:
            soonest = min(certs, key=lambda r: r.cert_days_left or 0.0)
            summary += f" · cert {soonest.cert_days_left:.0f} days left ({_label(soonest)})"
    return status, summary, HttpData(endpoints=results)
