"""Throwaway real servers for integration tests: PostgreSQL, redis-server and a Docker engine.

Each starts on a free loopback port (or a private socket) in a temporary directory and is torn
down at the end. Under ZCONSOLE_REQUIRE_SERVICES=1 a server that cannot start fails the run;
otherwise the tests that need it skip with the reason.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BUSYBOX_IMAGE = "zconsole-test/busybox:latest"


def require_services() -> bool:
    return os.environ.get("ZCONSOLE_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Fail (CI) or skip (a laptop without the server) with the reason."""
    if require_services():
        pytest.fail(f"ZCONSOLE_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: object, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except Exception as exc:
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s ({last})")


def _private_dir(prefix: str, owner: str | None = None) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if owner is not None:
        pw = pwd.getpwnam(owner)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    return path


# -- PostgreSQL -----------------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@dataclass
class Postgres:
    """A private PostgreSQL cluster on 127.0.0.1:port, superuser `postgres`, trust auth."""

    bindir: Path
    root: Path
    port: int
    run_as: str | None
    extra_conf: dict[str, str] = field(default_factory=dict)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, user: str = "postgres", password: str | None = None, db: str = "postgres") -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"

    def _cmd(self, *argv: str) -> list[str]:
        if self.run_as:
            return ["runuser", "-u", self.run_as, "--", *argv]
        return list(argv)

    def initdb(self) -> None:
        subprocess.run(
            self._cmd(
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale",
                "C",
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "shared_preload_libraries": "'pg_stat_statements'",
            "max_connections": "200",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "wal_level": "replica",
            "max_wal_senders": "5",
            "track_io_timing": "on",
            **self.extra_conf,
        }
        with (self.datadir / "postgresql.conf").open("a") as fh:
            fh.writelines(f"{k} = {v}\n" for k, v in conf.items())

    def start(self) -> None:
        subprocess.run(
            self._cmd(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ),
            check=True,
            capture_output=True,
            timeout=90,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            self._cmd(
                str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"
            ),
            check=False,
            capture_output=True,
            timeout=90,
        )

    def is_running(self) -> bool:
        return (self.datadir / "postmaster.pid").exists()

    def log(self) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def start_postgres(extra_conf: dict[str, str] | None = None) -> Postgres:
    bindir = postgres_bindir()
    if bindir is None:
        unavailable("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
        raise AssertionError  # unreachable
    run_as = "postgres" if os.geteuid() == 0 else None
    if run_as is not None:
        try:
            pwd.getpwnam(run_as)
        except KeyError:
            unavailable("running as root and there is no `postgres` user to run the server as")
    root = _private_dir("zc-pg-", owner=run_as)
    server = Postgres(
        bindir=bindir, root=root, port=free_port(), run_as=run_as, extra_conf=extra_conf or {}
    )
    try:
        server.initdb()
        server.start()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"PostgreSQL did not start: {exc}; {detail.decode(errors='replace')[-500:]}")
    return server


def start_standby(primary: Postgres, name: str = "zc-standby") -> Postgres:
    """A streaming standby of `primary` (pg_basebackup -R) on its own port; its walreceiver
    shows in the primary's pg_stat_replication as application_name `name`."""
    root = _private_dir("zc-pg-standby-", owner=primary.run_as)
    standby = Postgres(bindir=primary.bindir, root=root, port=free_port(), run_as=primary.run_as)
    try:
        subprocess.run(
            standby._cmd(
                str(primary.bindir / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(standby.datadir),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        conf = {
            "port": str(standby.port),
            "unix_socket_directories": f"'{root}'",
            "cluster_name": f"'{name}'",
            "hot_standby": "on",
        }
        with (standby.datadir / "postgresql.conf").open("a") as fh:
            fh.writelines(f"{k} = {v}\n" for k, v in conf.items())
        standby.start()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"standby did not start: {exc}; {detail.decode(errors='replace')[-500:]}")
    return standby


def destroy_postgres(server: Postgres) -> None:
    server.stop("immediate")
    shutil.rmtree(server.root, ignore_errors=True)


# -- Redis ----------------------------------------------------------------------------------------


@dataclass
class Redis:
    """A private redis-server on 127.0.0.1:port."""

    root: Path
    port: int
    password: str | None = None
    process: subprocess.Popen[bytes] | None = None
    persist: bool = False

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.root),
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "no",
            "--logfile",
            str(self.root / "redis.log"),
        ]
        argv += ["--save", "3600 1"] if self.persist else ["--save", ""]
        if self.password:
            argv += ["--requirepass", self.password]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._accepts, 15, "redis-server")

    def _accepts(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.process.returncode}")
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return bool(s.recv(64))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_redis(password: str | None = None, persist: bool = False) -> Redis:
    if shutil.which("redis-server") is None:
        unavailable("redis-server not found (Debian: apt-get install redis-server)")
    server = Redis(
        root=_private_dir("zc-redis-"), port=free_port(), password=password, persist=persist
    )
    try:
        server.start()
    except (OSError, TimeoutError, RuntimeError) as exc:
        server.stop()
        unavailable(f"redis-server did not start: {exc}")
    return server


