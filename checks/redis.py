"""Redis health and queues: what `redis-cli INFO`, `SLOWLOG GET` and `LLEN celery` tell a responder.

One client per check, built from the URL (redis://, rediss://, ACL user, password, db number)
with connect and read timeouts from the check's timeout and no silent retries: a failed poll
closes the client and the next attempt waits with exponential backoff, saying so in the error.
Every error is one sentence (NOAUTH, WRONGPASS, timeout, refused) with no password in it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from zconsole.checks.base import Check, Status, grade, worst
from zconsole.checks.credentials import register_url_secret as register_userinfo_password
from zconsole.checks.lazy import lazy
from zconsole.checks.redis_queues import QueueInfo, RateWindow, collect_queues
from zconsole.checks.redis_settings import RedisSettings
from zconsole.checks.secrets import redact
from zconsole.checks.units import human_bytes

# The client is imported at the first poll, in the check's thread (see checks/lazy.py).
if TYPE_CHECKING:
    import redis
    from redis import backoff as redis_backoff
    from redis import exceptions as rex
    from redis import retry as redis_retry
else:
    redis = lazy("redis")
    rex = lazy("redis.exceptions")
    redis_backoff = lazy("redis.backoff")
    redis_retry = lazy("redis.retry")

#: Seconds to wait before reconnecting after the n-th failure in a row: 1, 2, 4 ... 30.
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 30.0
#: Socket timeouts are this share of the check's timeout, so a hung server is reported with our
#: own sentence before the scheduler's hard timeout (the same figure) gives up on the poll.
SOCKET_TIMEOUT_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class DbKeys:
    db: int
    keys: int
    expires: int


@dataclass(frozen=True, slots=True)
class SlowEntry:
    id: int
    at: datetime
    duration_us: int
    #: The command line as Redis logged it (outside text: arguments may hold anything).
    command: str
    client: str


@dataclass(frozen=True, slots=True)
class RedisData:
    """One poll of one Redis server (JSON names as in the README)."""

    #: host:port/db the console talks to (never the password).
    target: str
    ping_ms: float
    version: str
    role: str
    #: "master · 2 replicas online" / "replica of 10.0.0.5:6379 · link up".
    replication: str
    replication_ok: bool
    used_memory: int
    #: 0 means no limit (Redis grows until the kernel's OOM killer stops it).
    maxmemory: int
    memory_pct: float | None
    maxmemory_policy: str
    fragmentation: float | None
    evicted_keys: int
    evicted_per_s: float | None
    expired_keys: int
    expired_per_s: float | None
    connected_clients: int
    blocked_clients: int
    ops_per_sec: int
    #: Keyspace hits / lookups, 0..1, over the last poll interval (since start on the first poll).
    hit_rate: float | None
    dbs: tuple[DbKeys, ...]
    slowlog: tuple[SlowEntry, ...]
    queues: tuple[QueueInfo, ...]
    memory_status: Status = Status.OK
    #: "rdb", "aof", "rdb+aof", "none", or "unknown" (CONFIG refused): can a FLUSHDB be undone?
    persistence: str = "unknown"
    #: Where the server writes its RDB snapshot (CONFIG dir + dbfilename), "" when unknown.
    rdb_file: str = ""


@dataclass(frozen=True, slots=True)
class BigKey:
    key: str
    type: str
    #: MEMORY USAGE (sampled for aggregates); None when the server refuses the command.
    bytes: int | None
    #: Elements (LLEN, SCARD, HLEN, ZCARD, XLEN) or string length.
    length: int | None


@dataclass(frozen=True, slots=True)
class BigKeysReport:
    scanned: int
    dbsize: int
    complete: bool
    keys: tuple[BigKey, ...]


class RedisUnavailable(Exception):
    """A connection or authentication problem, already explained in one redacted sentence."""


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """Where a URL points, for messages: never includes the password."""

    scheme: str
    host: str
    port: int
    db: int
    username: str
    has_password: bool

    @property
    def where(self) -> str:
        if self.scheme == "unix":
            return f"unix:{self.host} db {self.db}"
        tls = " (TLS)" if self.scheme == "rediss" else ""
        return f"{self.host}:{self.port}/{self.db}{tls}"

    @property
    def safe_url(self) -> str:
        """The URL without its password (a restore asks REDIS_URL or config for that)."""
        if self.scheme == "unix":
            return f"unix://{self.host}?db={self.db}"
        user = f"{quote(self.username, safe='')}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{user}{host}:{self.port}/{self.db}"


def parse_target(url: str) -> RedisTarget:
    parts = urlsplit(url)
    db = 0
    path = parts.path.strip("/")
    if parts.scheme != "unix" and path.isdigit():
        db = int(path)
    for item in parts.query.split("&"):
        name, _, value = item.partition("=")
        if name == "db" and value.isdigit():
            db = int(value)
    host = parts.path if parts.scheme == "unix" else (parts.hostname or "localhost")
    return RedisTarget(
        scheme=parts.scheme or "redis",
        host=host,
        port=0 if parts.scheme == "unix" else (parts.port or 6379),
        db=db,
        username=unquote(parts.username or ""),
        has_password=bool(parts.password),
    )


def register_url_secret(url: str) -> None:
    """Register a URL's password (as written and decoded) for :func:`redact`."""
    register_userinfo_password(url)


