"""Redis check on a real redis-server: health, Celery/RQ/stream/list queues, trends, errors."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests import services
from zconsole.checks.base import Status
from zconsole.checks.redis import RedisCheck, RedisData, parse_target
from zconsole.checks.redis_queues import CELERY_PRIORITY_SEP, QueueInfo, QueueKind, RateWindow
from zconsole.checks.redis_settings import RedisSettings

pytestmark = pytest.mark.redis

PASSWORD = "Tr0ub4dor&3-zc-secret"


class FakeClock:
    """Monotonic seconds the test moves by hand, so rates come from counts, not timing."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def r(redis_server: services.Redis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.flushall()
    client.close()


@pytest.fixture(scope="module")
def private_redis() -> Iterator[services.Redis]:
    server = services.start_redis(password=PASSWORD)
    yield server
    services.destroy_redis(server)


def make_check(url: str, clock: FakeClock | None = None, **cfg: Any) -> RedisCheck:
    config = RedisSettings(url=url, **cfg)
    if clock is None:
        return RedisCheck(config, timeout=2.0)
    return RedisCheck(config, timeout=2.0, clock=clock)


def data_of(check: RedisCheck) -> tuple[Status, RedisData]:
    snap = check.collect()
    assert snap.error is None, snap.error
    assert isinstance(snap.data, RedisData)
    return snap.status, snap.data


def queue(data: RedisData, name: str, kind: QueueKind) -> QueueInfo:
    found = [q for q in data.queues if q.name == name and q.kind is kind]
    assert found, [(q.name, q.kind) for q in data.queues]
    return found[0]


# -- queues ----------------------------------------------------------------------------------


def test_celery_backlog_of_5000_is_crit_counting_priority_lists(
    r: redis.Redis, redis_server: services.Redis
) -> None:
    r.lpush("celery", *(f"task-{i}" for i in range(4000)))
    r.lpush(f"celery{CELERY_PRIORITY_SEP}6", *(f"urgent-{i}" for i in range(1000)))
    check = make_check(redis_server.url)
    status, data = data_of(check)
    celery = queue(data, "celery", QueueKind.CELERY)
    assert celery.depth == 5000
    assert celery.status is Status.CRIT
    assert set(celery.keys) == {"celery", f"celery{CELERY_PRIORITY_SEP}6"}
    assert status is Status.CRIT
    assert "celery queue celery: 5000 waiting" in check.collect().summary


@pytest.mark.parametrize(("items", "expected"), [(999, Status.OK), (1000, Status.WARN)])
def test_queue_warn_threshold(
    r: redis.Redis, redis_server: services.Redis, items: int, expected: Status
) -> None:
    r.rpush("mail", *range(items))
    status, data = data_of(make_check(redis_server.url, lists=["mail"]))
    assert queue(data, "mail", QueueKind.LIST).status is expected
    assert status is expected


def test_growth_rate_and_drain_time_from_real_pushes(
    r: redis.Redis, redis_server: services.Redis
) -> None:
    clock = FakeClock()
    check = make_check(redis_server.url, clock)
    _, first = data_of(check)
    assert queue(first, "celery", QueueKind.CELERY).rate_per_min is None

    r.lpush("celery", *range(600))  # 600 tasks arrive during the next "minute"
    clock.now += 60
    _, second = data_of(check)
    growing = queue(second, "celery", QueueKind.CELERY)
    assert growing.depth == 600
    assert growing.rate_per_min == pytest.approx(600.0)
    assert growing.drain_eta_s is None  # growing: it will not drain

    # Workers take 240 a minute from here on; a fresh window so the slope is theirs alone.
    draining_check = make_check(redis_server.url, clock)
    data_of(draining_check)
    for _ in range(240):
        r.rpop("celery")
    clock.now += 60
    _, third = data_of(draining_check)
    draining = queue(third, "celery", QueueKind.CELERY)
    assert draining.depth == 360
    assert draining.rate_per_min == pytest.approx(-240.0)
    assert draining.drain_eta_s == pytest.approx(90.0)  # 360 items at 4 per second


def test_rate_window_drops_old_samples() -> None:
    window = RateWindow(window_s=300)
    assert window.add("q", 0, 0) is None
    assert window.add("q", 60, 600) == pytest.approx(600.0)
    # 400 s later the first two samples are out of the window: one sample, no rate.
    assert window.add("q", 460, 600) is None


