"""The attach channel: where its socket lives, who may use it, and its lines.

Every line is one JSON object with a ``kind``. The collector sends ``snapshot`` lines (the
snapshot JSON v1 envelope of `zconsole snapshot --json`, holding the check just polled, with its
last good Snapshot beside it), ``viewers`` (who is attached), ``beat`` (it is alive) and the
answers to actions; a console sends ``hello`` and its actions. Snapshots are encoded and decoded
by the recording's codec (one decoder of Snapshots back into typed records).
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import socket
import struct
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import platformdirs

from zconsole.checks.base import CheckResult, Snapshot
from zconsole.config import Config
from zconsole.recording.codec import decode_snapshot_json, snapshot_json

VERSION = 1
#: Longest line either side accepts (a containers poll of a big host is well under this).
MAX_LINE = 16 * 1024 * 1024
#: The collector says it is alive this often, so a hung one is told from a quiet one.
BEAT_S = 0.5
SOCKET_NAME = "attach-{digest}.sock"


def runtime_dir() -> Path:
    """$XDG_RUNTIME_DIR/zconsole (or platformdirs' fallback, without its warning)."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "zconsole"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir("zconsole"))


def socket_path(config: Config) -> Path:
    """``[warroom] socket``; else one per recording in the runtime dir: the collector of a
    host is the process that writes its recording, so consoles of another config (another
    target, a test's throwaway store) never attach to it."""
    if config.warroom.socket:
        return Path(config.warroom.socket).expanduser()
    from zconsole.recording.db import recording_path

    digest = hashlib.sha256(str(recording_path(config).resolve()).encode()).hexdigest()[:12]
    return runtime_dir() / SOCKET_NAME.format(digest=digest)


@dataclass(frozen=True, slots=True)
class Peer:
    """The process on the other end of the socket, as the kernel says (SO_PEERCRED)."""

    pid: int
    uid: int
    gid: int

    @property
    def user(self) -> str:
        try:
            return pwd.getpwuid(self.uid).pw_name
        except KeyError:  # no passwd entry (a container's uid)
            return str(self.uid)


def peer_of(sock: Any) -> Peer:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", creds)
    return Peer(pid, uid, gid)


def may_attach(peer: Peer, group: str = "") -> bool:
    """This user, root, or a member of ``group`` ([warroom] group)."""
    if peer.uid in (os.getuid(), 0):
        return True
    if not group:
        return False
    try:
        allowed = grp.getgrnam(group)
    except KeyError:
        return False
    return peer.gid == allowed.gr_gid or peer.user in allowed.gr_mem


def trusted_collector(peer: Peer) -> bool:
    """A console attaches only to a collector of its own user or root: a socket someone else
    planted in a shared directory must not feed it Snapshots or take its actions."""
    return peer.uid in (os.getuid(), 0)


def this_tty() -> str:
    """The terminal this console runs in ("pts/3"), or "" (a browser tab, a service)."""
    for fd in (0, 1, 2):
        try:
            return os.ttyname(fd).removeprefix("/dev/")
        except OSError:
            continue
    return ""


# -- lines -----------------------------------------------------------------------------------


_encoder = msgspec.json.Encoder()


def line(message: dict[str, Any]) -> bytes:
    return _encoder.encode(message) + b"\n"


def snapshot_line(result: CheckResult, hostname: str) -> bytes:
    """One poll as the snapshot JSON v1 envelope (one check), its last good Snapshot beside it."""
    latest = result.latest
    extra: dict[str, object] = {}
    if result.last_good is not None and result.last_good is not latest:
        extra["last_good"] = msgspec.Raw(snapshot_json(result.last_good))
    if result.last_good_at is not None:
        extra["last_good_age_s"] = max(0.0, time.monotonic() - result.last_good_at)
    return line(
        {
            "kind": "snapshot",
            "version": VERSION,
            "collected_at": latest.collected_at.isoformat(),
            "hostname": hostname,
            "worst": latest.status.value,
            "checks": {latest.check: msgspec.Raw(snapshot_json(latest, **extra))},
        }
    )


class _Check(msgspec.Struct):
    # Raw, decoded by the codec only when present (msgspec takes no ``Raw | None``).
    last_good: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"null"))
    last_good_age_s: float | None = None


class _Envelope(msgspec.Struct):
    kind: str
    checks: dict[str, msgspec.Raw] = msgspec.field(default_factory=dict)


_envelope = msgspec.json.Decoder(_Envelope)
_check = msgspec.json.Decoder(_Check)
_any = msgspec.json.Decoder()


def kind_of(raw: bytes) -> str:
    return _envelope.decode(raw).kind


def results_of(raw: bytes) -> list[CheckResult]:
    """The CheckResults of a ``snapshot`` line (typed records, as the check produced them)."""
    results: list[CheckResult] = []
    for name, body in _envelope.decode(raw).checks.items():
        latest = decode_snapshot_json(name, bytes(body))
        extra = _check.decode(body)
        last_good: Snapshot[Any] | None = latest if latest.ok_data else None
        if bytes(extra.last_good) != b"null":
            last_good = decode_snapshot_json(name, bytes(extra.last_good))
        last_good_at = None
        if extra.last_good_age_s is not None and last_good is not None:
            last_good_at = time.monotonic() - extra.last_good_age_s
        results.append(CheckResult(latest, last_good, last_good_at))
    return results


def message_of(raw: bytes) -> dict[str, Any]:
    decoded = _any.decode(raw)
    if not isinstance(decoded, dict):
        raise ValueError("not a JSON object")
    return decoded


# -- records of actions ----------------------------------------------------------------------


def record_json(record: object) -> dict[str, Any] | None:
    """The row a pane had selected, to be built into an action by the collector."""
    if record is None:
        return None
    kind = type(record)
    return {"type": f"{kind.__module__}:{kind.__qualname__}", "value": msgspec.to_builtins(record)}


#: Plain values a mitigation takes instead of a row (terminate_long's minutes).
_PLAIN: dict[str, type] = {"builtins:int": int, "builtins:float": float, "builtins:str": str}


def record_of(obj: object) -> object:
    """A row back into its record; only check records (and plain values) are built, never a
    class a peer names from anywhere else."""
    if obj is None:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise ValueError("not a record")
    spec: str = obj["type"]
    module, _, name = spec.partition(":")
    if spec in _PLAIN:
        return msgspec.convert(obj.get("value"), _PLAIN[spec])
    if not module.startswith("zconsole.checks.") or "." in name:
        raise ValueError(f"not a check record: {spec}")
    import importlib

    kind = getattr(importlib.import_module(module), name)
    return msgspec.convert(obj.get("value"), kind)
