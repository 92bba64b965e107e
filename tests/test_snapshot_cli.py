"""`zconsole snapshot`: documented JSON (version 1), Nagios exit codes, no Textual import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import services
from zconsole.checks.base import Status

SOURCES = ("host", "docker", "postgres", "redis", "http", "mysql")
CHECK_KEYS = {"status", "summary", "duration_ms", "error", "data", "collected_at", "configured"}
# Thresholds no machine can cross (or always crosses), so the status is the test's choice.
CALM_HOST = {
    "cpu_warn": 101.0,
    "cpu_crit": 102.0,
    "memory_warn": 101.0,
    "memory_crit": 102.0,
    "disk_warn": 101.0,
    "disk_crit": 102.0,
    "swap_warn": 101.0,
    "swap_crit": 102.0,
    "load_warn_per_core": 1000.0,
    "load_crit_per_core": 2000.0,
}


def calm_config(**host: float) -> str:
    values = {**CALM_HOST, **host}
    lines = ["[host]", *(f"{k} = {v}" for k, v in values.items()), "[docker]", "enabled = false"]
    return "\n".join(lines) + "\n"


CALM = calm_config()


def snapshot(
    workdir: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zconsole", "snapshot", *extra],
        cwd=workdir,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=90,
    )


def assert_documented_shape(report: dict[str, Any]) -> None:
    assert report["version"] == 1
    assert isinstance(report["collected_at"], str) and report["collected_at"].endswith("+00:00")
    assert isinstance(report["hostname"], str) and report["hostname"]
    assert report["worst"] in {s.value for s in Status}
    assert list(report["checks"]) == list(SOURCES)
    for name, check in report["checks"].items():
        assert set(check) == CHECK_KEYS, name
        assert check["status"] in {s.value for s in Status}
        assert isinstance(check["summary"], str)
        assert isinstance(check["duration_ms"], int | float)


def test_json_has_the_documented_shape_and_host_data(workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text(CALM)
    done = snapshot(workdir, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert_documented_shape(report)
    host = report["checks"]["host"]
    assert host["status"] == "ok"
    data = host["data"]
    assert 0.0 <= data["cpu_percent"] <= 100.0
    assert len(data["load"]) == 3
    assert data["cores"] >= 1
    assert {"total", "used", "available", "percent"} <= set(data["memory"])
    assert any(d["mount"] == "/" for d in data["disks"])
    for name in ("docker", "postgres", "redis", "http"):
        assert report["checks"][name]["configured"] is False
        assert report["checks"][name]["status"] == "unknown"
        assert "not configured" in report["checks"][name]["summary"]


@pytest.mark.parametrize(
    ("override", "code", "worst"),
    [
        ({}, 0, "ok"),
        ({"memory_warn": 0.0}, 1, "warn"),
        ({"memory_warn": 0.0, "memory_crit": 0.0}, 2, "crit"),
    ],
)
def test_exit_code_follows_the_worst_status(
    workdir: Path, override: dict[str, float], code: int, worst: str
) -> None:
    (workdir / "zconsole.toml").write_text(calm_config(**override))
    done = snapshot(workdir, "--json")
    assert done.returncode == code, done.stderr
    assert json.loads(done.stdout)["worst"] == worst


def test_a_dead_backend_is_critical_with_its_reason(workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text(CALM)
    port = services.closed_port()
    done = snapshot(
        workdir, "--json", env={"DATABASE_URL": f"postgresql://app:pw-xyz-1@127.0.0.1:{port}/app"}
    )
    report = json.loads(done.stdout)
    assert done.returncode == 2
    pg = report["checks"]["postgres"]
    assert pg["status"] == "error"
    assert pg["error"]
    assert "pw-xyz-1" not in done.stdout


def test_exit_code_3_when_the_worst_is_unknown(workdir: Path) -> None:
    """A configured source that cannot tell (a disk statvfs cannot read) is UNKNOWN, exit 3.

    In a mount namespace of its own: a tmpfs mounted at a/m, then another over a, so a/m is
    still in /proc/self/mounts but no longer reachable (statvfs: FileNotFoundError)."""
    import shutil

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        services.unavailable("a private mount namespace needs root and unshare(1)")
    shadowed = workdir / "a" / "m"
    shadowed.mkdir(parents=True)
    (workdir / "zconsole.toml").write_text(
        CALM.replace("[docker]", f'include_mounts = ["{shadowed}"]\n[docker]')
    )
    mounts = (
        f"mount -t tmpfs zc-shadowed {shadowed} && mount -t tmpfs zc-over {shadowed.parent} && "
        'exec "$0" -m zconsole snapshot --json'
    )
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", mounts, sys.executable],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 3, done.stderr
    report = json.loads(done.stdout)
    assert_documented_shape(report)
    assert report["worst"] == "unknown"
    host = report["checks"]["host"]
    assert host["status"] == "unknown" and host["configured"] is True
    (disk,) = [d for d in host["data"]["disks"] if d["mount"] == str(shadowed)]
    assert disk["status"] == "unknown" and "FileNotFoundError" in disk["error"]


def test_exit_code_mapping_is_the_nagios_one() -> None:
    assert [
        s.exit_code for s in (Status.OK, Status.WARN, Status.CRIT, Status.UNKNOWN, Status.ERROR)
    ] == [0, 1, 2, 3, 2]


def test_text_output_names_every_source(workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text(CALM)
    done = snapshot(workdir)
    assert done.returncode == 0
    for name in SOURCES:
        assert name in done.stdout


def test_snapshot_never_imports_textual(workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text(CALM)
    code = (
        "import sys\n"
        "from zconsole.cli import collect_snapshot\n"
        "from zconsole.config import load_config\n"
        "collect_snapshot(load_config())\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_version_and_help(workdir: Path) -> None:
    from zconsole import __version__

    done = subprocess.run(
        [sys.executable, "-m", "zconsole", "--version"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout.strip() == f"zconsole {__version__}"
    helped = subprocess.run(
        [sys.executable, "-m", "zconsole", "--help"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "snapshot" in helped.stdout and "config" in helped.stdout