def test_rq_queues_and_registries_are_discovered(
    r: redis.Redis, redis_server: services.Redis
) -> None:
    r.sadd("rq:queues", "rq:queue:default", "rq:queue:high")
    r.rpush("rq:queue:default", "job-1", "job-2", "job-3")
    r.zadd("rq:failed:default", {"job-0": 1.0, "job-9": 2.0})
    r.zadd("rq:wip:default", {"job-4": 1.0})
    _, data = data_of(make_check(redis_server.url))
    default = queue(data, "default", QueueKind.RQ)
    assert (default.depth, default.failed, default.started) == (3, 2, 1)
    high = queue(data, "high", QueueKind.RQ)
    assert (high.depth, high.failed, high.started) == (0, 0, 0)


def test_stream_with_a_lagging_consumer_group(r: redis.Redis, redis_server: services.Redis) -> None:
    for i in range(50):
        r.xadd("events", {"n": i})
    r.xgroup_create("events", "fast", id="0")
    r.xgroup_create("events", "slow", id="0")
    fast: Any = r.xreadgroup("fast", "f1", {"events": ">"}, count=50)
    r.xack("events", "fast", *(entry_id for entry_id, _ in fast[0][1]))
    r.xreadgroup("slow", "s1", {"events": ">"}, count=10)  # delivered, never acknowledged
    _, data = data_of(make_check(redis_server.url, streams=["events"]))
    events = queue(data, "events", QueueKind.STREAM)
    groups = {g.name: g for g in events.groups}
    assert (groups["fast"].lag, groups["fast"].pending) == (0, 0)
    assert (groups["slow"].lag, groups["slow"].pending) == (40, 10)
    assert events.length == 50
    assert events.depth == 50  # the slow group's backlog: 40 undelivered + 10 unacknowledged


# -- health ----------------------------------------------------------------------------------


def test_health_figures(r: redis.Redis, redis_server: services.Redis) -> None:
    clock = FakeClock()
    r.config_set("slowlog-log-slower-than", 0)
    try:
        r.set("present", "1")
        r.set("soon-gone", "1", px=100_000)
        check = make_check(redis_server.url, clock, slowlog_top=100)
        _, first = data_of(check)
        # Between polls 20 keys expire (a GET of an expired key removes and counts it).
        r.mset({f"exp-{i}": "x" for i in range(20)})
        for i in range(20):
            r.pexpire(f"exp-{i}", 1)
        services.wait_for(
            lambda: all(r.get(f"exp-{i}") is None for i in range(20)), 10, "keys to expire"
        )
        clock.now += 10
        _, second = data_of(check)
    finally:
        r.config_set("slowlog-log-slower-than", "10000")
    assert first.ping_ms > 0
    assert first.role == "master"
    assert first.replication == "master · no replicas"
    assert first.used_memory > 0
    assert first.maxmemory == 0 and first.memory_pct is None
    assert first.maxmemory_policy == "noeviction"
    assert first.persistence == "none"
    assert first.connected_clients >= 2
    assert [(d.db, d.keys, d.expires) for d in first.dbs] == [(0, 2, 1)]
    assert first.evicted_per_s is None and first.expired_per_s is None  # no previous poll
    assert second.expired_per_s == pytest.approx(2.0)  # 20 keys in 10 s
    assert second.evicted_per_s == 0
    assert any(e.command == "SET present 1" for e in second.slowlog)


def test_hit_rate_counts_only_the_applications_lookups(
    r: redis.Redis, redis_server: services.Redis
) -> None:
    r.set("present", "1")
    check = make_check(redis_server.url, FakeClock(), streams=["events"], lists=["jobs"])
    data_of(check)
    for key in ("present", "present", "present", "absent"):
        r.get(key)
    _, data = data_of(check)
    assert data.hit_rate == pytest.approx(0.75)


