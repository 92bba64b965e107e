"""A Snapshot to compact JSON and back to the check's own frozen record.

The frame row keeps what every reader filters on (time, source, status, duration); the body
keeps the rest: summary, error, configured and the typed data. msgspec writes the frozen
dataclasses as JSON and decodes them straight back into the same classes (typed, validated),
so a pane renders a recorded moment with the code that renders a live one.

Every string passes through :func:`redact_tree` before it is written: the recording is a file
on disk and no secret may reach it.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from functools import cache
from typing import Any, Generic, TypeVar, cast

import msgspec

from zconsole.checks.base import Snapshot, Status
from zconsole.checks.secrets import redact_tree

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


def encode_body(snapshot: Snapshot[Any]) -> bytes:
    """The body JSON of one Snapshot, every string redacted."""
    tree = {
        "summary": snapshot.summary,
        "error": snapshot.error,
        "configured": snapshot.configured,
        "data": msgspec.to_builtins(snapshot.data),
    }
    return _encoder.encode(redact_tree(tree))


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


def snapshot_json(snapshot: Snapshot[Any]) -> dict[str, Any]:
    """One Snapshot as a check of the snapshot JSON v1 envelope, with data as this codec
    writes it (so :func:`decode_snapshot_json` gives the typed record back); redacted."""
    tree = {
        "status": snapshot.status.value,
        "summary": snapshot.summary,
        "collected_at": snapshot.collected_at.isoformat(),
        "duration_ms": round(snapshot.duration_ms, 1),
        "error": snapshot.error,
        "configured": snapshot.configured,
        "data": msgspec.to_builtins(snapshot.data),
    }
    return cast(dict[str, Any], redact_tree(tree))


def decode_snapshot_json(source: str, raw: bytes) -> Snapshot[Any]:
    """A check of the snapshot JSON v1 envelope back into its Snapshot (the same body decoder
    as a recorded frame)."""
    frame = _frame.decode(raw)
    at = frame.collected_at.timestamp()
    return decode_snapshot(source, at, frame.status, round(frame.duration_ms * 10), raw)
