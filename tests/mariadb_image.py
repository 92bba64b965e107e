"""A MariaDB image for the throwaway Docker engine, made like the PostgreSQL/Redis one.

This host's own ``mariadbd``, its error messages and character sets, the libraries ``ldd`` names
and busybox for a shell, ``docker import``ed and tagged ``mariadb:11`` (the name discovery
recognises). The data directory is made on the host by ``mariadb-install-db`` and mounted in: the
install script wants perl and a dozen helpers an image this small does not carry. The entrypoint
keeps the official image's contract for what discovery reads: ``MARIADB_USER`` /
``MARIADB_PASSWORD`` (or ``*_FILE``) and ``MARIADB_DATABASE``, through an init file run at start.

Containers run with host networking and listen on 127.0.0.1 only.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from tests import services
from tests.server_image import _dir, _libraries, _text

MARIADB_IMAGE = "zconsole-test/mariadb:latest"
MARIADB_TAG = "mariadb:11"
_SHARE = Path("/usr/share/mysql")

ENTRYPOINT = r"""#!/bin/sh
# The official mariadb image's contract, for the variables zconsole's discovery reads.
set -e
if [ -n "$MARIADB_PASSWORD_FILE" ]; then MARIADB_PASSWORD="$(cat "$MARIADB_PASSWORD_FILE")"; fi
{
    echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
    echo "CREATE USER IF NOT EXISTS '$MARIADB_USER'@'%' IDENTIFIED BY '$MARIADB_PASSWORD';"
    echo "GRANT ALL ON *.* TO '$MARIADB_USER'@'%';"
} > /tmp/init.sql
exec "$@" --init-file=/tmp/init.sql
"""


@functools.cache
def mariadb_rootfs_tar() -> bytes:
    busybox = shutil.which("busybox")
    if busybox is None or not Path(services.MARIADBD).exists():
        services.unavailable("busybox and mariadbd are needed for the MariaDB image")
        raise AssertionError  # unreachable
    binaries = [Path(services.MARIADBD), Path(busybox)]
    listed = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout
    applets = sorted({a for a in listed.split() if a and a != "busybox"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", dereference=True) as tar:
        files = sorted(_libraries(binaries))
        parents = {"bin", "etc", "proc", "sys", "dev", "usr/sbin", "usr/local/bin", "var/lib"}
        parents |= {str(Path(f).parent).lstrip("/") for f in files} | {"usr/share/mysql"}
        every = {str(p) for parent in parents for p in (Path(parent), *Path(parent).parents)}
        for directory in sorted(every - {"."}):
            _dir(tar, directory)
        _dir(tar, "tmp", 0o1777)
        _dir(tar, "var/lib/mysql")
        _dir(tar, "run/mysqld", 0o777)
        tar.add(busybox, arcname="bin/busybox")
        for applet in applets:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
        for file in files:
            tar.add(file, arcname=file.lstrip("/"))
        tar.add(services.MARIADBD, arcname="usr/sbin/mariadbd")
        for part in ("english", "charsets"):
            tar.add(str(_SHARE / part), arcname=f"usr/share/mysql/{part}")
        _text(tar, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        _text(tar, "etc/group", "root:x:0:\n")
        _text(tar, "usr/local/bin/docker-entrypoint.sh", ENTRYPOINT, 0o755)
    return buf.getvalue()


def import_mariadb_image(engine: services.DockerEngine) -> None:
    engine.cli(
        "import",
        "-c",
        "ENV PATH=/usr/local/bin:/usr/sbin:/bin",
        "-",
        MARIADB_IMAGE,
        input=mariadb_rootfs_tar(),
        timeout=300,
    )
    engine.cli("tag", MARIADB_IMAGE, MARIADB_TAG)


def install_datadir(datadir: Path) -> None:
    """A fresh data directory (system tables only), made on the host."""
    if shutil.which("mariadb-install-db") is None:
        services.unavailable("mariadb-install-db not found (apt-get install mariadb-server)")
    datadir.mkdir(parents=True)
    subprocess.run(
        [
            shutil.which("mariadb-install-db") or "mariadb-install-db",
            "--no-defaults",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--user=root",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
