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
#: The known secrets, longest first (a secret inside a longer one is replaced after it). Sorted
#: when one is registered, not on every call: the recorder redacts every string of every poll.
_by_length: tuple[str, ...] = ()

# scheme://user:password@host  ->  scheme://user:***@host. The password runs to the LAST "@"
# before the host, as urllib and the drivers parse it: a raw "@" in a password ("p@ss") is common.
# Quotes end a URL, so redacting serialised JSON never runs from one string into the next.
_URL_PASSWORD = re.compile(
    # Anchored on "://" (the scheme is only looked behind at): matching the scheme itself made
    # every letter of a long run (a base64 blob in a log line) start a scan, quadratic time.
    r"(?<=[a-zA-Z0-9+.-])(?P<head>://[^:/?#@\s]*:)"
    r"(?P<pw>[^\s/\"']+)(?=@[^@\s/?#\"']*(?:[/?#\s\"']|$))"
)
#: The names a secret goes by in keyword syntax (lower case).
_KEYWORDS = ("password", "passwd", "pwd", "requirepass", "token", "secret")
# libpq keyword form and friends: password=secret, password='se cret'
_KEYWORD_PASSWORD = re.compile(
    # Also as the tail of a longer name: access_token=, client_secret=, X-Auth-Token:.
    rf"(?P<head>(?:\b|(?<=[_-]))(?:{'|'.join(_KEYWORDS)})\s*[=:]\s*)"
    # An unquoted value stops at a quote: redacting serialised JSON must not eat its closing one.
    r"(?P<pw>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s,;&'\"]+)",
    re.IGNORECASE,
)
# SQL: CREATE/ALTER ROLE ... [ENCRYPTED] PASSWORD 'secret' (also E'...' and $tag$...$tag$), as
# query text in pg_stat_activity and pg_stat_statements shows it. A literal never runs past a
# line end: pg_stat_activity cuts long query text mid-literal, and the rest of a line is masked
# then, but never the next field of indented JSON.
_SQL_PASSWORD = re.compile(
    r"(?P<head>\bpassword\s+)"
    r"(?P<pw>[eE]?'(?:[^'\\\n]|''|\\.)*(?:'|(?=\n)|\Z)"
    r"|\$(?P<tag>[A-Za-z_]\w*|)\$.*?(?:\$(?P=tag)\$|(?=\n)|\Z))",
    re.IGNORECASE,
)
# A secret shorter than this is too likely to match ordinary text to be replaced blindly.
_MIN_SECRET_LEN = 3


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is masked wherever it later appears."""
    global _by_length
    if value and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _known.add(value)
            _by_length = tuple(sorted(_known, key=len, reverse=True))


def known_secrets() -> frozenset[str]:
    """Every secret registered so far (discovery run in a child process hands them over)."""
    with _lock:
        return frozenset(_known)


def redact(text: str) -> str:
    """Mask every known secret and every password in URL, keyword or SQL ``PASSWORD '…'`` syntax."""
    if not text:
        return text
    for secret in _by_length:  # one tuple, replaced whole when a secret is registered
        if secret in text:
            text = text.replace(secret, MASK)
    # Cheap tests first: every query text of every session passes through here on each poll.
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    low = text.casefold()
    if any(word in low for word in _KEYWORDS):  # text with none of them skips both patterns
        text = _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
        if "password" in low:
            text = _SQL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return text


def password_of_url(url: str) -> str | None:
    """The password part of a URL-style DSN, if any (for :func:`register_secret`)."""
    match = _URL_PASSWORD.search(url)
    if match is None:
        return None
    from urllib.parse import unquote

    return unquote(match.group("pw"))


def redact_tree(value: object) -> object:
    """Every string (keys too) of a JSON-like structure through :func:`redact`.

    Redact before serialising: JSON escaping can hide a secret that contains a quote or a
    backslash from a search of the serialised text.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): redact_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v) for v in value]
    return value
