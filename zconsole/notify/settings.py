"""Settings of the notify side: ``[[notify]]`` receivers, ``[alertmanager]`` and ``[metrics]``.

Decoded by ``zconsole.config`` like every other section; kept here, beside the code that uses
them, so that config imports notify and never the reverse. A webhook URL is a credential in
itself (whoever has a Slack or Discord webhook URL may post as us), so every secret-looking part
of it is registered with the one redactor where it enters: here, while the config loads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import msgspec

from zconsole.checks.secrets import register_secret

#: Every receiver kind; each has a payload builder in ``zconsole.notify.payloads``.
KINDS: tuple[str, ...] = ("slack", "mattermost", "discord", "teams", "webhook", "statuspage")
NotifyKind = Literal["slack", "mattermost", "discord", "teams", "webhook", "statuspage"]
#: A URL part this long is a token (Slack's, Discord's, Mattermost's keys, Teams' sig) and is
#: masked wherever it shows up; shorter parts ("services", "api-version") are ordinary words.
_TOKEN_MIN_LEN = 16


class NotifySettingsError(ValueError):
    """A ``[[notify]]`` / ``[alertmanager]`` problem, as one line (config turns it into a
    ConfigError)."""


class _Settings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pass


class NotifyTarget(_Settings, frozen=True):
    """One receiver of status updates."""

    kind: NotifyKind
    #: Shown in the timeline and the `u` screen ("ops-slack"); defaults to the kind.
    name: str = ""
    #: The webhook URL (Statuspage: ``https://api.statuspage.io/v1/pages/PAGE_ID``). Better kept
    #: out of the config file: ``url_env`` names an environment variable, ``url_file`` a file.
    url: str = ""
    url_env: str = ""
    url_file: str = ""
    #: Statuspage's API key (sent as ``Authorization: OAuth KEY``); for ``webhook`` an optional
    #: bearer token. Same three ways to give it.
    token: str = ""
    token_env: str = ""
    token_file: str = ""
    #: Also post each declaration and status change, not only the updates posted by hand.
    #: Default: on for a status page (it creates the incident and follows it), off for chat.
    follow_status: bool | None = None
    #: Also get the status updates posted from `u` / `incidents update --post`. Default: on for
    #: chat; off for a status page, which is public while the updates are written for the team
    #: (responders, actions taken): it shows its own line for each status change instead.
    post_updates: bool | None = None

    @property
    def takes_updates(self) -> bool:
        if self.post_updates is None:
            return self.kind != "statuspage"
        return self.post_updates

    @property
    def follows_status(self) -> bool:
        if self.follow_status is None:
            return self.kind == "statuspage"
        return self.follow_status

    #: Seconds for one attempt (connect and read).
    timeout: float = 10.0


class AlertmanagerSettings(_Settings, frozen=True):
    """The webhook listener for Alertmanager (v4 payloads) and Grafana alerting."""

    #: ``"127.0.0.1:9095"``; empty means no listener.
    listen: str = ""
    #: When set, a request must carry ``Authorization: Bearer TOKEN`` (Alertmanager's
    #: ``http_config.authorization``; Grafana's webhook "Authorization header").
    token: str = ""
    token_env: str = ""
    token_file: str = ""
    #: Declare an incident for a firing alert whose labels all match these (label = regular
    #: expression, matched in full as Alertmanager's ``=~``), when none is open. Empty: never.
    declare_when: dict[str, str] = msgspec.field(default_factory=dict)
    #: Which label carries the alert's severity, and what it becomes in zconsole's scheme.
    severity_label: str = "severity"
    severity_map: dict[str, str] = msgspec.field(
        default_factory=lambda: {"critical": "P1", "page": "P1", "warning": "P2", "info": "P3"}
    )
    default_severity: str = "P2"


class MetricsSettings(_Settings, frozen=True):
    """``/metrics`` for Prometheus."""

    #: ``"127.0.0.1:9096"``; empty means not served.
    listen: str = ""


def secret_value(
    inline: str, env_name: str, file_name: str, *, what: str, env: Mapping[str, str] | None = None
) -> str:
    """A secret given inline, by environment variable or by file (whitespace stripped)."""
    env = os.environ if env is None else env
    if file_name:
        try:
            return Path(file_name).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise NotifySettingsError(
                f"{what}_file {file_name}: cannot read: {exc.strerror or exc}"
            ) from None
    if env_name:
        value = env.get(env_name, "").strip()
        if not value:
            raise NotifySettingsError(f"{what}_env {env_name}: not set in the environment")
        return value
    return inline.strip()


def target_url(target: NotifyTarget, env: Mapping[str, str] | None = None) -> str:
    return secret_value(target.url, target.url_env, target.url_file, what="url", env=env)


def target_token(target: NotifyTarget, env: Mapping[str, str] | None = None) -> str:
    return secret_value(target.token, target.token_env, target.token_file, what="token", env=env)


def listener_token(settings: AlertmanagerSettings, env: Mapping[str, str] | None = None) -> str:
    return secret_value(
        settings.token, settings.token_env, settings.token_file, what="token", env=env
    )


def target_names(targets: list[NotifyTarget]) -> list[str]:
    """Each receiver's name: its own, else its kind (numbered when a kind repeats)."""
    names: list[str] = []
    for target in targets:
        base = target.name or target.kind
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names


