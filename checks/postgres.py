"""postgres check — being built in its own issue; until then it reports that it is pending."""

from __future__ import annotations

from zconsole.checks.base import Check, Status

from zconsole.config import PostgresConfig


class PostgresCheck(Check[None]):
    name = "postgres"
    title = "postgres"

    def __init__(
        self, config: PostgresConfig, dsn: str, *, interval: float = 2.0, timeout: float = 5.0
    ) -> None:
        super().__init__(interval=interval, timeout=timeout)
        self.config = config

    def probe(self) -> tuple[Status, str, None]:
        return Status.UNKNOWN, "collector not built yet", None
