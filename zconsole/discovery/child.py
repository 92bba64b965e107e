"""Discovery in a child process (the console's start; see zconsole.discover_cli.DiscoveryChild).

A request on stdin — the kinds left unset, the project directory, the engine URL — and the
answer on stdout: the config layer, how each of its sources was found, and every secret
discovery read (so that the console masks them as if discovery had run in it). It imports only
discovery, not the config loader: the child's own start is part of what it saves.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    from zconsole.checks.secrets import known_secrets
    from zconsole.discovery import discover

    request = json.load(sys.stdin)
    kinds = list(request["kinds"])
    found = discover(project_dir=Path(request["project"]), docker_url=request["docker_url"])
    layer = found.config_layer(kinds)
    answer = {
        "layer": layer,
        "how": found.how([k for k in kinds if k in layer]),
        "secrets": sorted(known_secrets()),
    }
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
