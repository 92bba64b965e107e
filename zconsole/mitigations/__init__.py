"""Mitigation factories: (source, action name, selected record) -> Action.

Each source has a module here that registers its factories with :func:`mitigation`, which also
gives each Action its name ("docker.restart") and source. Factories get the live check object
(which holds the client) and the record the pane had selected, and return an
:class:`~zconsole.actions.Action` — they never run anything themselves. Helpers of the actions
live here too: ``pg_dump.py`` (the emergency dump) and ``redis_restore.py`` (undo a purge).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from zconsole.actions import Action
from zconsole.checks.base import Check

Factory = Callable[[Check[Any], object], Action]

_REGISTRY: dict[tuple[str, str], Factory] = {}


class UnknownMitigation(LookupError):
    pass


def mitigation(source: str, name: str) -> Callable[[Factory], Factory]:
    """Register a factory for (source, name); the Actions it builds are named
    ``source.name`` and carry ``source``."""

    def register(factory: Factory) -> Factory:
        @functools.wraps(factory)
        def named(check: Check[Any], record: object) -> Action:
            return replace(factory(check, record), name=f"{source}.{name}", source=source)

        _REGISTRY[(source, name)] = named
        return named

    return register


def build(source: str, name: str, check: Check[Any], record: object) -> Action:
    """The Action for a pane's request. Raises UnknownMitigation or ValueError (bad record)."""
    _load_all()
    try:
        factory = _REGISTRY[(source, name)]
    except KeyError:
        raise UnknownMitigation(f"no mitigation {name!r} for {source}") from None
    return factory(check, record)


def available(source: str) -> list[str]:
    _load_all()
    return sorted(n for s, n in _REGISTRY if s == source)


def _load_all() -> None:
    # Imported here, on first use, so that `zconsole snapshot` never pays for them. A new
    # source's mitigations module is one more name on this line.
    from zconsole.mitigations import (  # noqa: F401
        docker,
        host,
        mysql,
        postgres,
        postgres_container,
        postgres_signal,
        redis,
    )
