"""The one way to make a Docker Engine API client: the docker check, the host pane's links,
discovery and the container mitigations all get theirs here.

A thin client over httpx (already here for the HTTP checks) instead of the docker SDK: the SDK
pulls requests, urllib3 and charset_normalizer in beside httpx (~6-7 MiB of resident memory) for
the dozen documented endpoints the console calls. Every request names the Engine API version
explicitly (``/v1.41/...``: Docker 20.10, the oldest engine the console supports), so a newer
engine answers in the shape this code reads.

Engines: ``unix://PATH`` (httpx's unix-socket transport), ``tcp://HOST:PORT`` (plain HTTP, as
the SDK's ``DockerClient(base_url=...)`` did: it set up no TLS either), ``http(s)://``. ssh://
goes through the docker check's ``ssh -L`` tunnel, which hands a local ``unix://`` URL here.

A ``unix://`` URL whose socket does not exist is refused before a connection is tried: "no
Docker engine socket at PATH" is the clearer sentence, and no socket is opened for nothing.

Errors: :class:`EngineError` for an engine that cannot be reached (the transport's exception is
its cause, for the check's one-sentence explanation), :class:`EngineAPIError` when the engine
answered with an error status (``explanation`` is the engine's own message), and
:class:`EngineNotFound` for a 404.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from zconsole.checks.lazy import lazy

if TYPE_CHECKING:
    import httpx
else:
    # Imported at the first client, in the thread that needs it, never before the first frame.
    httpx = lazy("httpx")

#: The Engine API version every request names: Docker 20.10 (the oldest engine supported).
API_VERSION = "1.41"
#: Stream numbers of the Engine's multiplexed stdout/stderr stream (logs, exec).
STDOUT_STREAM = 1
STDERR_STREAM = 2


class EngineError(Exception):
    """The engine could not be reached (or refused the connection); one sentence."""


class EngineAPIError(EngineError):
    """The engine answered with an error status."""

    def __init__(self, status_code: int, explanation: str, request: str) -> None:
        self.status_code = status_code
        #: The engine's own message ("No such container: x").
        self.explanation = explanation
        super().__init__(f"{status_code} from the Docker engine on {request}: {explanation}")


class EngineNotFound(EngineAPIError):
    """404: no such container, image or exec."""


class EngineStream:
    """A streamed response (events, followed logs, an exec's output), read in one thread and
    cancellable from another.

    :meth:`close` shuts the socket down, which wakes a reader blocked in ``recv`` in another
    thread at once (closing a file descriptor does not), and closes the response when no one is
    reading it. The reading thread closes the response itself when its loop ends
    (:meth:`release`, or ``close`` from that thread): the connection is then dropped, not put
    back in the pool half read, so no descriptor waits for the garbage collector.
    """

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._closed = False
        self._reading = False

    def chunks(self) -> Iterator[bytes]:
        """The body's bytes as they arrive (chunked transfer decoded, nothing else)."""
        if self._closed:
            return
        self._reading = True
        try:
            for chunk in self._response.iter_raw():
                if self._closed:
                    return
                if chunk:
                    yield chunk
        except (httpx.HTTPError, OSError):
            if not self._closed:
                raise
        finally:
            self._reading = False

    def lines(self) -> Iterator[bytes]:
        """Newline-delimited records (the events stream's JSON documents)."""
        pending = b""
        for chunk in self.chunks():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            yield from (line for line in complete if line.strip())
        if pending.strip():
            yield pending

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """(stream number, payload) of the Engine's multiplexed stream: an 8-byte header (the
        stream, three zero bytes, the payload length big-endian) before each payload."""
        buffer = bytearray()
        for chunk in self.chunks():
            buffer += chunk
            while len(buffer) >= 8:
                size = int.from_bytes(buffer[4:8], "big")
                if len(buffer) < 8 + size:
                    break
                stream = buffer[0]
                payload = bytes(buffer[8 : 8 + size])
                del buffer[: 8 + size]
                yield stream, payload

    def __iter__(self) -> Iterator[Any]:
        return self.chunks()

    def close(self) -> None:
        """Stop the stream from any thread (see the class docstring)."""
        self._closed = True
        network = self._response.extensions.get("network_stream")
        raw_socket = network.get_extra_info("socket") if network is not None else None
        if isinstance(raw_socket, socket.socket):
            with contextlib.suppress(OSError):
                raw_socket.shutdown(socket.SHUT_RDWR)
        if not self._reading:
            self.release()

    def release(self) -> None:
        """Close the response now (from the reading thread, once its loop has ended)."""
        self._closed = True
        with contextlib.suppress(Exception):
            self._response.close()


class LogChunks:
    """A followed log stream as payload chunks, stdout and stderr frames alike (one stream is
    asked for at a time), or the raw bytes of a container with a TTY (no frames then)."""

    def __init__(self, stream: EngineStream, tty: bool) -> None:
        self._stream = stream
        self._tty = tty

    def __iter__(self) -> Iterator[bytes]:
        if self._tty:
            yield from self._stream.chunks()
        else:
            yield from (payload for _, payload in self._stream.frames())

    def close(self) -> None:
        self._stream.close()

    def release(self) -> None:
        self._stream.release()


def _demux(data: bytes) -> bytes:
    """The payloads of a whole multiplexed body, joined (a container without a TTY)."""
    out = bytearray()
    at = 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at + 4 : at + 8], "big")
        out += data[at + 8 : at + 8 + size]
        at += 8 + size
    return bytes(out)


