"""Credentials in HTTP endpoint config: found, registered with the one redactor, masked in URLs.

Kept apart from the check (no httpx import) because config loading registers them too and must
not pay for an HTTP client.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from zconsole.checks.http_settings import EndpointSettings
from zconsole.checks.secrets import MASK, redact, register_secret

#: Query parameters whose values are credentials (?token=, ?api_key=, ?sig= ...).
_SECRET_PARAM = re.compile(r"(?i)pass|pwd|secret|token|key|auth|sig|session|credential|code")
#: Header names whose values are credentials.
_SECRET_HEADER = re.compile(r"(?i)authorization|cookie|token|key|secret|auth|session|pass")

# -- secrets in URLs ------------------------------------------------------------------------------


def url_secrets(url: str) -> list[str]:
    """Credential values in a URL: the userinfo password (or a bare token user) and secret-looking
    query values, raw and percent-decoded, for :func:`register_secret`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        # No password: the user part is a token (https://TOKEN@host), as GitHub-style URLs do.
        secret = password if colon else user
        found += [secret, unquote_plus(secret)]
    for pair in parts.query.split("&"):
        key, eq, value = pair.partition("=")
        if eq and value and _SECRET_PARAM.search(unquote_plus(key)):
            decoded = unquote_plus(value)
            found += [value, decoded, quote(decoded, safe="")]
    return [s for s in dict.fromkeys(found) if s]


def register_endpoint_secrets(endpoint: EndpointSettings) -> None:
    """Register every credential of an endpoint (URL and headers) with the one redactor."""
    for secret in url_secrets(endpoint.url):
        register_secret(secret)
    for name, value in endpoint.headers.items():
        if _SECRET_HEADER.search(name):
            register_secret(value)
            # "Bearer abc…": the token alone may show up too (echoed in an error body).
            scheme, _, token = value.partition(" ")
            if token and scheme.isalpha():
                register_secret(token.strip())


def display_url(url: str) -> str:
    """A URL as it may be shown: the password, a bare token user and secret query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon else f"{MASK}@{hostport}"
    pairs = []
    for pair in parts.query.split("&") if parts.query else []:
        key, eq, value = pair.partition("=")
        masked = eq and value and _SECRET_PARAM.search(unquote_plus(key))
        pairs.append(f"{key}={MASK}" if masked else pair)
    shown = urlunsplit((parts.scheme, netloc, parts.path, "&".join(pairs), parts.fragment))
    return redact(shown)