def connect(url: str, timeout: float, *, decode: bool = True) -> redis.Redis:
    """A client with the check's timeouts and no hidden retries (the check does its own)."""
    register_url_secret(url)
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=redis_retry.Retry(redis_backoff.NoBackoff(), 0),
        decode_responses=decode,
        encoding_errors="backslashreplace",
        # RESP2: replies keep the same shape on every server version we may meet.
        protocol=2,
        client_name="zconsole",
    )


def explain(exc: BaseException, target: RedisTarget, timeout: float) -> str:
    """One clear, redacted sentence for a Redis failure."""
    where = target.where
    text = str(exc).strip()
    lowered = text.lower()
    user = f" for user {target.username!r}" if target.username else ""
    if isinstance(exc, rex.AuthenticationError) or "noauth" in lowered or "wrongpass" in lowered:
        if "without any password configured" in lowered:
            message = (
                f"Redis at {where} has no password set, but the URL gives one: "
                "remove the password from the URL"
            )
        elif "invalid username-password" in lowered or "wrongpass" in lowered:
            message = (
                f"Redis at {where} rejected the password{user} (WRONGPASS): "
                "check the password in the Redis URL"
            )
        elif not target.has_password:
            message = (
                f"Redis at {where} requires a password (NOAUTH): add it to the Redis URL "
                "(with the user name for an ACL user)"
            )
        else:
            message = f"Redis at {where}: authentication failed{user}: {text}"
    elif isinstance(exc, rex.NoPermissionError):
        message = f"Redis at {where}: the ACL user{user} may not run a command we need: {text}"
    elif isinstance(exc, rex.TimeoutError | TimeoutError):
        message = f"Redis at {where} did not answer within {timeout:g} s (timeout)"
    elif isinstance(exc, rex.BusyLoadingError):
        message = f"Redis at {where} is still loading its dataset into memory"
    elif isinstance(exc, rex.ConnectionError):
        if "refused" in lowered:
            message = f"Redis at {where} refused the connection: is redis-server running there?"
        else:
            message = f"cannot talk to Redis at {where}: {text}"
            if target.scheme == "redis" and ("reset" in lowered or "closed" in lowered):
                message += " (if the server only speaks TLS, use a rediss:// URL)"
    else:
        message = f"Redis at {where}: {text or type(exc).__name__}"
    return redact(message)


