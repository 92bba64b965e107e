"""Host mitigations on real files, real processes and a real Docker engine, run through the one
action runner where the outcome matters (the timeline must record the bytes freed).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests import services
from zconsole import mitigations
from zconsole.action_runner import ActionRunner, ConfirmKind, ConfirmRequest
from zconsole.actions import ActionError, Outcome, Risk
from zconsole.audit import AuditLog
from zconsole.checks.host import HostCheck, ProcessInfo
from zconsole.checks.host_settings import HostSettings
from zconsole.mitigations.host import (
    PrunePlan,
    docker_client,
    execute_docker_prune,
    parse_journal_usage,
    plan_docker_prune,
)

DAY = 86400


class Sink:
    """The open incident's timeline, as the runner sees it."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def record(self, kind: str, text: str) -> None:
        self.entries.append((kind, text))


async def _type_the_target(request: ConfirmRequest) -> bool:
    assert request.kind is ConfirmKind.TYPE_TARGET
    return True


def _file(path: Path, size: int, age_days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"l" * size)
    when = time.time() - age_days * DAY
    os.utime(path, (when, when))
    return path


async def test_old_log_deletion_dry_run_lists_exactly_the_old_files_and_frees_them(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    old = [_file(logs / "app.log.1", 3000, 10), _file(logs / "worker.log", 1500, 8)]
    keep = [
        _file(logs / "app.log", 700, 1),  # recent
        _file(logs / "notes.txt", 900, 30),  # old, but not matching the glob
        _file(logs / "nested" / "deep.log", 400, 30),  # glob is not recursive
    ]
    link = logs / "link.log"  # an old symlink to a recent file: never followed, never deleted
    link.symlink_to(keep[0])
    os.utime(link, (time.time() - 30 * DAY,) * 2, follow_symlinks=False)
    check = HostCheck(HostSettings(log_globs=[str(logs / "*.log*")], log_max_age_days=7))
    action = mitigations.build("host", "delete_old_logs", check, None)

    assert action.risk is Risk.DESTRUCTIVE
    listed = [line.split()[1] for line in action.preview.splitlines() if line.startswith("  rm ")]
    assert sorted(listed) == sorted(str(p) for p in old)
    assert "(4500 bytes)" in action.preview.splitlines()[0]

    sink = Sink()
    runner = ActionRunner(
        audit=AuditLog(tmp_path / "audit.log"), confirm=_type_the_target, timeline=lambda: sink
    )
    outcome = await runner.run(action)
    assert outcome.outcome is Outcome.SUCCEEDED, outcome.text
    assert not any(p.exists() for p in old)
    assert all(p.exists() for p in keep) and link.is_symlink()
    assert "deleted 2 of 2" in outcome.text and "(4500 bytes)" in outcome.text
    assert len(sink.entries) == 1 and "freed 4.4 KiB (4500 bytes)" in sink.entries[0][1]


async def test_a_file_changed_after_the_preview_is_left_alone(tmp_path: Path) -> None:
    old = _file(tmp_path / "a.log", 100, 10)
    touched = _file(tmp_path / "b.log", 200, 10)
    check = HostCheck(HostSettings(log_globs=[str(tmp_path / "*.log")]))
    action = mitigations.build("host", "delete_old_logs", check, None)
    touched.write_bytes(b"written again after the preview")  # now recent
    result = action.execute()
    assert not old.exists() and touched.exists()
    assert "(100 bytes)" in result and "1 changed since the preview" in result


def test_log_deletion_without_globs_or_matches_says_why(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="log_globs"):
        mitigations.build("host", "delete_old_logs", HostCheck(), None)
    _file(tmp_path / "fresh.log", 10, 0)
    check = HostCheck(HostSettings(log_globs=[str(tmp_path / "*.log")]))
    with pytest.raises(ValueError, match="older than 7 days"):
        mitigations.build("host", "delete_old_logs", check, None)


def _info(proc: psutil.Process) -> ProcessInfo:
    return ProcessInfo(
        pid=proc.pid,
        name=proc.name(),
        cpu_percent=0.0,
        rss_bytes=proc.memory_info().rss,
        cmdline=" ".join(proc.cmdline()),
        create_time=proc.create_time(),
    )


@pytest.mark.parametrize(
    ("name", "risk", "sig"),
    # One process either way: y/N, as for one backend or one container.
    [("terminate", Risk.DISRUPTIVE, "TERM"), ("kill", Risk.DISRUPTIVE, "KILL")],
)
def test_terminate_and_kill_signal_the_process(name: str, risk: Risk, sig: str) -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) as child:
        try:
            info = _info(psutil.Process(child.pid))
            action = mitigations.build("host", name, HostCheck(), info)
            assert action.risk is risk and action.target == f"pid {child.pid}"
            assert action.preview.startswith(f"kill -{sig} {child.pid}")
            # The child is ours, so psutil reaps it and says how it ended.
            assert f"exited with SIG{sig}" in action.execute()
            assert not psutil.pid_exists(child.pid)
        finally:
            if psutil.pid_exists(child.pid):
                child.kill()


