"""Shared benchmark plumbing: throwaway servers, the peers' venv, tmux panes, process-tree
sampling, statistics and the Figure record every scenario returns.

Everything here talks to loopback only: the servers come from tests/services.py (127.0.0.1 or a
private unix socket) and the two HTTP endpoints are served by this process on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
PEERS_VENV = BENCH / ".peers-venv"
PEERS_PACKAGES = ("glances", "pg_activity[psycopg]", "psycopg[binary]", "py-spy")
ZCONSOLE_BIN = Path(sys.executable).parent / "zconsole"
#: The pane size of scenarios 1-3.
SIZE = (200, 50)
#: The celery backlog of scenario 1 (the runbooks' "5000+" incident).
QUEUE_ITEMS = 5000


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- figures and statistics -----------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 50 samples is the largest but one... rank ceil(.99*50))."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of log(y) on log(x): 1.0 is linear growth, 0 is flat."""
    points = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(points) < 2:
        return math.nan
    mx = sum(p[0] for p in points) / len(points)
    my = sum(p[1] for p in points) / len(points)
    sxx = sum((p[0] - mx) ** 2 for p in points)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    return sxy / sxx if sxx else math.nan


@dataclass
class Figure:
    """One row of the results table: several runs of one measurement, and its target."""

    scenario: str
    label: str
    unit: str
    values: list[float] = field(default_factory=list)
    #: Human text of the target, e.g. "≤ 0.75 × glances (0.91 s)". Empty: no target.
    target: str = ""
    #: The figure meets the target when its median is at most this.
    limit: float | None = None
    note: str = ""
    #: For a row that is not a number ("not available: ...").
    text: str = ""
    digits: int = 3

    @property
    def med(self) -> float:
        return median(self.values) if self.values else math.nan

    def fmt(self, value: float) -> str:
        if math.isnan(value):
            return "n/a"
        if value == int(value) and abs(value) >= 100:
            return f"{value:,.0f}"
        if value != 0 and abs(value) < 10 ** -(self.digits - 1):
            return f"{value:.{self.digits}g}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{self.digits}g}" if abs(value) < 1 else f"{value:.{self.digits - 1}f}"

    @property
    def missed(self) -> bool:
        return self.limit is not None and bool(self.values) and self.med > self.limit

    def verdict(self) -> str:
        if self.limit is None or not self.values:
            return ""
        if not self.missed:
            return "met"
        over = self.med - self.limit
        pct = (self.med / self.limit - 1) * 100 if self.limit else math.inf
        unit = f" {self.unit}" if self.unit else ""
        return f"**MISSED by {self.fmt(over)}{unit}** ({pct:.0f} % over)"


