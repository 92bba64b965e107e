"""Discovery: the database, the cache, the engine and the health endpoints, found with nothing
configured — local defaults, the engine's containers, the Compose project on disk.

It is the lowest layer of config (flags > environment > config files > discovery).

The names below load on first use (PEP 562): ``zconsole.discovery.candidates`` is imported by the
CLI's parser and by the check of what is unset, while :func:`discover` brings the YAML and
dotenv parsers and the Docker client, which the console's start must not pay for when its config
already names every source. (The search lives in ``search``, not in a submodule named
``discover``, so that importing it cannot shadow the function of that name here.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zconsole.discovery.candidates import Candidate, Discovery
    from zconsole.discovery.local import LocalDefaults, local_defaults
    from zconsole.discovery.search import discover

_HOMES = {
    "Candidate": "zconsole.discovery.candidates",
    "Discovery": "zconsole.discovery.candidates",
    "discover": "zconsole.discovery.search",
    "LocalDefaults": "zconsole.discovery.local",
    "local_defaults": "zconsole.discovery.local",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = ["Candidate", "Discovery", "LocalDefaults", "discover", "local_defaults"]