def _base(url: str) -> tuple[str, str | None]:
    """(httpx base URL, unix socket path or None) for an engine URL."""
    if url.startswith("unix://"):
        return "http://docker", url.removeprefix("unix://")
    if url.startswith("tcp://"):
        return "http://" + url.removeprefix("tcp://").rstrip("/"), None
    if url.startswith(("http://", "https://")):
        return url.rstrip("/"), None
    raise EngineError(f"not a Docker engine URL this console speaks: {url} (unix:// or tcp://)")


def _filters(filters: Mapping[str, Sequence[str] | str] | None) -> str | None:
    if not filters:
        return None
    return json.dumps({k: [v] if isinstance(v, str) else list(v) for k, v in filters.items()})


class EngineClient:
    """The Engine API calls the console makes; names and arguments follow the docker SDK's
    low-level ``APIClient`` (so its callers read the same), answers are the engine's JSON."""

    def __init__(self, url: str, *, timeout: float, pool: int = 10) -> None:
        self.url = url
        self.timeout = timeout
        base, uds = _base(url)
        # ``pool`` idle connections are kept; more may be open at once (each followed log or
        # events stream holds one for as long as it runs): a bounded pool would make a poll
        # wait behind twenty log followers and time out as if the engine were gone.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=pool)
        # No TLS but for an https:// engine: verify=False skips loading the CA bundle (~1 MiB,
        # a few ms) into the SSL context every transport makes, used or not.
        verify = base.startswith("https://")
        transport = httpx.HTTPTransport(uds=uds, limits=limits, verify=verify)
        # trust_env off: an HTTP(S)_PROXY of the user's shell must never carry engine requests.
        self._http = httpx.Client(
            base_url=f"{base}/v{API_VERSION}",
            transport=transport,
            timeout=timeout,
            trust_env=False,
        )

    # -- plumbing --------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: object = None,
        stream: bool = False,
        timeout: httpx.Timeout | float | None = None,
    ) -> httpx.Response:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        request = self._http.build_request(
            method,
            path,
            params=query,
            json=body,
            timeout=self.timeout if timeout is None else timeout,
        )
        try:
            response = self._http.send(request, stream=stream)
        except httpx.TransportError as exc:
            raise EngineError(str(exc) or type(exc).__name__) from exc
        if response.status_code >= 400:
            try:
                if stream:
                    response.read()
                explanation = str(response.json().get("message") or response.text)
            except (ValueError, AttributeError, httpx.HTTPError):
                explanation = response.text if not stream else response.reason_phrase
            finally:
                response.close()
            kind = EngineNotFound if response.status_code == 404 else EngineAPIError
            raise kind(response.status_code, explanation.strip(), f"{method} {path}")
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json() if response.content else None
        except ValueError as exc:
            raise EngineError(f"the Docker engine sent no JSON for {method} {path}") from exc

    def _stream(self, method: str, path: str, **kwargs: Any) -> EngineStream:
        return EngineStream(self._send(method, path, stream=True, **kwargs))

    def close(self) -> None:
        self._http.close()

    # -- system ----------------------------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        return dict(self._json("GET", "/version") or {})

    def df(self) -> dict[str, Any]:
        return dict(self._json("GET", "/system/df", timeout=max(self.timeout, 60)) or {})

    def events(
        self, *, since: int | None = None, filters: Mapping[str, Sequence[str]] | None = None
    ) -> EngineStream:
        """``GET /events``, followed: no read timeout (a quiet engine is normal)."""
        return self._stream(
            "GET",
            "/events",
            params={"since": since, "filters": _filters(filters)},
            timeout=httpx.Timeout(self.timeout, read=None),
        )

    # -- containers ------------------------------------------------------------------------------

    def containers(
        self, *, all: bool = False, filters: Mapping[str, Sequence[str]] | None = None
    ) -> list[dict[str, Any]]:
        params = {"all": "1" if all else None, "filters": _filters(filters)}
        return list(self._json("GET", "/containers/json", params=params) or [])

    def inspect_container(self, container: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/containers/{container}/json") or {})

    def stats(self, container: str) -> dict[str, Any]:
        """One stats sample, at once (``one-shot``: no wait for the engine's next sample; its
        ``precpu_stats`` is then empty, so CPU % needs the caller's previous sample)."""
        params = {"stream": "false", "one-shot": "true"}
        return dict(self._json("GET", f"/containers/{container}/stats", params=params) or {})

    def logs(
        self,
        container: str,
        *,
        stdout: bool = True,
        stderr: bool = True,
        timestamps: bool = False,
        tail: int | str | None = None,
        stream: bool = False,
        follow: bool = False,
        since: float | None = None,
    ) -> Any:
        """The log as bytes, or with ``stream`` a :class:`LogChunks` to iterate and close."""
        tty = bool((self.inspect_container(container).get("Config") or {}).get("Tty"))
        params = {
            "stdout": "1" if stdout else "0",
            "stderr": "1" if stderr else "0",
            "timestamps": "1" if timestamps else None,
            "tail": "all" if tail is None else str(tail),
            "follow": "1" if follow else None,
            "since": None if since is None else f"{since:.9f}",
        }
        path = f"/containers/{container}/logs"
        if stream:
            return LogChunks(self._stream("GET", path, params=params), tty)
        data = self._send("GET", path, params=params).content
        return data if tty else _demux(data)

    def get_archive(self, container: str, path: str) -> tuple[bytes, dict[str, Any]]:
        """A tar of ``path`` inside the container (``docker cp``) and its stat header."""
        response = self._send("GET", f"/containers/{container}/archive", params={"path": path})
        header = response.headers.get("X-Docker-Container-Path-Stat", "")
        try:
            stat = json.loads(base64.b64decode(header)) if header else {}
        except ValueError:
            stat = {}
        return response.content, dict(stat)

    def start(self, container: str) -> None:
        self._send("POST", f"/containers/{container}/start")

    def stop(self, container: str, *, timeout: int = 10) -> None:
        self._send(
            "POST", f"/containers/{container}/stop", params={"t": timeout}, timeout=timeout + 20
        )

    def restart(self, container: str, *, timeout: int = 10) -> None:
        self._send(
            "POST", f"/containers/{container}/restart", params={"t": timeout}, timeout=timeout + 20
        )

    def kill(self, container: str, *, signal: str = "SIGKILL") -> None:
        self._send("POST", f"/containers/{container}/kill", params={"signal": signal})

    def pause(self, container: str) -> None:
        self._send("POST", f"/containers/{container}/pause")

    def unpause(self, container: str) -> None:
        self._send("POST", f"/containers/{container}/unpause")

    def remove_container(self, container: str, *, force: bool = False, v: bool = False) -> None:
        params = {"force": "1" if force else "0", "v": "1" if v else "0"}
        self._send("DELETE", f"/containers/{container}", params=params, timeout=60)

    # -- exec ------------------------------------------------------------------------------------

    def exec_create(
        self,
        container: str,
        cmd: Sequence[str],
        *,
        stdout: bool = True,
        stderr: bool = True,
        environment: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        body = {
            "Cmd": list(cmd),
            "AttachStdout": stdout,
            "AttachStderr": stderr,
            "Env": [f"{k}={v}" for k, v in (environment or {}).items()],
        }
        return dict(self._json("POST", f"/containers/{container}/exec", body=body) or {})

    def exec_stream(self, exec_id: str) -> EngineStream:
        """Start the exec and follow its multiplexed output (:meth:`EngineStream.frames`)
        until it ends: the engine closes the connection then. No read timeout: a dump can be
        quiet for a long while."""
        return self._stream(
            "POST",
            f"/exec/{exec_id}/start",
            body={"Detach": False, "Tty": False},
            timeout=httpx.Timeout(self.timeout, read=None),
        )

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/exec/{exec_id}/json") or {})

    # -- images and build cache ------------------------------------------------------------------

    def remove_image(self, image: str) -> None:
        self._send("DELETE", f"/images/{image}", timeout=max(self.timeout, 60))

    def prune_builds(self) -> dict[str, Any]:
        return dict(self._json("POST", "/build/prune", timeout=max(self.timeout, 600)) or {})


def _refuse_missing_socket(url: str) -> None:
    if url.startswith("unix://"):
        path = url.removeprefix("unix://")
        if not os.path.exists(path):
            raise EngineError(f"no Docker engine socket at {path}")


def engine_client(url: str, *, timeout: float, pool: int = 10) -> EngineClient:
    """A client for a ``unix://`` or ``tcp://`` engine (ssh:// goes through the docker check's
    tunnel, which hands a local ``unix://`` URL here)."""
    _refuse_missing_socket(url)
    return EngineClient(url, timeout=max(timeout, 1.0), pool=pool)