# -- machine and versions --------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = psutil.virtual_memory().total
    return {
        "CPU": cpu or "unknown",
        "cores": f"{psutil.cpu_count(logical=True)} logical ({psutil.cpu_count(logical=False)} "
        "physical)",
        "memory": f"{mem / 2**30:.1f} GiB",
        "kernel": platform.release(),
        "Python": platform.python_version(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def command_version(argv: Sequence[str], prefix: str = "") -> str:
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    text = (out.stdout or out.stderr).strip().splitlines()
    first = text[0] if text else "unknown"
    return first.removeprefix(prefix).strip()


def package_version(python: Path, dist: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    return command_version([str(python), "-c", code])


# -- the peers' venv -------------------------------------------------------------------------------


def peer_bin(name: str) -> Path:
    return PEERS_VENV / "bin" / name


def ensure_peers() -> str:
    """Create benchmarks/.peers-venv with glances and pg_activity from PyPI. '' or a problem."""
    wanted = [peer_bin("glances"), peer_bin("pg_activity"), peer_bin("py-spy")]
    if all(p.exists() for p in wanted):
        return ""
    log(f"installing the peers into {PEERS_VENV.relative_to(ROOT)}: {', '.join(PEERS_PACKAGES)}")
    try:
        if not (PEERS_VENV / "bin" / "python").exists():
            subprocess.run(
                ["python3", "-m", "venv", str(PEERS_VENV)], check=True, capture_output=True
            )
        subprocess.run(
            [str(PEERS_VENV / "bin" / "python"), "-m", "pip", "install", "-q", *PEERS_PACKAGES],
            check=True,
            capture_output=True,
            timeout=900,
        )
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return f"peers venv failed: {exc} {detail.decode(errors='replace')[-300:]}"
    missing = [p.name for p in wanted if not p.exists()]
    return f"missing after install: {', '.join(missing)}" if missing else ""


# -- local HTTP endpoints --------------------------------------------------------------------------


class _Health(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"status": "ok"}' if self.path.startswith("/ready") else b"ok"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (the end of each scenario) is not worth a traceback."""


@contextlib.contextmanager
def http_endpoints() -> Iterator[list[str]]:
    """Two health endpoints on 127.0.0.1 (a /health text page and a /ready JSON page)."""
    server = _QuietServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield [f"http://127.0.0.1:{port}/health", f"http://127.0.0.1:{port}/ready"]
    finally:
        server.shutdown()
        server.server_close()


# -- servers and their population -----------------------------------------------------------------


class Unavailable(Exception):
    """A server or tool this machine cannot provide; the scenario reports it, the run goes on."""


def _start(what: str, starter: Callable[[], Any]) -> Any:
    """Start a tests/services.py server; its skip/fail (pytest outcomes) become Unavailable."""
    try:
        return starter()
    except BaseException as exc:  # pytest.skip/fail raise BaseException subclasses
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise Unavailable(f"{what}: {exc}") from None


class Servers:
    """The throwaway PostgreSQL, Redis and Docker engine, plus what they hold."""

    def __init__(self) -> None:
        from tests import services

        self.services = services
        self.problems: dict[str, str] = {}
        self.pg: Any = None
        self.redis: Any = None
        self.docker: Any = None
        self._sessions: list[Any] = []
        self._containers: list[str] = []
        self._docker_client: Any = None
        self._stack = contextlib.ExitStack()
        self.http_urls: list[str] = []

    # lifecycle

    def start(self) -> None:
        s = self.services
        log("starting PostgreSQL, Redis, Docker engine and two HTTP endpoints (loopback)")
        try:
            # 1000 sessions for the scale scenario, plus headroom for the console and peers.
            self.pg = _start("PostgreSQL", lambda: s.start_postgres({"max_connections": "1100"}))
        except Unavailable as exc:
            self.problems["postgres"] = str(exc)
        try:
            self.redis = _start("Redis", s.start_redis)
        except Unavailable as exc:
            self.problems["redis"] = str(exc)
        try:
            self.docker = _start("Docker", s.start_docker)
        except Unavailable as exc:
            self.problems["docker"] = str(exc)
        self.http_urls = self._stack.enter_context(http_endpoints())

    def stop(self) -> None:
        s = self.services
        self.set_sessions(0)
        if self._docker_client is not None:
            with contextlib.suppress(Exception):
                self._docker_client.close()
        if self.docker is not None:
            log("removing containers and stopping the Docker engine")
            s.destroy_docker(self.docker)
        if self.redis is not None:
            s.destroy_redis(self.redis)
        if self.pg is not None:
            s.destroy_postgres(self.pg)
        self._stack.close()

    # PostgreSQL sessions: 80 % idle, 10 % active (pg_sleep), 10 % idle in transaction.

    def set_sessions(self, n: int) -> None:
        if self.pg is None:
            return
        while len(self._sessions) > n:
            conn = self._sessions.pop()
            with contextlib.suppress(Exception):
                conn.cancel()
            with contextlib.suppress(Exception):
                conn.close()
        missing = n - len(self._sessions)
        if missing <= 0:
            return
        start = len(self._sessions)
        with ThreadPoolExecutor(8) as pool:
            opened = list(pool.map(self._open_session, range(start, start + missing)))
        self._sessions.extend(opened)

    def _open_session(self, index: int) -> Any:
        import psycopg

        conn = psycopg.connect(self.pg.url(), application_name=f"bench-{index}", connect_timeout=30)
        kind = index % 10
        if kind == 1:
            conn.autocommit = True
            # Busy: a long query the console should list, left running (result never read).
            conn.pgconn.send_query(b"SELECT pg_sleep(3600) /* bench active */")
        elif kind == 2:
            conn.execute("SELECT 1 /* bench idle in transaction */")
        else:
            conn.autocommit = True
            conn.execute("SELECT 1 /* bench idle */")
        return conn

    # Redis: the celery backlog.

    def fill_queue(self, items: int = QUEUE_ITEMS) -> None:
        if self.redis is None:
            return
        import redis

        client = redis.Redis.from_url(self.redis.url)
        try:
            client.delete("celery")
            payload = '{"task": "tasks.send_mail", "id": "%d", "args": [1, 2, 3]}'
            pipe = client.pipeline(transaction=False)
            for i in range(items):
                pipe.rpush("celery", payload % i)
            pipe.execute()
        finally:
            client.close()

    # Docker: busybox `sleep 3600` containers, network none.

    def set_containers(self, n: int) -> None:
        if self.docker is None:
            return
        import docker

        if self._docker_client is None:
            self._docker_client = docker.DockerClient(base_url=self.docker.url, timeout=120)
        client = self._docker_client
        while len(self._containers) > n:
            ident = self._containers.pop()
            with contextlib.suppress(Exception):
                client.containers.get(ident).remove(force=True)
        missing = n - len(self._containers)
        if missing <= 0:
            return
        log(f"starting {missing} busybox containers ({n} in all)")

        def run(i: int) -> str:
            container = client.containers.run(
                self.services.BUSYBOX_IMAGE,
                ["sleep", "3600"],
                name=f"bench-{uuid.uuid4().hex[:8]}-{i}",
                detach=True,
                network_mode="none",
                labels={"zconsole-bench": "1"},
            )
            return str(container.id)

        start = len(self._containers)
        # dockerd with vfs serialises most of the work; more than two at a time only queues.
        with ThreadPoolExecutor(2) as pool:
            self._containers.extend(pool.map(run, range(start, start + missing)))

    @property
    def containers(self) -> int:
        return len(self._containers)

    @property
    def sessions(self) -> int:
        return len(self._sessions)


def versions(servers: Servers) -> dict[str, str]:
    venv_py = Path(sys.executable)
    peers_py = PEERS_VENV / "bin" / "python"
    out = {
        "zconsole": package_version(venv_py, "zconsole"),
        "textual": package_version(venv_py, "textual"),
        "glances": package_version(peers_py, "glances"),
        "pg_activity": package_version(peers_py, "pg_activity"),
    }
    if servers.pg is not None:
        out["PostgreSQL"] = command_version(
            [str(servers.pg.bindir / "postgres"), "--version"], "postgres (PostgreSQL)"
        )
    else:
        out["PostgreSQL"] = "unavailable"
    out["Redis"] = command_version(["redis-server", "--version"], "Redis server")
    if servers.docker is not None:
        out["Docker"] = servers.docker.cli("version", "--format", "{{.Server.Version}}").strip()
    else:
        out["Docker"] = "unavailable"
    out["tmux"] = command_version(["tmux", "-V"], "tmux")
    out["valgrind"] = command_version(["valgrind", "--version"], "valgrind-")
    return out


# -- zconsole config -------------------------------------------------------------------------------


def toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(
    workdir: Path,
    servers: Servers,
    *,
    interval: float = 2.0,
    postgres_dsn: str | None = None,
) -> Path:
    """./zconsole.toml with every source the servers provide, at the given refresh."""
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [
        "[general]",
        f"interval = {interval}",
        f"store = {toml_str(str(workdir / 'incidents.sqlite'))}",
        "",
        "[docker]",
    ]
    if servers.docker is not None:
        lines.append(f"host = {toml_str(servers.docker.url)}")
    else:
        lines.append("enabled = false")
    dsn = postgres_dsn if postgres_dsn is not None else (servers.pg.dsn if servers.pg else "")
    if dsn:
        lines += ["", "[postgres]", f"dsn = {toml_str(dsn)}"]
    if servers.redis is not None:
        lines += ["", "[redis]", f"url = {toml_str(servers.redis.url)}"]
    for i, url in enumerate(servers.http_urls):
        lines += ["", "[[http.endpoints]]", f"url = {toml_str(url)}", f'name = "local-{i}"']
    path = workdir / "zconsole.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def load_checks(workdir: Path) -> dict[str, Any]:
    """The checks zconsole would build from workdir/zconsole.toml, by name."""
    from zconsole.config import load_config
    from zconsole.registry import build_checks

    config = load_config(config_path=workdir / "zconsole.toml", env={})
    return {c.name: c for c in build_checks(config)}


# -- tmux ------------------------------------------------------------------------------------------


class Tmux:
    """A private tmux server; each tool runs in a session of its own at the given size."""

    def __init__(self) -> None:
        if shutil.which("tmux") is None:
            raise Unavailable("tmux not installed (Debian: apt-get install tmux)")
        self.socket = f"zc-bench-{uuid.uuid4().hex[:8]}"
        # Keep the server up between sessions so no launch pays for starting it.
        self("new-session", "-d", "-s", "keepalive", "sleep 86400")

    def __call__(self, *argv: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *argv], capture_output=True, text=True, timeout=30
        )
        return done.stdout

    def launch(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str] | None = None,
        size: tuple[int, int] = SIZE,
    ) -> int:
        """Start argv in session `name`; returns the pid of the program (exec'd by the shell)."""
        assigns = " ".join(f"{k}={_sh(v)}" for k, v in (env or {}).items())
        command = (
            f"cd {_sh(str(cwd))} && exec env -u COLUMNS -u LINES TERM=xterm-256color {assigns} "
            + " ".join(_sh(a) for a in argv)
        )
        w, h = str(size[0]), str(size[1])
        self("new-session", "-d", "-s", name, "-x", w, "-y", h, command)
        self("resize-window", "-t", name, "-x", w, "-y", h)
        pid = self("display-message", "-p", "-t", name, "#{pane_pid}").strip()
        if not pid.isdigit():
            raise RuntimeError(f"tmux session {name} did not start ({command})")
        return int(pid)

    def screen(self, name: str, *, escapes: bool = False, line: int | None = None) -> str:
        argv = ["capture-pane", "-p", "-t", name]
        if escapes:
            argv.append("-e")
        if line is not None:
            argv += ["-S", str(line), "-E", str(line)]
        return self(*argv)

    def send_keys(self, name: str, *keys: str) -> None:
        self("send-keys", "-t", name, *keys)

    def kill(self, name: str) -> None:
        self("kill-session", "-t", name)

    def close(self) -> None:
        self("kill-server")
        # tmux leaves its socket file behind after kill-server.
        with contextlib.suppress(OSError):
            (Path(f"/tmp/tmux-{os.getuid()}") / self.socket).unlink()

    def wait_for(
        self, name: str, predicate: Callable[[str], bool], timeout: float, interval: float = 0.01
    ) -> tuple[float, str]:
        """Poll capture-pane until predicate(screen); (monotonic time it held, screen)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen(name)
            if predicate(screen):
                return time.perf_counter(), screen
            time.sleep(interval)
        raise TimeoutError(f"{name}: screen never got ready in {timeout:.0f} s:\n{screen[-2000:]}")


def _sh(value: str) -> str:
    import shlex

    return shlex.quote(value)


# -- screen predicates -----------------------------------------------------------------------------

WAITING = "waiting for first data"


def zconsole_host_ready(screen: str) -> bool:
    return "cpu " in screen


def zconsole_all_ready(screen: str) -> bool:
    # The HTTP pane boxed ("─ HTTP & TLS ─") or in its one-line form ("HTTP & TLS  ✔ OK"), which
    # it takes when another pane needs the room (200 containers).
    http_shown = "─ HTTP & TLS ─" in screen or "HTTP & TLS  " in screen
    return "cpu " in screen and WAITING not in screen and http_shown


def glances_ready(screen: str) -> bool:
    return "CPU" in screen and "MEM" in screen and "%" in screen


def pg_activity_ready(screen: str) -> bool:
    return "PID" in screen and "PostgreSQL" in screen


# -- process-tree sampling -------------------------------------------------------------------------


class TreeSampler:
    """Samples CPU seconds (user + system, children included) and RSS of a process tree."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self._cpu: dict[int, float] = {}
        self._mark: dict[int, float] = {}
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._lock = threading.Lock()

    def __enter__(self) -> TreeSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sample()
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        rss = 0
        with self._lock:
            for proc in procs:
                try:
                    with proc.oneshot():
                        t = proc.cpu_times()
                        rss += proc.memory_info().rss
                except psutil.Error:
                    continue
                total = t.user + t.system + t.children_user + t.children_system
                self._cpu[proc.pid] = max(self._cpu.get(proc.pid, 0.0), total)
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        rss = max(rss, int(line.split()[1]) * 1024)
            self.peak_rss = max(self.peak_rss, rss)

    def mark(self) -> None:
        """Start the measured window here (CPU before it is not counted)."""
        self.sample()
        with self._lock:
            self._mark = dict(self._cpu)
            self.peak_rss = 0
        self.sample()

    def cpu_seconds(self) -> float:
        with self._lock:
            return sum(v - self._mark.get(pid, 0.0) for pid, v in self._cpu.items())


def kill_tree(pid: int) -> None:
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(procs, timeout=5)


def private_home() -> Path:
    """A scratch HOME so no tool reads or writes the user's config, logs or caches."""
    home = Path(tempfile.mkdtemp(prefix="zc-bench-home-", dir="/tmp"))
    for sub in (".config", ".local/share", ".local/state", ".cache", ".run"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return home


#: Every list of places discovery's local defaults look in (zconsole/discovery/local.py).
NOWHERE_LOCAL = (
    "pg_socket_dirs",
    "pg_ports",
    "pg_service_files",
    "redis_sockets",
    "redis_ports",
    "docker_sockets",
)


def tool_env(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        # A console started beside another of the same config attaches to it (the war room's one
        # collector) and polls nothing: a private runtime dir keeps any console running on this
        # machine (a user's, another run's) from turning the measured one into a viewer.
        "XDG_RUNTIME_DIR": str(home / ".run"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        # zconsole measures only the sources its config names: discovery's local defaults look
        # nowhere, so this machine's own servers on 5432/6379 never join a run.
        "ZCONSOLE_LOCAL_DEFAULTS": json.dumps({name: [] for name in NOWHERE_LOCAL}),
    }


# -- the peers' command lines ----------------------------------------------------------------------

#: Glances plugins that would send traffic off this machine (public IP lookup, gateway scan,
#: cloud metadata) or poll hardware we do not have: disabled, so the run stays on loopback.
GLANCES_DISABLED = "ip,ports,cloud,wifi,smart,gpu,npu"


def glances_argv() -> list[str]:
    return [
        str(peer_bin("glances")),
        "-t",
        "2",
        "--disable-plugin",
        GLANCES_DISABLED,
        "--disable-check-update",
        "--hide-public-info",
    ]


def pg_activity_argv(dsn: str) -> list[str]:
    return [str(peer_bin("pg_activity")), "--refresh", "2", dsn]


def zconsole_argv() -> list[str]:
    return [str(ZCONSOLE_BIN)]


@dataclass
class Context:
    """What every scenario gets."""

    servers: Servers
    short: bool
    runs: int
    scratch: Path
    home: Path
    notes: list[str] = field(default_factory=list)

    def workdir(self, name: str) -> Path:
        path = self.scratch / name
        path.mkdir(parents=True, exist_ok=True)
        return path