def test_signal_refuses_a_recycled_pid() -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) as child:
        info = _info(psutil.Process(child.pid))
        stale = _with_create_time(info, info.create_time - 100)
        action = mitigations.build("host", "kill", HostCheck(), stale)
        with pytest.raises(ActionError, match="another process"):
            action.execute()
        assert child.poll() is None
        child.kill()
    with pytest.raises(ValueError, match="refusing"):
        mitigations.build("host", "kill", HostCheck(), _with_pid(info, 1))
    with pytest.raises(ValueError, match="select a process"):
        mitigations.build("host", "terminate", HostCheck(), None)


def _with_create_time(info: ProcessInfo, value: float) -> ProcessInfo:
    return dataclasses.replace(info, create_time=value)


def _with_pid(info: ProcessInfo, pid: int) -> ProcessInfo:
    return dataclasses.replace(info, pid=pid)


def test_journal_usage_parsing() -> None:
    text = "Archived and active journals take up 24.0M in the file system."
    assert parse_journal_usage(text) == 24 * 1024 * 1024
    assert parse_journal_usage("Archived and active journals take up 0B in the file system.") == 0
    assert parse_journal_usage("garbage") is None


def test_journal_vacuum_preview_shows_usage_and_argv() -> None:
    check = HostCheck(HostSettings(journal_max_age_days=1))
    try:
        action = mitigations.build("host", "journal_vacuum", check, None)
    except ValueError as exc:
        assert "journalctl not found" in str(exc)
        return
    assert action.risk is Risk.DESTRUCTIVE  # vacuumed journal files cannot come back
    assert action.preview.splitlines()[-1].endswith("journalctl --vacuum-time=1d")
    assert "journals take up" in action.preview or "disk usage unknown" in action.preview


@pytest.mark.docker
def test_docker_prune_dry_run_lists_stopped_containers_and_dangling_images(
    docker_engine: services.DockerEngine,
) -> None:
    stopped = docker_engine.cli(
        "run", "--name", "zc-host-stopped", "--network", "none", services.BUSYBOX_IMAGE,
        "sh", "-c", "head -c 300000 /dev/zero > /tmp/junk",
    )  # fmt: skip
    assert stopped == ""
    image = docker_engine.cli("commit", "zc-host-stopped").strip()  # untagged: dangling
    check = HostCheck(docker_url=docker_engine.url)
    action = mitigations.build("host", "docker_prune", check, None)
    assert action.risk is Risk.DESTRUCTIVE
    assert "zc-host-stopped" in action.preview
    assert image.split(":")[-1][:12] in action.preview

    # Execute only our own items: the engine is shared with other tests of the session.
    api = docker_client(docker_engine.url)
    try:
        plan = plan_docker_prune(api)
        ours = PrunePlan(
            tuple(i for i in plan.items if i.name == "zc-host-stopped" or i.id == image)
        )
        assert {i.kind for i in ours.items} == {"container", "image"}
        assert ours.bytes > 300_000
        result = execute_docker_prune(api, ours)
        assert "removed 1 containers, 1 images" in result
        assert f"({ours.bytes} bytes)" in result
        assert "zc-host-stopped" not in docker_engine.cli("ps", "-a", "--format", "{{.Names}}")
        assert image not in docker_engine.cli("images", "-q", "--no-trunc")
    finally:
        api.close()