def test_memory_against_maxmemory(r: redis.Redis, redis_server: services.Redis) -> None:
    used = int(r.info("memory")["used_memory"])
    r.config_set("maxmemory", str(int(used / 0.9)))
    r.config_set("maxmemory-policy", "allkeys-lru")
    try:
        status, data = data_of(make_check(redis_server.url))
    finally:
        r.config_set("maxmemory", "0")
        r.config_set("maxmemory-policy", "noeviction")
    assert data.maxmemory > 0 and data.memory_pct is not None
    assert data.memory_pct >= 85
    assert data.maxmemory_policy == "allkeys-lru"
    assert status in (Status.WARN, Status.CRIT)
    assert data.memory_status is status


# -- connections and errors ------------------------------------------------------------------


def test_db_number_and_acl_user(private_redis: services.Redis) -> None:
    admin = redis.Redis.from_url(private_redis.url)
    admin.acl_setuser(
        "ops", enabled=True, passwords=["+ops-pass-123"], keys=["*"], commands=["+@all"]
    )
    admin.select(3)
    url = f"redis://ops:ops-pass-123@127.0.0.1:{private_redis.port}/3"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.rpush("jobs", 1, 2)
    check = make_check(url, lists=["jobs"])
    _, data = data_of(check)
    assert data.target == f"127.0.0.1:{private_redis.port}/3"
    assert queue(data, "jobs", QueueKind.LIST).depth == 2
    wrong = make_check(f"redis://ops:not-it-123@127.0.0.1:{private_redis.port}/3").collect()
    assert wrong.error is not None
    assert "WRONGPASS" in wrong.error and "'ops'" in wrong.error
    assert "not-it-123" not in wrong.error and "ops-pass-123" not in wrong.error
    client.flushdb()
    client.close()
    admin.close()


def test_acl_user_without_slowlog_or_config_still_gets_health_and_queues(
    private_redis: services.Redis,
) -> None:
    admin = redis.Redis.from_url(private_redis.url)
    admin.acl_setuser(
        "reader",
        enabled=True,
        passwords=["+reader-pass-1"],
        keys=["*"],
        commands=["+@read", "+ping", "+info", "+client|setname"],
    )
    admin.rpush("celery", "a", "b")
    url = f"redis://reader:reader-pass-1@127.0.0.1:{private_redis.port}/0"
    try:
        _, data = data_of(make_check(url))
    finally:
        admin.delete("celery")
        admin.close()
    assert queue(data, "celery", QueueKind.CELERY).depth == 2
    assert data.slowlog == ()
    assert data.persistence == "unknown"


def test_noauth_and_wrongpass_are_clear_and_never_show_the_password(
    private_redis: services.Redis,
) -> None:
    port = private_redis.port
    noauth = make_check(f"redis://127.0.0.1:{port}/0").collect()
    assert noauth.status is Status.ERROR and noauth.error is not None
    assert "NOAUTH" in noauth.error and "requires a password" in noauth.error
    wrongpass = make_check(f"redis://:wrong-horse-staple@127.0.0.1:{port}/0").collect()
    assert wrongpass.error is not None
    assert "WRONGPASS" in wrongpass.error and "rejected the password" in wrongpass.error
    assert "wrong-horse-staple" not in wrongpass.error + wrongpass.summary
    good = make_check(private_redis.url).collect()
    assert good.error is None
    for snap in (noauth, wrongpass, good):
        assert PASSWORD not in json.dumps(snap.to_json())


def test_refused_connection_is_clear_and_prompt() -> None:
    port = services.closed_port()
    check = RedisCheck(RedisSettings(url=f"redis://127.0.0.1:{port}/0"), timeout=1.0)
    snap = check.collect()
    assert snap.status is Status.ERROR and snap.error is not None
    assert f"127.0.0.1:{port}/0 refused the connection" in snap.error
    assert snap.duration_ms < 10_000  # bounded by the check's own timeout, not a hang


def test_hanging_server_times_out_with_a_clear_error() -> None:
    with services.hanging_listener() as port:
        check = RedisCheck(RedisSettings(url=f"redis://127.0.0.1:{port}/0"), timeout=1.0)
        snap = check.collect()
    assert snap.error is not None
    # Within the socket timeout (0.8 of the check's), before the scheduler's hard timeout.
    assert f"127.0.0.1:{port}/0 did not answer within 0.8 s (timeout)" in snap.error
    assert snap.duration_ms < 10_000


