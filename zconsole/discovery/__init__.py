"""Discovery: the database, the cache, the engine and the health endpoints, found with nothing
configured — local defaults, the engine's containers, the Compose project on disk.

It is the lowest layer of config (flags > environment > config files > discovery).
"""

from zconsole.discovery.candidates import Candidate, Discovery
from zconsole.discovery.discover import discover
from zconsole.discovery.local import LocalDefaults, local_defaults

__all__ = ["Candidate", "Discovery", "LocalDefaults", "discover", "local_defaults"]
