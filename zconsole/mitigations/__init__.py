"""Mitigation factories: (source, action name, selected record) -> Action.

Each source has a module here that registers its factories with :func:`mitigation`. Factories
get the live check object (which holds the client) and the record the pane had selected, and
return an :class:`~zconsole.actions.Action` — they never run anything themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zconsole.actions import Action
from zconsole.checks.base import Check

Factory = Callable[[Check[Any], object], Action]

_REGISTRY: dict[tuple[str, str], Factory] = {}


class UnknownMitigation(LookupError):
    pass


def mitigation(source: str, name: str) -> Callable[[Factory], Factory]:
    """Register a factory for (source, name)."""

    def register(factory: Factory) -> Factory:
        _REGISTRY[(source, name)] = factory
        return factory

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
    # Import the per-source modules lazily so that `zconsole snapshot` never pays for them.
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