def test_hanging_server_through_the_scheduler_still_gets_our_sentence() -> None:
    from zconsole.scheduler import collect_all

    with services.hanging_listener() as port:
        check = RedisCheck(RedisSettings(url=f"redis://127.0.0.1:{port}/0"), timeout=1.0)
        snaps = asyncio.run(collect_all([check]))
    assert "did not answer within 0.8 s (timeout)" in (snaps["redis"].error or "")


def test_reconnects_with_backoff(redis_server: services.Redis) -> None:
    clock = FakeClock()
    port = services.closed_port()
    check = RedisCheck(RedisSettings(url=f"redis://127.0.0.1:{port}/0"), timeout=1.0, clock=clock)
    assert "refused" in (check.collect().error or "")
    assert "(reconnecting in 1 s)" in (check.collect().error or "")  # no new attempt yet
    clock.now += 1.5
    assert "refused" in (check.collect().error or "")  # second failure: the wait doubles
    assert "(reconnecting in 2 s)" in (check.collect().error or "")
    # Redis comes back (the check now points at a live server) and the backoff passes.
    check.url = redis_server.url
    check.target = parse_target(redis_server.url)
    clock.now += 2.5
    assert check.collect().error is None
    assert check.collect().error is None  # a success clears the backoff


def write_self_signed(root: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key (PEM files)."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = root / "cert.pem", root / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_rediss_with_password_over_tls(tmp_path: Path) -> None:
    cert, key = write_self_signed(tmp_path)
    port = services.free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port", "0",
            "--tls-port", str(port),
            "--bind", "127.0.0.1",
            "--tls-cert-file", str(cert),
            "--tls-key-file", str(key),
            "--tls-ca-cert-file", str(cert),
            "--tls-auth-clients", "no",
            "--requirepass", PASSWORD,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(tmp_path),
            "--logfile", str(tmp_path / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={cert}"
    try:
        services.wait_for(
            lambda: redis.Redis.from_url(url, socket_timeout=1).ping(), 15, "TLS redis-server"
        )
        snap = make_check(url).collect()
        assert snap.error is None, snap.error
        assert isinstance(snap.data, RedisData)
        assert snap.data.target == f"127.0.0.1:{port}/0 (TLS)"
        plain = make_check(f"redis://:{PASSWORD}@127.0.0.1:{port}/0").collect()
        assert plain.error is not None and f"Redis at 127.0.0.1:{port}/0" in plain.error
        assert "use a rediss:// URL" in plain.error
        assert PASSWORD not in plain.error + json.dumps(snap.to_json())
    finally:
        server.terminate()
        server.wait(10)


def test_rediss_url_is_parsed_for_tls() -> None:
    target = parse_target("rediss://app:pw-123@cache.internal:6380/2")
    assert target.where == "cache.internal:6380/2 (TLS)"
    assert target.safe_url == "rediss://app@cache.internal:6380/2"
    assert "pw-123" not in target.where + target.safe_url


# -- snapshot JSON ---------------------------------------------------------------------------


def test_snapshot_json_has_the_documented_redis_fields(
    private_redis: services.Redis, workdir: Path
) -> None:
    client = redis.Redis.from_url(private_redis.url)
    client.flushdb()
    client.lpush("celery", *range(1200))
    (workdir / "zconsole.toml").write_text("[docker]\nenabled = false\n")
    done = subprocess.run(
        [sys.executable, "-m", "zconsole", "snapshot", "--json"],
        cwd=workdir,
        env={**os.environ, "REDIS_URL": private_redis.url},
        capture_output=True,
        text=True,
        timeout=90,
    )
    client.flushdb()
    client.close()
    assert PASSWORD not in done.stdout + done.stderr
    report = json.loads(done.stdout)
    redis_json = report["checks"]["redis"]
    assert redis_json["error"] is None, redis_json
    assert redis_json["status"] == "warn"
    data = redis_json["data"]
    for name in (
        "ping_ms",
        "used_memory",
        "maxmemory",
        "evicted_keys",
        "connected_clients",
        "ops_per_sec",
        "hit_rate",
        "queues",
    ):
        assert name in data, name
    celery = next(q for q in data["queues"] if q["name"] == "celery")
    assert celery["kind"] == "celery"
    assert celery["depth"] == 1200
    assert {"rate_per_min", "drain_eta_s"} <= set(celery)
