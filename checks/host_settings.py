"""The ``[host]`` settings: the runbooks' thresholds and what the host check and its mitigations
may look at. Built by ``zconsole.config`` from the config file; defaults are the runbooks'."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class HostSettings:
    interval: float | None = None
    timeout: float | None = None
    # Runbooks: "CPU > 80 %", "memory > 85 %", "disk > 90 %".
    cpu_warn: float = 80.0
    cpu_crit: float = 95.0
    memory_warn: float = 85.0
    memory_crit: float = 95.0
    swap_warn: float = 50.0
    swap_crit: float = 90.0
    disk_warn: float = 80.0
    disk_crit: float = 90.0
    #: Load average per core that counts as overloaded.
    load_warn_per_core: float = 1.5
    load_crit_per_core: float = 3.0
    #: Per-mount timeout: a dead network filesystem must not freeze the pane.
    mount_timeout: float = 1.0
    #: Globs of log files the "delete old logs" mitigation may remove.
    log_globs: list[str] = field(default_factory=list)
    log_max_age_days: int = 7
    #: Runbook: `journalctl --vacuum-time=1d`.
    journal_max_age_days: int = 1
    #: tmpfs is RAM, not disk: listed once it passes disk_warn (and /tmp, /run, /dev/shm
    #: always); true lists every tmpfs.
    include_tmpfs: bool = False
    #: Mount points always shown / never shown, whatever their filesystem type.
    include_mounts: list[str] = field(default_factory=list)
    exclude_mounts: list[str] = field(default_factory=list)
    #: Rolling window for a disk's fill rate and "full in about X", seconds.
    growth_window_s: float = 600.0
    #: How many processes each top list (by CPU, by memory) holds.
    top_processes: int = 8