def read_persistence(client: redis.Redis) -> tuple[str, str]:
    """("rdb" | "aof" | "rdb+aof" | "none" | "unknown", RDB file path) from CONFIG GET."""
    try:
        pipe = client.pipeline(transaction=False)
        for name in ("save", "appendonly", "dir", "dbfilename"):
            pipe.config_get(name)
        save, appendonly, folder, filename = (dict(r) for r in pipe.execute())
    except rex.ResponseError:  # CONFIG renamed away or denied by ACL
        return "unknown", ""
    kinds = []
    if str(save.get("save", "")).strip():
        kinds.append("rdb")
    if str(appendonly.get("appendonly", "no")) == "yes":
        kinds.append("aof")
    folder_text, file_text = str(folder.get("dir", "")), str(filename.get("dbfilename", ""))
    rdb_file = f"{folder_text.rstrip('/')}/{file_text}" if folder_text and file_text else ""
    return "+".join(kinds) or "none", rdb_file


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _num(info: dict[str, Any], name: str) -> int:
    value = info.get(name, 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _replication(info: dict[str, Any]) -> tuple[str, bool]:
    role = str(info.get("role", "?"))
    if role == "slave":
        host, port = info.get("master_host", "?"), info.get("master_port", "?")
        link = str(info.get("master_link_status", "?"))
        text = f"replica of {host}:{port} · link {link}"
        if info.get("master_sync_in_progress") in (1, "1"):
            text += " · syncing"
        last_io = info.get("master_last_io_seconds_ago")
        if last_io is not None and link == "up":
            text += f" · last io {last_io} s ago"
        return text, link == "up"
    replicas = _num(info, "connected_slaves")
    online = 0
    for i in range(replicas):
        slave = info.get(f"slave{i}")
        if isinstance(slave, dict) and slave.get("state") == "online":
            online += 1
    if not replicas:
        return "master · no replicas", True
    return f"master · {online}/{replicas} replicas online", online == replicas


def _slowlog(raw: list[dict[str, Any]]) -> tuple[SlowEntry, ...]:
    entries = []
    for item in raw:
        command = item.get("command", b"")
        client = item.get("client_address", b"")
        entries.append(
            SlowEntry(
                id=_int_of(item.get("id")),
                at=datetime.fromtimestamp(_int_of(item.get("start_time")), UTC),
                duration_us=_int_of(item.get("duration")),
                command=redact(_text(command)),
                client=_text(client),
            )
        )
    return tuple(entries)


def _int_of(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


class RedisCheck(Check[RedisData]):
    """Health, slowlog and queue depths of one Redis server."""

    name = "redis"

    def __init__(
        self,
        settings: RedisSettings,
        *,
        interval: float = 2.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(interval=interval, timeout=timeout)
        self.settings = settings
        self.url = settings.url
        register_url_secret(self.url)
        self.target = parse_target(self.url)
        self.clock = clock
        self._client: redis.Redis | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._last_error = ""
        self._rates = RateWindow(settings.rate_window_s)
        self._prev: tuple[float, dict[str, Any], int, int] | None = None
        #: The newest good data (for a FLUSHDB preview asked for from a menu, not the pane).
        self.last_data: RedisData | None = None

    # -- connection ----------------------------------------------------------------------------

    def evidence(self, selected: object | None = None) -> dict[str, str]:
        """INFO all, as `redis-cli INFO` shows it."""
        info = self.client().info("all")
        return {"redis-info.txt": "\n".join(f"{k}: {v}" for k, v in sorted(info.items()))}

    def client(self) -> redis.Redis:
        if self._client is None:
            self._client = connect(self.url, self.socket_timeout)
        return self._client

    def new_client(self, *, decode: bool = True) -> redis.Redis:
        """A separate client for an action (bytes-exact with ``decode=False``)."""
        return connect(self.url, self.socket_timeout, decode=decode)

    def explain(self, exc: BaseException) -> str:
        return explain(exc, self.target, self.socket_timeout)

    @property
    def socket_timeout(self) -> float:
        return round(self.timeout * SOCKET_TIMEOUT_SHARE, 2)

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            # Closing a broken client may fail too; there is nothing left to do with it.
            with contextlib.suppress(Exception):
                client.close()

    def close(self) -> None:
        self._drop_client()

    # -- poll ----------------------------------------------------------------------------------

    def probe(self) -> tuple[Status, str, RedisData]:
        now = self.clock()
        if self._failures and now < self._retry_at:
            wait = self._retry_at - now
            raise RedisUnavailable(f"{self._last_error} (reconnecting in {wait:.0f} s)")
        try:
            data = self._collect(now)
        except rex.RedisError as exc:
            self._failures += 1
            delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (self._failures - 1))
            self._retry_at = now + delay
            self._last_error = self.explain(exc)
            self._drop_client()
            self._prev = None
            raise RedisUnavailable(self._last_error) from None
        self._failures = 0
        status, summary, graded = self._grade(data)
        self.last_data = graded
        return status, summary, graded

    def _collect(self, now: float) -> RedisData:
        fresh = self._client is None
        client = self.client()
        if fresh:
            client.ping()  # connect, TLS and AUTH first: the timed PING is one round trip
        started = time.perf_counter()
        client.ping()
        ping_ms = (time.perf_counter() - started) * 1000
        info: dict[str, Any] = client.info()
        try:
            slowlog = _slowlog(client.slowlog_get(self.settings.slowlog_top))
        except rex.ResponseError:  # an ACL user without +slowlog still gets the rest
            slowlog = ()
        persistence, rdb_file = read_persistence(client)
        scan = collect_queues(
            client,
            celery=self.settings.celery_queues,
            lists=self.settings.lists,
            streams=self.settings.streams,
            discover_rq=self.settings.discover_rq,
            warn=self.settings.queue_warn,
            crit=self.settings.queue_crit,
            rates=self._rates,
            now=now,
        )
        queues = scan.queues
        evicted, expired = _num(info, "evicted_keys"), _num(info, "expired_keys")
        hits, misses = _num(info, "keyspace_hits"), _num(info, "keyspace_misses")
        evicted_per_s = expired_per_s = None
        hit_rate = hits / (hits + misses) if hits + misses else None
        if self._prev is not None:
            prev_at, prev, own_hits, own_misses = self._prev
            dt = now - prev_at
            if dt > 0:
                evicted_per_s = max(0, evicted - _num(prev, "evicted_keys")) / dt
                expired_per_s = max(0, expired - _num(prev, "expired_keys")) / dt
            # Our own queue reads of the previous poll landed in this INFO: leave them out.
            d_hits = hits - _num(prev, "keyspace_hits") - own_hits
            d_misses = misses - _num(prev, "keyspace_misses") - own_misses
            if d_hits >= 0 and d_misses >= 0 and d_hits + d_misses > 0:
                hit_rate = d_hits / (d_hits + d_misses)
            elif d_hits >= 0 and d_misses >= 0:
                hit_rate = None  # no lookups by anyone else since the last poll
        self._prev = (now, info, scan.hits, scan.misses)
        used, maxmemory = _num(info, "used_memory"), _num(info, "maxmemory")
        replication, replication_ok = _replication(info)
        dbs = []
        for name, value in info.items():
            if name.startswith("db") and name[2:].isdigit() and isinstance(value, dict):
                dbs.append(DbKeys(int(name[2:]), _num(value, "keys"), _num(value, "expires")))
        return RedisData(
            target=self.target.where,
            ping_ms=round(ping_ms, 2),
            version=str(info.get("redis_version", "?")),
            role="replica" if info.get("role") == "slave" else str(info.get("role", "?")),
            replication=replication,
            replication_ok=replication_ok,
            used_memory=used,
            maxmemory=maxmemory,
            memory_pct=round(used / maxmemory * 100, 1) if maxmemory else None,
            maxmemory_policy=str(info.get("maxmemory_policy", "?")),
            fragmentation=_float(info.get("mem_fragmentation_ratio")),
            evicted_keys=evicted,
            evicted_per_s=evicted_per_s,
            expired_keys=expired,
            expired_per_s=expired_per_s,
            connected_clients=_num(info, "connected_clients"),
            blocked_clients=_num(info, "blocked_clients"),
            ops_per_sec=_num(info, "instantaneous_ops_per_sec"),
            hit_rate=hit_rate,
            dbs=tuple(sorted(dbs, key=lambda d: d.db)),
            slowlog=slowlog,
            queues=queues,
            persistence=persistence,
            rdb_file=rdb_file,
        )

    def _grade(self, data: RedisData) -> tuple[Status, str, RedisData]:
        cfg = self.settings
        memory_status = (
            grade(data.memory_pct, cfg.memory_warn_pct, cfg.memory_crit_pct)
            if data.memory_pct is not None
            else Status.OK
        )
        statuses = [memory_status, *(q.status for q in data.queues)]
        problems: list[str] = []
        if memory_status is not Status.OK:
            problems.append(f"memory {data.memory_pct:.0f}% of maxmemory")
        if data.evicted_per_s:
            statuses.append(Status.WARN)
            problems.append(f"evicting {data.evicted_per_s:.0f} keys/s")
        if not data.replication_ok:
            statuses.append(Status.WARN)
            problems.append(data.replication)
        for queue in data.queues:
            if queue.status is not Status.OK:
                problems.append(f"{queue.kind} queue {queue.name}: {queue.depth} waiting")
        status = worst(statuses)
        memory = human_bytes(data.used_memory)
        if data.maxmemory:
            memory += f"/{human_bytes(data.maxmemory)}"
        waiting = sum(q.depth for q in data.queues)
        summary = (
            f"PONG {data.ping_ms:.1f} ms · {data.role} · mem {memory} · "
            f"{data.ops_per_sec} ops/s · {len(data.queues)} queues, {waiting} waiting"
        )
        if problems:
            summary = "; ".join(problems) + " — " + summary
        return status, summary, dataclasses.replace(data, memory_status=memory_status)


# -- big keys (on demand, in a worker) -----------------------------------------------------------

_LENGTH_METHOD = {
    "list": "llen",
    "set": "scard",
    "zset": "zcard",
    "hash": "hlen",
    "stream": "xlen",
    "string": "strlen",
}


def scan_big_keys(
    client: redis.Redis,
    *,
    max_keys: int = 100_000,
    top: int = 10,
    batch: int = 500,
    samples: int = 5,
) -> BigKeysReport:
    """The biggest keys by memory: SCAN (never KEYS) up to ``max_keys`` keys, measured in batches.

    MEMORY USAGE reads ``samples`` elements of an aggregate and extrapolates (what
    ``redis-cli --memkeys`` does), so one poll never walks a huge hash element by element.
    """
    dbsize = int(client.dbsize())
    heap: list[tuple[int, int, BigKey]] = []
    scanned = 0
    cursor: int = 0
    order = 0
    while True:
        cursor, keys = client.scan(cursor=cursor, count=batch)
        keys = list(keys)[: max(0, max_keys - scanned)]
        if keys:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.type(key)
                pipe.memory_usage(key, samples=samples)
            replies = pipe.execute(raise_on_error=False)
            kinds = [_text(r) for r in replies[0::2]]
            sizes = [r if isinstance(r, int) else None for r in replies[1::2]]
            pipe = client.pipeline(transaction=False)
            for key, kind in zip(keys, kinds, strict=True):
                getattr(pipe, _LENGTH_METHOD.get(kind, "exists"))(key)
            lengths = pipe.execute(raise_on_error=False)
            for key, kind, size, length in zip(keys, kinds, sizes, lengths, strict=True):
                order += 1
                entry = BigKey(
                    key=_text(key),
                    type=kind,
                    bytes=size,
                    length=length if isinstance(length, int) and kind in _LENGTH_METHOD else None,
                )
                rank = size if size is not None else (length if isinstance(length, int) else 0)
                item = (rank, -order, entry)
                if len(heap) < top:
                    heapq.heappush(heap, item)
                else:
                    heapq.heappushpop(heap, item)
            scanned += len(keys)
        if cursor == 0 or scanned >= max_keys:
            break
    biggest = tuple(e for _, _, e in sorted(heap, reverse=True))
    return BigKeysReport(scanned=scanned, dbsize=dbsize, complete=cursor == 0, keys=biggest)
