"""The one redaction function for secrets.

Passwords reach zconsole through DSNs, Redis URLs and config. Every value that could be shown,
recorded or exported passes through :func:`redact` first. Two layers: every secret value seen
while loading config is registered and replaced wherever it appears, and URL/DSN password syntax
is masked even for secrets we were never told about.
"""

from __future__ import annotations

import re
import threading

MASK = "***"

_lock = threading.Lock()
_known: set[str] = set()

# scheme://user:password@host  ->  scheme://user:***@host
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@\s]*:)(?P<pw>[^@\s/]+)(?=@)")
# libpq keyword form and friends: password=secret, password='se cret'
_KEYWORD_PASSWORD = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|requirepass|token|secret)\s*[=:]\s*)"
    r"(?P<pw>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s,;&]+)",
    re.IGNORECASE,
)
# A secret shorter than this is too likely to match ordinary text to be replaced blindly.
_MIN_SECRET_LEN = 3


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is masked wherever it later appears."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    """Mask every known secret and every password in URL or keyword syntax."""
    if not text:
        return text
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, text)


def password_of_url(url: str) -> str | None:
    """The password part of a URL-style DSN, if any (for :func:`register_secret`)."""
    match = _URL_PASSWORD.search(url)
    if match is None:
        return None
    from urllib.parse import unquote

    return unquote(match.group("pw"))
