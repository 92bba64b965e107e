"""Custom runbook actions from config (``[[actions]]``), turned into Actions for the one runner.

A custom action is an argv list, never a shell string: it is executed directly (no shell), so
``;``, ``|``, ``$()`` and globbing mean nothing. ``{placeholders}`` in its arguments are filled
from the fields of the row selected in the action's pane (``source``) and every filled value is
validated: only ``[A-Za-z0-9_.:/@-]`` characters, not empty, and not starting with ``-`` (so a
value cannot smuggle in an option). Anything else refuses the action before it is built. Output
(stdout and stderr together) is captured up to :data:`MAX_OUTPUT` bytes into the timeline.

Examples, as in ``zconsole/examples/zconsole.toml`` (the runbooks' common commands)::

    [[actions]]
    name = "compose restart"
    argv = ["docker", "compose", "restart", "{service}"]
    source = "docker"          # {service} comes from the selected container row
    risk = "disruptive"

    [[actions]]
    name = "vacuum journal"
    argv = ["journalctl", "--vacuum-time=1d"]
    risk = "disruptive"

    [[actions]]
    name = "migration plan"
    argv = ["python", "manage.py", "migrate", "--plan"]
    risk = "safe"
    timeout = 60
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shlex
import signal
import string
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from zconsole.actions import Action, ActionError, Risk
from zconsole.config import CustomAction

#: Bytes of output kept for the timeline and the audit log.
MAX_OUTPUT = 4096
#: Characters a placeholder value may contain: names, hosts, paths, ports, image tags.
_SAFE_VALUE = re.compile(r"[A-Za-z0-9_.:/@-]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class PlaceholderError(ValueError):
    """A placeholder is missing, malformed, or its value is not safe to pass on."""


def record_fields(record: object) -> dict[str, str]:
    """The scalar fields of a selected record (dataclass, mapping or object), as strings."""
    if record is None:
        return {}
    items: Mapping[str, object]
    if isinstance(record, Mapping):
        items = record
    elif dataclasses.is_dataclass(record) and not isinstance(record, type):
        items = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    elif hasattr(record, "__dict__"):
        items = {k: v for k, v in vars(record).items() if not k.startswith("_")}
    else:
        return {}
    out: dict[str, str] = {}
    for key, value in items.items():
        if isinstance(value, bool):
            out[str(key)] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[str(key)] = str(value)
    return out


def placeholders(argv: list[str]) -> list[str]:
    """The placeholder names used in an argv, in order; only plain ``{name}`` is allowed."""
    names: list[str] = []
    for arg in argv:
        try:
            parsed = list(string.Formatter().parse(arg))
        except ValueError as exc:
            raise PlaceholderError(f"bad placeholder syntax in {arg!r}: {exc}") from None
        for _literal, name, spec, conversion in parsed:
            if name is None:
                continue
            if not _NAME.fullmatch(name) or spec or conversion:
                raise PlaceholderError(
                    f"placeholder {{{name}}} in {arg!r}: only plain {{name}} is allowed"
                )
            if name not in names:
                names.append(name)
    return names


def check_value(name: str, value: str) -> str:
    """The value, if it is safe for ``{name}``; else PlaceholderError."""
    if not _SAFE_VALUE.fullmatch(value) or value.startswith("-"):
        raise PlaceholderError(
            f"refused: value of {{{name}}} {value[:60]!r} may only use letters, digits and "
            "_ . : / @ - (and may not start with -)"
        )
    return value


def fill_argv(argv: list[str], fields: Mapping[str, str]) -> list[str]:
    """argv with every ``{name}`` replaced by its validated value from ``fields``."""
    values: dict[str, str] = {}
    for name in placeholders(argv):
        if name not in fields:
            known = ", ".join(sorted(fields)) or "no row selected"
            raise PlaceholderError(f"placeholder {{{name}}} has no value ({known})")
        values[name] = check_value(name, fields[name])
    return [arg.format_map(values) for arg in argv]


def matching(actions: list[CustomAction], source: str) -> list[CustomAction]:
    """The custom actions offered in a pane: its own, plus those needing no row."""
    return [a for a in actions if a.source in ("", source)]


def build_custom_action(
    custom: CustomAction, record: object = None, *, cwd: Path | None = None
) -> Action:
    """The Action for a configured command on the selected row (PlaceholderError/ValueError)."""
    try:
        risk = Risk(custom.risk)
    except ValueError:
        raise ValueError(
            f"action {custom.name!r}: risk must be safe, disruptive or destructive"
        ) from None
    if not custom.argv:
        raise ValueError(f"action {custom.name!r}: argv is empty")
    fields = record_fields(record)
    argv = fill_argv(list(custom.argv), fields)
    used = [fields[n] for n in placeholders(list(custom.argv))]
    return Action(
        name=f"custom.{custom.name}",
        title=f"Run {custom.name}" + (f" on {' '.join(used)}" if used else ""),
        target=" ".join(used) if used else custom.name,
        risk=risk,
        preview="argv: " + shlex.join(argv),
        execute=lambda: run_argv(argv, timeout=custom.timeout, cwd=cwd),
        # The runner's timeout is a backstop a little past the process's own (which kills it).
        timeout=custom.timeout + 2.0,
        source=custom.source or "custom",
    )


def run_argv(argv: list[str], *, timeout: float, cwd: Path | None = None) -> str:
    """Run argv without a shell; its output (bounded); ActionError on failure or timeout."""
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,  # a terminal signal meant for zconsole does not reach it
        )
    except OSError as exc:
        raise ActionError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    killed = threading.Event()

    def kill() -> None:
        # The whole process group: a grandchild holding the pipe open would keep us reading.
        killed.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.daemon = True
    timer.start()
    started = time.monotonic()
    try:
        output, dropped = _read_bounded(proc)
        code = proc.wait()
    finally:
        timer.cancel()
    text = output.decode("utf-8", errors="replace").rstrip()
    if dropped:
        text += f"\n… ({dropped} more bytes not kept)"
    if killed.is_set():
        raise ActionError(
            f"killed after {time.monotonic() - started:.0f} s (timeout {timeout:g} s)"
            + (f"; output so far:\n{text}" if text else "")
        )
    if code != 0:
        raise ActionError(f"exit status {code}" + (f":\n{text}" if text else ""))
    return text or "(no output; exit status 0)"


def _read_bounded(proc: subprocess.Popen[bytes]) -> tuple[bytes, int]:
    """Read all output to EOF, keeping the first MAX_OUTPUT bytes and counting the rest."""
    assert proc.stdout is not None
    kept = bytearray()
    dropped = 0
    with proc.stdout:
        while chunk := os.read(proc.stdout.fileno(), 65536):
            room = MAX_OUTPUT - len(kept)
            kept += chunk[:room]
            dropped += max(0, len(chunk) - room)
    return bytes(kept), dropped
