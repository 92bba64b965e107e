"""Host mitigations: free disk space safely, terminate or kill a process.

Every factory computes its dry run first (what would go, how many bytes) and puts it in the
Action's preview; the execute step acts on exactly that plan (a file that changed since the
preview is left alone) and returns the bytes freed for the timeline.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psutil

from zconsole.actions import Action, ActionError, Risk, risk_for
from zconsole.checks.base import Check
from zconsole.checks.docker_client import EngineAPIError, EngineClient, engine_client
from zconsole.checks.host import HostCheck, ProcessInfo
from zconsole.checks.host_settings import HostSettings
from zconsole.checks.secrets import redact
from zconsole.checks.units import human_bytes
from zconsole.mitigations import mitigation

#: Lines of a dry run shown in a preview; the total always covers every item.
PREVIEW_ITEMS = 200


def _size(n: float) -> str:
    """Sizes in previews and the timeline are read later, in full: "4.4 KiB"."""
    return human_bytes(n, spelled=True)


def freed_text(what: str, n_bytes: int) -> str:
    """The timeline line: what was done and the bytes freed (exact figure kept for reports)."""
    return f"{what}; freed {_size(n_bytes)} ({n_bytes} bytes)"


def _settings(check: Check[Any]) -> HostSettings:
    return check.settings if isinstance(check, HostCheck) else HostSettings()


# -- delete old log files -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OldFile:
    path: str
    size: int
    mtime: float
    dev: int
    ino: int


@dataclass(frozen=True, slots=True)
class LogPlan:
    globs: tuple[str, ...]
    max_age_days: int
    cutoff: float
    files: tuple[OldFile, ...]

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


def plan_log_deletion(
    globs: tuple[str, ...], max_age_days: int, *, now: float | None = None
) -> LogPlan:
    """Regular files (never symlinks or directories) matching the globs, older than N days."""
    cutoff = (time.time() if now is None else now) - max_age_days * 86400
    seen: set[tuple[int, int]] = set()
    files: list[OldFile] = []
    for pattern in globs:
        for path in sorted(glob.glob(os.path.expanduser(pattern), recursive=True)):
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_mtime >= cutoff:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            files.append(OldFile(path, st.st_size, st.st_mtime, st.st_dev, st.st_ino))
    return LogPlan(tuple(globs), max_age_days, cutoff, tuple(files))


def delete_planned(plan: LogPlan) -> tuple[int, int, list[str]]:
    """Delete the planned files still unchanged and still old: (count, bytes, skipped paths)."""
    deleted = freed = 0
    skipped: list[str] = []
    for item in plan.files:
        try:
            st = os.lstat(item.path)
        except OSError:
            skipped.append(item.path)
            continue
        same = (st.st_dev, st.st_ino) == (item.dev, item.ino) and stat.S_ISREG(st.st_mode)
        if not same or st.st_mtime >= plan.cutoff:
            skipped.append(item.path)
            continue
        try:
            os.unlink(item.path)
        except OSError:
            skipped.append(item.path)
            continue
        deleted += 1
        freed += st.st_size
    return deleted, freed, skipped


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


@mitigation("host", "delete_old_logs")
def delete_old_logs(check: Check[Any], record: object) -> Action:
    settings = _settings(check)
    if not settings.log_globs:
        raise ValueError('no log globs configured: set [host] log_globs = ["/app/logs/*.log"]')
    plan = plan_log_deletion(tuple(settings.log_globs), settings.log_max_age_days)
    if not plan.files:
        raise ValueError(
            f"no files matching {', '.join(plan.globs)} older than {plan.max_age_days} days"
        )
    lines = [
        f"Delete {len(plan.files)} files older than {plan.max_age_days} days "
        f"matching {', '.join(plan.globs)} — frees {_size(plan.bytes)} ({plan.bytes} bytes):"
    ]
    lines += [
        f"  rm {f.path}  ({_size(f.size)}, modified {_when(f.mtime)} UTC)"
        for f in plan.files[:PREVIEW_ITEMS]
    ]
    if len(plan.files) > PREVIEW_ITEMS:
        lines.append(f"  … and {len(plan.files) - PREVIEW_ITEMS} more")

    def execute() -> str:
        deleted, freed, skipped = delete_planned(plan)
        what = f"deleted {deleted} of {len(plan.files)} old log files"
        if skipped:
            what += f" ({len(skipped)} changed since the preview, left alone)"
        return freed_text(what, freed)

    return Action(
        title=f"Delete {len(plan.files)} old log files ({_size(plan.bytes)})",
        target="old logs",
        risk=Risk.DESTRUCTIVE,
        preview="\n".join(lines),
        execute=execute,
        timeout=120.0,
    )


# -- journald vacuum ------------------------------------------------------------------------------

_DISK_USAGE = re.compile(r"take up ([0-9.]+)\s*([KMGTP]?)(i?B)?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}


def parse_journal_usage(text: str) -> int | None:
    """Bytes from ``journalctl --disk-usage`` ("... take up 24.0M in the file system.")."""
    match = _DISK_USAGE.search(text)
    if not match:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def _run(argv: list[str], timeout: float) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise ActionError(redact(f"{' '.join(argv)} failed: {done.stderr.strip()[:500]}"))
    return (done.stdout + done.stderr).strip()


@mitigation("host", "journal_vacuum")
def journal_vacuum(check: Check[Any], record: object) -> Action:
    journalctl = shutil.which("journalctl")
    if journalctl is None:
        raise ValueError("journalctl not found: this host does not run journald")
    days = _settings(check).journal_max_age_days
    usage_argv = [journalctl, "--disk-usage"]
    argv = [journalctl, f"--vacuum-time={days}d"]
    try:
        usage = _run(usage_argv, 10.0)
    except (ActionError, OSError, subprocess.TimeoutExpired) as exc:
        usage = f"(disk usage unknown: {exc})"
    before = parse_journal_usage(usage)

    def execute() -> str:
        output = _run(argv, 110.0)
        after = parse_journal_usage(_run(usage_argv, 10.0))
        freed = max(0, before - after) if before is not None and after is not None else 0
        last = output.splitlines()[-1] if output else ""
        return freed_text(f"journald vacuumed to {days}d ({last})", freed)

    return Action(
        title=f"Vacuum journald logs older than {days}d",
        target="journal",
        risk=risk_for(recoverable=False),
        preview=f"{usage}\nWill run: {' '.join(argv)}",
        execute=execute,
        timeout=120.0,
    )


# -- Docker prune ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PruneItem:
    kind: str  # "container", "image", "build cache"
    id: str
    name: str
    size: int


@dataclass(frozen=True, slots=True)
class PrunePlan:
    items: tuple[PruneItem, ...]

    @property
    def bytes(self) -> int:
        return sum(i.size for i in self.items)


_STOPPED = frozenset({"exited", "created", "dead"})


def docker_client(url: str, timeout: int = 60) -> EngineClient:
    """The local engine's API, with a timeout long enough for a prune."""
    return engine_client(url, timeout=timeout, pool=2)


