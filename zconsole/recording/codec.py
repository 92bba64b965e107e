"""A Snapshot to compact JSON and back to the check's own frozen record.

The frame row keeps what every reader filters on (time, source, status, duration); the body
keeps the rest: summary, error, configured and the typed data. msgspec writes the frozen
dataclasses as JSON and decodes them straight back into the same classes (typed, validated),
so a pane renders a recorded moment with the code that renders a live one.

Every string passes through :func:`redact` before it is written: the recording is a file on
disk and no secret may reach it. A poll's data is encoded once (by whichever of the recording's
writer thread and the attach socket needs it first) and both write the same redacted bytes.
"""

from __future__ import annotations

import importlib
import threading
from datetime import UTC, datetime
from functools import cache
from typing import Any, Generic, TypeVar

import msgspec

from zconsole.checks.base import Snapshot, Status
from zconsole.checks.secrets import might_redact_json, redact, redact_tree

D = TypeVar("D")


class _Body(msgspec.Struct, Generic[D], frozen=True):
    summary: str
    error: str | None
    configured: bool
    data: D | None


@cache
def data_type(source: str) -> Any:
    """The record class of a source (the registry names it, imported only when a body is
    decoded); plain JSON values for a source this build does not know."""
    from zconsole import registry

    found = registry.source(source)
    spec = found.data if found is not None else ""
    if not spec:
        return Any
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


@cache
def _decoder(source: str) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(_Body[data_type(source)])  # type: ignore[misc]


_encoder = msgspec.json.Encoder()


def redacted_json(value: object) -> bytes:
    """``value`` as JSON with every string (keys too) through :func:`redact`.

    msgspec writes the records as they are; only when :func:`might_redact_json` finds something
    redaction could touch in that text is the tree walked (:func:`redact_tree` of its builtins,
    as before, but a list item or dict value whose own JSON is clean is kept whole). A poll with
    no secret, password URL or password keyword in it costs one C-speed encoding instead of a
    Python call per string; one with a password in one query text walks that session's record.
    """
    encoded = _encoder.encode(value)
    if not might_redact_json(encoded):
        return encoded
    return _encoder.encode(_redact_where_needed(msgspec.to_builtins(value)))


def _redact_where_needed(node: object) -> object:
    """:func:`redact_tree` of a builtins tree, skipping the branches that need nothing."""
    if isinstance(node, dict):
        return {redact(str(k)): _redact_branch(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_redact_branch(v) for v in node]
    return redact_tree(node)


def _redact_branch(node: object) -> object:
    if isinstance(node, dict | list | tuple) and not might_redact_json(_encoder.encode(node)):
        return node
    return _redact_where_needed(node)


#: The redacted JSON of the newest data of each source (and the one before: the last good data
#: of a failing poll), so the recording and the attach socket encode a poll once between them.
#: Read and written by the writer thread and the event loop; a lost race costs one encoding.
_data_json: dict[str, tuple[tuple[object, bytes], ...]] = {}
_data_json_lock = threading.Lock()


def data_json(source: str, data: object) -> msgspec.Raw:
    """The redacted JSON of one Snapshot's data (encoded once, however many write it)."""
    for held, raw in _data_json.get(source, ()):
        if held is data:
            return msgspec.Raw(raw)
    raw = redacted_json(data)
    with _data_json_lock:
        kept = tuple(e for e in _data_json.get(source, ()) if e[0] is not data)[:1]
        _data_json[source] = ((data, raw), *kept)
    return msgspec.Raw(raw)


def _text(value: str | None) -> str | None:
    return redact(value) if value else value


def encode_body(snapshot: Snapshot[Any]) -> bytes:
    """The body JSON of one Snapshot, every string redacted."""
    body = {
        "summary": _text(snapshot.summary),
        "error": _text(snapshot.error),
        "configured": snapshot.configured,
        "data": data_json(snapshot.check, snapshot.data),
    }
    return _encoder.encode(body)


def decode_snapshot(
    source: str, at: float, status: str, duration_dms: int, body: bytes
) -> Snapshot[Any]:
    """A recorded frame back into the Snapshot the check produced (typed data)."""
    decoded = _decoder(source).decode(body)
    return Snapshot(
        check=source,
        status=Status(status),
        summary=decoded.summary,
        collected_at=datetime.fromtimestamp(at, UTC),
        duration_ms=duration_dms / 10,
        error=decoded.error,
        data=decoded.data,
        configured=decoded.configured,
    )


def duration_dms(snapshot: Snapshot[Any]) -> int:
    """Poll duration in tenths of a millisecond (the precision snapshot JSON shows)."""
    return round(snapshot.duration_ms * 10)


class _Frame(msgspec.Struct, frozen=True):
    status: str
    collected_at: datetime
    duration_ms: float


_frame = msgspec.json.Decoder(_Frame)


def snapshot_json(snapshot: Snapshot[Any], **extra: object) -> bytes:
    """One Snapshot as a check of the snapshot JSON v1 envelope, with data as this codec
    writes it (so :func:`decode_snapshot_json` gives the typed record back); redacted.
    ``extra`` adds members after the Snapshot's own (already JSON, or plain numbers)."""
    check: dict[str, object] = {
        "status": snapshot.status.value,
        "summary": _text(snapshot.summary),
        "collected_at": snapshot.collected_at.isoformat(),
        "duration_ms": round(snapshot.duration_ms, 1),
        "error": _text(snapshot.error),
        "configured": snapshot.configured,
        "data": data_json(snapshot.check, snapshot.data),
        **extra,
    }
    return _encoder.encode(check)


def decode_snapshot_json(source: str, raw: bytes) -> Snapshot[Any]:
    """A check of the snapshot JSON v1 envelope back into its Snapshot (the same body decoder
    as a recorded frame)."""
    frame = _frame.decode(raw)
    at = frame.collected_at.timestamp()
    return decode_snapshot(source, at, frame.status, round(frame.duration_ms * 10), raw)
