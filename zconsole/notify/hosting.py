"""The notify services inside ``zconsole record``: started with it, fed every check result as
one of its sinks, stopped with it.

The recorder stays the one host of the one scheduler; this module only adapts
:func:`zconsole.notify.services` to its sink protocol (``accept`` / ``close``) and opens the
incident store the Alertmanager listener and the outbox write to. A listener that cannot start
(its port is taken) is said in one line and the recorder records on without it: the history is
worth more than any one listener.
"""

from __future__ import annotations

import ipaddress
import sys
from typing import TYPE_CHECKING

from zconsole.checks.secrets import redact
from zconsole.notify import Service, services
from zconsole.store import IncidentStore, StoreUnavailable

if TYPE_CHECKING:
    from zconsole.checks.base import CheckResult
    from zconsole.config import Config

PREFIX = "zconsole record"


class HostedServices:
    """Every configured notify service, as one sink of the recorder."""

    def __init__(self, running: list[Service], store: IncidentStore | None) -> None:
        self.running = running
        self.store = store

    def accept(self, result: CheckResult) -> None:
        for service in self.running:
            service.on_result(result)

    def close(self) -> None:
        for service in self.running:
            service.stop()
        if self.store is not None:
            self.store.close()


def _describe(service: Service) -> str:
    address = service.address
    if address is None:
        return f"{PREFIX}: {service.name}: running"
    host, port = address
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    path = "/metrics" if service.name == "metrics" else ""
    return f"{PREFIX}: {service.name} listening on http://{where}{path}"


def _loopback(service: Service) -> bool:
    address = service.address
    if address is None:
        return True
    try:
        return ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        return address[0] == "localhost"


def start_hosted(config: Config) -> HostedServices | None:
    """Start what the config asks for; None when it asks for nothing."""
    wanted = bool(config.notify or config.alertmanager.listen or config.metrics.listen)
    if not wanted:
        return None
    store: IncidentStore | None = None
    if (config.notify or config.alertmanager.listen) and config.general.read_only:
        # The listener and the outbox write to the store; read-only writes nothing.
        print(f"{PREFIX}: read-only — no Alertmanager listener and no outbox delivery", flush=True)
    elif config.notify or config.alertmanager.listen:
        try:
            store = IncidentStore(config.general.store or None)
        except StoreUnavailable as exc:
            print(
                f"{PREFIX}: {exc} — no Alertmanager listener and no outbox delivery",
                file=sys.stderr,
            )
    from zconsole.notify.listeners import AlertListener

    running: list[Service] = []
    for service in services(config, store):
        try:
            service.start()
        except OSError as exc:
            print(f"{PREFIX}: {redact(str(exc))}", file=sys.stderr, flush=True)
            continue
        running.append(service)
        print(_describe(service), flush=True)
        if isinstance(service, AlertListener) and not service.token and not _loopback(service):
            # Anyone who reaches the port could write to the timeline, or declare incidents.
            print(
                f"{PREFIX}: alertmanager listens beyond this host without a token: set "
                "[alertmanager] token_env (Alertmanager: http_config.authorization)",
                file=sys.stderr,
                flush=True,
            )
    return HostedServices(running, store)