def plan_docker_prune(api: Any) -> PrunePlan:
    """Stopped containers, dangling unused images, unused build cache: from ``GET /system/df``."""
    df = api.df()
    items: list[PruneItem] = []
    for c in df.get("Containers") or []:
        if c.get("State") in _STOPPED:
            name = ((c.get("Names") or [""])[0] or c["Id"][:12]).lstrip("/")
            items.append(PruneItem("container", c["Id"], name, int(c.get("SizeRw") or 0)))
    for img in df.get("Images") or []:
        tags = img.get("RepoTags") or []
        dangling = not tags or all(t == "<none>:<none>" for t in tags)
        if dangling and not img.get("Containers", 0) > 0:
            shared = img.get("SharedSize") or 0
            size = int(img.get("Size") or 0) - (shared if shared > 0 else 0)
            items.append(PruneItem("image", img["Id"], img["Id"].split(":")[-1][:12], size))
    for cache in df.get("BuildCache") or []:
        if not cache.get("InUse") and not cache.get("Shared"):
            items.append(
                PruneItem(
                    "build cache", cache["ID"], cache.get("Description", "")[:60], cache["Size"]
                )
            )
    return PrunePlan(tuple(items))


def execute_docker_prune(api: Any, plan: PrunePlan) -> str:
    freed = 0
    done: dict[str, int] = {"container": 0, "image": 0, "build cache": 0}
    failed: list[str] = []
    for item in plan.items:
        if item.kind == "build cache":
            continue
        try:
            if item.kind == "container":
                api.remove_container(item.id)
            else:
                api.remove_image(item.id)
        except EngineAPIError as exc:
            failed.append(f"{item.kind} {item.name}: {exc.explanation or exc}")
            continue
        done[item.kind] += 1
        freed += item.size
    if any(i.kind == "build cache" for i in plan.items):
        result = api.prune_builds()
        freed += int((result or {}).get("SpaceReclaimed") or 0)
        done["build cache"] = len((result or {}).get("CachesDeleted") or [])
    what = (
        f"docker prune: removed {done['container']} containers, {done['image']} images, "
        f"{done['build cache']} build cache records"
    )
    if failed:
        what += f"; {len(failed)} failed ({redact('; '.join(failed))[:300]})"
    return freed_text(what, freed)