def destroy_redis(server: Redis) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


# -- Docker ---------------------------------------------------------------------------------------


@dataclass
class DockerEngine:
    """A private dockerd (vfs storage, no networking) on its own unix socket (and, if asked, on
    a loopback TCP port as well)."""

    root: Path
    process: subprocess.Popen[bytes] | None = None
    #: The loopback port it also listens on (``start_docker(tcp=True)``), else None.
    tcp_port: int | None = None

    @property
    def socket_path(self) -> Path:
        return self.root / "docker.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def tcp_url(self) -> str:
        """``tcp://127.0.0.1:PORT``: plain HTTP on loopback only (``start_docker(tcp=True)``)."""
        if self.tcp_port is None:
            raise RuntimeError("this engine was started without tcp=True")
        return f"tcp://127.0.0.1:{self.tcp_port}"

    def cli(self, *argv: str, input: bytes | None = None, timeout: float = 120) -> str:
        docker = shutil.which("docker") or "docker"
        done = subprocess.run(
            [docker, "-H", self.url, *argv], input=input, capture_output=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"docker {' '.join(argv)}: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode()

    def log(self) -> str:
        try:
            return (self.root / "dockerd.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def busybox_rootfs_tar() -> bytes:
    """A tar of a rootfs with /bin/busybox and its applet links, for `docker import`."""
    busybox = shutil.which("busybox")
    if busybox is None:
        raise FileNotFoundError("busybox")
    listed = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout
    applets = sorted({a.strip() for a in listed.split() if a.strip() and a.strip() != "busybox"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "tmp", "etc", "proc", "sys", "dev"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in applets:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
        passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        tar.addfile(info, io.BytesIO(passwd))
    return buf.getvalue()


def start_docker(*, tcp: bool = False) -> DockerEngine:
    """A throwaway engine; ``tcp=True`` also listens on a free loopback port (no TLS: loopback
    only, for the tcp:// tests)."""
    dockerd = shutil.which("dockerd")
    if dockerd is None or shutil.which("docker") is None:
        unavailable("dockerd/docker not found (Debian: apt-get install docker.io)")
    if os.geteuid() != 0:
        unavailable("a throwaway Docker engine needs root")
    if shutil.which("busybox") is None:
        unavailable("busybox not found (Debian: apt-get install busybox-static)")
    root = _private_dir("zc-docker-")
    engine = DockerEngine(root=root, tcp_port=free_port() if tcp else None)
    # --tls=false said outright: newer engines otherwise pause 15 s over a plain TCP listener.
    listen = ["-H", engine.url]
    if tcp:
        listen += ["-H", engine.tcp_url, "--tls=false"]
    (root / "data").mkdir()
    (root / "exec").mkdir()
    with (root / "dockerd.log").open("wb") as log:
        engine.process = subprocess.Popen(
            [
                str(dockerd),
                "--storage-driver=vfs",
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--data-root",
                str(root / "data"),
                "--exec-root",
                str(root / "exec"),
                "--pidfile",
                str(root / "docker.pid"),
                *listen,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: engine.cli("version", "--format", "{{.Server.Version}}", timeout=5),
            60,
            "dockerd",
            0.2,
        )
        engine.cli("import", "-c", "ENV PATH=/bin", "-", BUSYBOX_IMAGE, input=busybox_rootfs_tar())
    except (TimeoutError, RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        detail = engine.log()[-800:]
        engine.stop()
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"dockerd did not start: {exc}; {detail}")
    return engine


def destroy_docker(engine: DockerEngine) -> None:
    with contextlib.suppress(Exception):
        ids = engine.cli("ps", "-aq", timeout=30).split()
        if ids:
            engine.cli("rm", "-f", *ids, timeout=120)
    engine.stop()
    # The engine leaves its network namespaces mounted under exec/; rm cannot remove them.
    for netns in glob.glob(str(engine.root / "exec" / "netns" / "*")):
        subprocess.run(["umount", "-l", netns], check=False, capture_output=True, timeout=30)
    # vfs layers can hold read-only bits; best effort.
    subprocess.run(["rm", "-rf", str(engine.root)], check=False, timeout=120)


@contextlib.contextmanager
def hanging_listener() -> Iterator[int]:
    """A loopback TCP port that accepts connections and never answers (a hung backend)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    import threading

    stop = threading.Event()

    def accept_forever() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        server.close()


def closed_port() -> int:
    """A loopback port with nothing listening (connection refused)."""
    return free_port()


# -- MariaDB --------------------------------------------------------------------------------------

MARIADBD = "/usr/sbin/mariadbd"


@dataclass
class MariaDB:
    """A private mariadbd on 127.0.0.1:port with its own socket and data directory.

    ``root`` (no password) answers on the socket and on 127.0.0.1; ``app_user``/``app_password``
    is a second account with a password, for the tests that the password never shows. Never the
    machine's own MariaDB: no option file is read (``--no-defaults``) and 3306 is never used.
    """

    root: Path
    port: int
    run_as: str | None
    process: subprocess.Popen[bytes] | None = None
    app_user: str = "zc_app"
    app_password: str = "zc-app-pw-5d1e"
    #: Server id and a binary log: a replication source (or, with another id, a replica).
    server_id: int | None = None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_path(self) -> Path:
        return self.root / "mysqld.sock"

    @property
    def dsn(self) -> str:
        """root over loopback TCP (no password)."""
        return f"mysql://root@127.0.0.1:{self.port}/mysql"

    def url(self, user: str = "root", password: str | None = None, db: str = "mysql") -> str:
        auth = f"{user}:{password}" if password else user
        return f"mysql://{auth}@127.0.0.1:{self.port}/{db}"

    def install(self) -> None:
        argv = [
            shutil.which("mariadb-install-db") or "mariadb-install-db",
            "--no-defaults",
            f"--datadir={self.datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]
        if self.run_as:
            argv.append(f"--user={self.run_as}")
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        argv = [
            MARIADBD,
            "--no-defaults",
            f"--datadir={self.datadir}",
            "--bind-address=127.0.0.1",
            f"--port={self.port}",
            f"--socket={self.socket_path}",
            f"--pid-file={self.root / 'mysqld.pid'}",
            f"--log-error={self.root / 'error.log'}",
            "--skip-name-resolve",
            # 1000 client connections for the benchmark, and a little room for the console.
            "--max-connections=1100",
            "--performance-schema=ON",
            # Small and fast: a throwaway server, not a durable one.
            "--innodb-buffer-pool-size=32M",
            "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-lock-wait-timeout=600",
            "--skip-innodb-doublewrite",
        ]
        if self.server_id is None:
            argv.append("--skip-log-bin")
        else:
            argv += [f"--server-id={self.server_id}", "--log-bin=mariadb-bin"]
        if self.run_as:
            argv.append(f"--user={self.run_as}")
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_for(self._accepts, 60, "mariadbd", 0.1)

    def _accepts(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"mariadbd exited with {self.process.returncode}: {self.log()}")
        self.sql("SELECT 1")
        return True

    def sql(self, statement: str) -> str:
        """One statement through the mariadb client on the private socket, as root."""
        done = subprocess.run(
            [
                shutil.which("mariadb") or "mariadb",
                "--no-defaults",
                "-uroot",
                f"--socket={self.socket_path}",
                "--batch",
                "--skip-column-names",
                "-e",
                statement,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise RuntimeError(f"mariadb -e {statement!r}: {done.stderr.strip()}")
        return done.stdout

    def create_app_user(self) -> None:
        self.sql(
            f"CREATE USER IF NOT EXISTS '{self.app_user}'@'127.0.0.1' "
            f"IDENTIFIED BY '{self.app_password}'; "
            f"GRANT ALL ON *.* TO '{self.app_user}'@'127.0.0.1'"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        try:
            return (self.root / "error.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""


def start_mariadb(server_id: int | None = None) -> MariaDB:
    if not os.path.exists(MARIADBD) or shutil.which("mariadb-install-db") is None:
        unavailable("MariaDB server not found (Debian: apt-get install mariadb-server)")
    if shutil.which("mariadb") is None:
        unavailable("the mariadb client not found (Debian: apt-get install mariadb-client)")
    run_as = "mysql" if os.geteuid() == 0 else None
    if run_as is not None:
        try:
            pwd.getpwnam(run_as)
        except KeyError:
            unavailable("running as root and there is no `mysql` user to run mariadbd as")
    root = _private_dir("zc-maria-", owner=run_as)
    server = MariaDB(root=root, port=free_port(), run_as=run_as, server_id=server_id)
    try:
        server.install()
        server.start()
        server.create_app_user()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, TimeoutError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        log = server.log()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"MariaDB did not start: {exc}; {str(detail)[-500:]} {log[-500:]}")
    except RuntimeError as exc:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"MariaDB did not start: {exc}")
    return server


def destroy_mariadb(server: MariaDB) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


def start_mariadb_replica(source: MariaDB) -> MariaDB:
    """A second private MariaDB replicating from `source` (started with a server_id), retrying
    a lost source every second."""
    replica = start_mariadb(server_id=(source.server_id or 1) + 1)
    try:
        replica.sql(
            f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={source.port}, "
            "MASTER_USER='root', MASTER_PASSWORD='', MASTER_CONNECT_RETRY=1, "
            "MASTER_USE_GTID=no; START SLAVE"
        )
    except RuntimeError as exc:
        destroy_mariadb(replica)
        unavailable(f"MariaDB replica did not start: {exc}")
    return replica