def url_secrets(url: str) -> list[str]:
    """The parts of a webhook URL that are credentials: everything after the host, the
    userinfo, and each path segment or query value, when long enough to be a token (raw and
    percent-decoded)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found: list[str] = []
    # Only parts long enough to be tokens: a short path ("/zc", "/hooks") is also ordinary text
    # (a file name, a word), and masking it everywhere would garble unrelated output.
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    found += [part for part in (tail, parts.query) if len(part) >= _TOKEN_MIN_LEN]
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        found += [p for p in userinfo.split(":") if p]
    pieces = parts.path.split("/") + [
        pair.partition("=")[2] for pair in parts.query.split("&") if pair
    ]
    for piece in pieces:
        if len(piece) >= _TOKEN_MIN_LEN:
            found += [piece, unquote(piece)]
    return [s for s in dict.fromkeys(found) if s]


def display_url(url: str) -> str:
    """What may be shown of a webhook URL: scheme and host only."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(invalid URL)"
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def register_settings_secrets(
    targets: list[NotifyTarget],
    alertmanager: AlertmanagerSettings,
    env: Mapping[str, str] | None = None,
) -> None:
    """Check every receiver can be resolved, and register each credential with the redactor."""
    for name, target in zip(target_names(targets), targets, strict=True):
        try:
            url = target_url(target, env)
            token = target_token(target, env)
        except NotifySettingsError as exc:
            raise NotifySettingsError(f"notify {name}: {exc}") from None
        for secret in url_secrets(url):
            register_secret(secret)
        register_secret(token)
        if not url:
            raise NotifySettingsError(f"notify {name}: url (or url_env, url_file) is required")
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise NotifySettingsError(f"notify {name}: url must be http:// or https://")
        if target.kind == "statuspage" and not token:
            raise NotifySettingsError(
                f"notify {name}: statuspage needs its API key (token, token_env or token_file)"
            )
    try:
        register_secret(listener_token(alertmanager, env))
    except NotifySettingsError as exc:
        raise NotifySettingsError(f"alertmanager: {exc}") from None


def parse_listen(text: str, *, what: str) -> tuple[str, int]:
    """``"127.0.0.1:9095"`` / ``"[::1]:9095"`` → (host, port); port 0 picks a free one."""
    host, colon, port = text.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise NotifySettingsError(
            f"{what}.listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9095"
        )
    return host, int(port)


def check_listeners(alertmanager: AlertmanagerSettings, metrics: MetricsSettings) -> None:
    if alertmanager.listen:
        parse_listen(alertmanager.listen, what="alertmanager")
    if metrics.listen:
        parse_listen(metrics.listen, what="metrics")