@mitigation("host", "docker_prune")
def docker_prune(check: Check[Any], record: object) -> Action:
    url = check.docker_url if isinstance(check, HostCheck) else ""
    if not url:
        raise ValueError("no Docker engine configured: set DOCKER_HOST or [docker] host")
    # A client for the plan and another for the execution: an action can wait a long while
    # for its confirmation (or never run), and must not hold a connection meanwhile.
    api = docker_client(url)
    try:
        plan = plan_docker_prune(api)
    finally:
        api.close()
    if not plan.items:
        raise ValueError("nothing to prune: no stopped containers, dangling images or build cache")
    lines = [
        f"Docker API on {redact(url)}: DELETE /containers/{{id}}, DELETE /images/{{id}}, "
        f"POST /build/prune — frees about {_size(plan.bytes)} ({plan.bytes} bytes):"
    ]
    lines += [f"  {i.kind:<11} {i.name:<30} {_size(i.size)}" for i in plan.items[:PREVIEW_ITEMS]]
    if len(plan.items) > PREVIEW_ITEMS:
        lines.append(f"  … and {len(plan.items) - PREVIEW_ITEMS} more")

    def execute() -> str:
        api = docker_client(url)
        try:
            return execute_docker_prune(api, plan)
        finally:
            api.close()

    return Action(
        title=f"Docker prune ({_size(plan.bytes)})",
        target="docker prune",
        risk=Risk.DESTRUCTIVE,
        preview="\n".join(lines),
        execute=execute,
        timeout=300.0,
    )


# -- terminate / kill a process -------------------------------------------------------------------


def _process(record: object) -> ProcessInfo:
    if not isinstance(record, ProcessInfo):
        raise ValueError("select a process in the host pane first")
    if record.pid in (0, 1, os.getpid()):
        raise ValueError(f"refusing to signal pid {record.pid}")
    return record


def _signal_action(record: object, sig: signal.Signals) -> Action:
    proc = _process(record)
    verb = "Kill" if sig is signal.SIGKILL else "Terminate"
    where = f", container {proc.container}" if proc.container else ""
    preview = (
        f"kill -{sig.name.removeprefix('SIG')} {proc.pid}  "
        f"({proc.name}, user {proc.username or '?'}{where}, rss {_size(proc.rss_bytes)})\n"
        f"cmdline: {proc.cmdline or proc.name}"
    )

    def execute() -> str:
        try:
            target = psutil.Process(proc.pid)
            if proc.create_time and abs(target.create_time() - proc.create_time) > 0.05:
                raise ActionError(f"pid {proc.pid} is now another process; nothing sent")
            rss = target.memory_info().rss
            target.send_signal(sig)
        except psutil.NoSuchProcess:
            raise ActionError(f"pid {proc.pid} has already exited") from None
        except psutil.AccessDenied:
            raise ActionError(f"not allowed to signal pid {proc.pid}") from None
        try:
            code = target.wait(5.0)
            # Only our own children report how they ended; others just disappear.
            gone = "exited" if code is None else f"exited with {_ending(code)}"
        except psutil.TimeoutExpired:
            gone = "still running after 5 s"
        return f"sent {sig.name} to pid {proc.pid} ({proc.name}): {gone}; rss was {_size(rss)}"

    return Action(
        title=f"{verb} pid {proc.pid} ({proc.name})",
        target=f"pid {proc.pid}",
        risk=risk_for(),
        preview=preview,
        execute=execute,
        timeout=15.0,
    )


def _ending(code: int) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"


@mitigation("host", "terminate")
def terminate(check: Check[Any], record: object) -> Action:
    return _signal_action(record, signal.SIGTERM)


@mitigation("host", "kill")
def kill(check: Check[Any], record: object) -> Action:
    return _signal_action(record, signal.SIGKILL)
