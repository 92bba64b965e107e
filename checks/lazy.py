"""A client library imported on first use, in the thread that first needs it.

The backend clients (docker with requests, psycopg, redis, httpx) take ~0.2 s to import, longer
than Python and psutil together; imported with their check modules they all ran before the first
frame. A check module names its client through :func:`lazy` instead, so the import happens in the
check's own thread at its first poll, after the console has painted its first screen.

``importlib.import_module`` does the import on each attribute access (a dict lookup once it is
loaded), under the interpreter's own per-module import lock, so two threads asking at once get
one import. The standard library's ``importlib.util.LazyLoader`` is not safe across threads on
Python 3.11, which is why it is not used.

In a module::

    if TYPE_CHECKING:
        import psycopg
    else:
        psycopg = lazy("psycopg")
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands for a module; the first attribute read imports it."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy(name: str) -> Any:
    """The module ``name``, imported when an attribute of it is first read."""
    return LazyModule(name)
