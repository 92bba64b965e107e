"""The ``[http]`` settings: the endpoints to watch and the thresholds. No HTTP client here:
config loading reads this without it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointSettings:
    url: str
    name: str = ""
    expect_status: int | None = None
    expect_text: str = ""
    follow_redirects: bool = False
    timeout: float = 5.0
    #: Verify the TLS chain (turn off only for self-signed internal endpoints).
    verify: bool = True
    #: CA bundle (PEM) for endpoints signed by a private CA; empty means the default bundle.
    ca_file: str = ""
    #: Extra request headers, e.g. the runbooks' `curl -H "Authorization: Bearer TOKEN"`.
    #: Values of credential-looking headers are registered as secrets and never shown.
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    endpoints: list[EndpointSettings] = field(default_factory=list)
    interval: float | None = None
    timeout: float | None = None
    latency_warn_ms: float = 1000.0
    cert_warn_days: float = 14.0
    cert_crit_days: float = 3.0
