"""Telling people from the console: status updates to chat and status pages (with an outbox),
Alertmanager and Grafana alerts in, Prometheus metrics out.

:func:`services` is the one entry point a long-running process (``zconsole record``, a test)
uses: it answers the configured services, each with ``start()``, ``stop()``, ``address`` (the
bound host and port, or None) and ``on_result(CheckResult)`` (the host fans every check result
out to each). Importing this package costs nothing: ``zconsole.config`` imports its settings,
and the HTTP client and Prometheus' library load only when a service is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

#: Seconds between tries of what waits in the outbox (a post to a receiver that was down).
OUTBOX_INTERVAL_S = 5.0

if TYPE_CHECKING:
    from zconsole.checks.base import CheckResult
    from zconsole.checks.incident import Incident
    from zconsole.config import Config
    from zconsole.notify.poster import Notifier, OutboxSender
    from zconsole.store import IncidentStore


class Service(Protocol):
    """What a host process drives."""

    name: str

    @property
    def address(self) -> tuple[str, int] | None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def on_result(self, result: CheckResult) -> None: ...


def notifier(config: Config, store: IncidentStore) -> Notifier | None:
    """The configured receivers with their outbox beside the store; None when there are none,
    or when the store is only read here (a viewer posts nothing)."""
    if not config.notify or store.read_only:
        return None
    from zconsole.notify.poster import Notifier

    return Notifier.for_store(config.notify, store)


def services(config: Config, store: IncidentStore | None) -> list[Service]:
    """Every configured service: the outbox sender, the Alertmanager listener, ``/metrics``.

    ``store`` may be None (unavailable) or read-only: then only ``/metrics`` is served, as the
    listener and the outbox write to the store.
    """
    from zconsole.notify.settings import listener_token, parse_listen

    found: list[Service] = []
    sender = notifier(config, store) if store is not None else None
    outbox: OutboxSender | None = None
    if sender is not None:
        from zconsole.notify.poster import OutboxSender

        outbox = OutboxSender(sender, interval=OUTBOX_INTERVAL_S)
        found.append(outbox)
    if config.alertmanager.listen and store is not None and not store.read_only:
        from zconsole.notify.alerts import AlertIntake
        from zconsole.notify.listeners import AlertListener

        def declared(incident: Incident) -> None:
            if sender is not None and outbox is not None:
                sender.lifecycle(incident, declared=True, author="alertmanager")
                outbox.wake()

        host, port = parse_listen(config.alertmanager.listen, what="alertmanager")
        intake = AlertIntake(
            store,
            config.alertmanager,
            scheme=config.incident.severity_scheme,
            on_declared=declared,
        )
        found.append(AlertListener(host, port, intake, token=listener_token(config.alertmanager)))
    if config.metrics.listen:
        from zconsole.notify.listeners import MetricsServer

        host, port = parse_listen(config.metrics.listen, what="metrics")
        found.append(MetricsServer(host, port))
    return found
