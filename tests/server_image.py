"""A small image of real servers for the throwaway Docker engine: PostgreSQL and redis-server.

Made like the busybox image (``tests/services.py``): this host's own postgres binaries and share
files, ``redis-server`` and ``curl``, the libraries ``ldd`` names for them, and busybox for a
shell, ``docker import``ed — no registry, no network, a real server in seconds. It is tagged
``postgres:<major>`` and ``redis:7`` inside the private engine, the names discovery recognises on
our users' hosts. The PostgreSQL entrypoint behaves like the official image's for the variables
discovery reads: ``POSTGRES_USER``, ``POSTGRES_PASSWORD`` / ``POSTGRES_PASSWORD_FILE``,
``POSTGRES_DB`` and ``PGPORT``.

Containers that serve run with host networking and listen on 127.0.0.1 only: tests talk to
loopback, never to a container's network address.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

from tests import services

SERVER_IMAGE = "zconsole-test/servers:latest"
REDIS_TAG = "redis:7"
#: uid/gid of the image's postgres user (the official image's too).
POSTGRES_UID = 999

#: Server-side modules initdb and a plain server load; the JIT (llvmjit, 20 MB) is left out.
_PG_MODULES = (
    "plpgsql.so",
    "dict_snowball.so",
    "pg_stat_statements.so",
    "libpqwalreceiver.so",
    "pgoutput.so",
)
_PG_PROGRAMS = ("postgres", "initdb", "pg_ctl", "psql", "pg_dump", "pg_restore", "pg_isready")

ENTRYPOINT = r"""#!/bin/sh
# The official postgres image's contract, for the variables zconsole's discovery reads.
set -e
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGPORT:=5432}"
export PGPORT
if [ -n "$POSTGRES_PASSWORD_FILE" ]; then POSTGRES_PASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")"; fi
export PGDATA=/var/lib/postgresql/data
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    printf '%s' "$POSTGRES_PASSWORD" > /tmp/pwfile
    initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile=/tmp/pwfile --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync > /tmp/initdb.log
    rm -f /tmp/pwfile
    # As the official image: password logins from anywhere the server listens.
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        postgres --single -D "$PGDATA" postgres <<EOF > /dev/null
CREATE DATABASE "$POSTGRES_DB";
EOF
    fi
fi
exec "$@"
"""


def _postgres_dirs() -> tuple[Path, Path, Path]:
    bindir = services.postgres_bindir()
    if bindir is None:
        services.unavailable("PostgreSQL server binaries not found (apt-get install postgresql)")
        raise AssertionError  # unreachable
    major = bindir.parent.name
    share = Path("/usr/share/postgresql") / major
    return bindir, bindir.parent / "lib", share


def postgres_major() -> str:
    return _postgres_dirs()[0].parent.name


def postgres_tag() -> str:
    return f"postgres:{postgres_major()}"


def _libraries(binaries: list[Path]) -> set[str]:
    found: set[str] = set()
    for binary in binaries:
        listed = subprocess.run(
            ["ldd", str(binary)], capture_output=True, text=True, check=False
        ).stdout
        for match in re.finditer(r"(/\S+) \(0x", listed):
            found.add(match.group(1))
    return found


def _dir(tar: tarfile.TarFile, name: str, mode: int = 0o755, uid: int = 0) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.uid = info.gid = uid
    tar.addfile(info)


def _text(tar: tarfile.TarFile, name: str, text: str, mode: int = 0o644) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


@functools.cache
def server_rootfs_tar() -> bytes:
    """The rootfs tar (built once per test session: it costs seconds on shared cores)."""
    bindir, libdir, share = _postgres_dirs()
    busybox = shutil.which("busybox")
    redis = shutil.which("redis-server")
    curl = shutil.which("curl")
    if busybox is None or redis is None or curl is None:
        services.unavailable("busybox, redis-server and curl are needed for the server image")
        raise AssertionError  # unreachable
    programs = [bindir / p for p in _PG_PROGRAMS]
    modules = [libdir / m for m in _PG_MODULES if (libdir / m).exists()]
    binaries = [*programs, *modules, Path(redis), Path(curl), Path(busybox)]
    listed = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout
    applets = sorted({a for a in listed.split() if a and a != "busybox"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", dereference=True) as tar:
        files = [str(p) for p in (*programs, *modules)] + sorted(_libraries(binaries))
        parents = {"bin", "etc", "proc", "sys", "dev", "usr/bin", "usr/local/bin", "var/lib"}
        parents |= {str(Path(f).parent).lstrip("/") for f in files}
        parents |= {str(share.parent).lstrip("/"), "usr/share/zoneinfo"}
        every = {str(p) for parent in parents for p in (Path(parent), *Path(parent).parents)}
        for directory in sorted(every - {"."}):
            _dir(tar, directory)
        _dir(tar, "tmp", 0o1777)
        _dir(tar, "var/lib/postgresql", uid=POSTGRES_UID)
        _dir(tar, "var/run", 0o755)
        _dir(tar, "var/run/postgresql", 0o2775, uid=POSTGRES_UID)
        tar.add(busybox, arcname="bin/busybox")
        for applet in applets:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
        for file in files:
            tar.add(file, arcname=file.lstrip("/"))
        tar.add(str(share), arcname=str(share).lstrip("/"))
        tar.add("/usr/share/zoneinfo/UTC", arcname="usr/share/zoneinfo/UTC")
        tar.add(redis, arcname="usr/bin/redis-server")
        tar.add(curl, arcname="usr/bin/curl")
        _text(
            tar,
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\n"
            f"postgres:x:{POSTGRES_UID}:{POSTGRES_UID}:postgres:/var/lib/postgresql:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/:/bin/false\n",
        )
        _text(tar, "etc/group", f"root:x:0:\npostgres:x:{POSTGRES_UID}:\n")
        _text(tar, "usr/local/bin/docker-entrypoint.sh", ENTRYPOINT, 0o755)
    return buf.getvalue()


def import_server_image(engine: services.DockerEngine) -> None:
    """Import the image into ``engine`` and tag it with the names users' images have."""
    bindir = _postgres_dirs()[0]
    path = f"PATH={bindir}:/usr/local/bin:/usr/bin:/bin"
    engine.cli(
        "import",
        "-c",
        f"ENV {path}",
        "-c",
        "ENV TZ=UTC",
        "-",
        SERVER_IMAGE,
        input=server_rootfs_tar(),
        timeout=300,
    )
    engine.cli("tag", SERVER_IMAGE, postgres_tag())
    engine.cli("tag", SERVER_IMAGE, REDIS_TAG)
