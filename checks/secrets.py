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
#: Each known secret as the UTF-8 runs JSON leaves unescaped (split at the characters JSON
#: escapes): a secret in a string of a tree puts every one of its runs in the tree's JSON.
_json_runs: tuple[tuple[bytes, ...], ...] = ()
#: The characters JSON writes as an escape (quote, backslash, controls).
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')

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
    global _by_length, _json_runs
    if value and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _known.add(value)
            _by_length = tuple(sorted(_known, key=len, reverse=True))
            _json_runs = tuple(
                tuple(run.encode() for run in _JSON_ESCAPED.split(secret)) for secret in _by_length
            )


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


#: What the URL pattern needs, in a JSON text: "://", then ":" and later "@" in the same string
#: (a URL with no password, the usual kind, never goes the slow way). "://" is never outside a
#: string in JSON, and neither ":" nor "@" is escaped, so every URL with a password has this.
_JSON_URL_WITH_PASSWORD = re.compile(rb'://(?:[^"\\:]|\\.)*:(?:[^"\\@]|\\.)*@')
#: The keywords as bytes, for the test of an ASCII JSON text.
_KEYWORDS_ASCII = tuple(word.encode() for word in _KEYWORDS)


def might_redact_json(encoded: bytes) -> bool:
    """False when :func:`redact_tree` of the tree ``encoded`` (UTF-8 JSON) is written from would
    change none of its strings: no known secret, no "://" and no keyword is in the text.

    Sound because each test of :func:`redact` is one of "this text is in the string" (a secret,
    "://" with ":" and "@" after it, a keyword in the string's casefold) and JSON writes a
    string's characters as they are except quotes, backslashes and controls, which no keyword
    or "://" contains (a known secret that does is looked for as its runs between them). A
    string a test would catch puts its text in the JSON; the JSON may hold one no string does
    (across two strings, in a number), and then the caller redacts the tree.
    """
    for runs in _json_runs:
        if all(run in encoded for run in runs):
            return True
    if b"://" in encoded and _JSON_URL_WITH_PASSWORD.search(encoded):
        return True
    if encoded.isascii():
        low = encoded.lower()
        return any(word in low for word in _KEYWORDS_ASCII)
    # casefold maps a few non-ASCII letters onto ASCII ones (the Kelvin sign to "k"): the
    # keyword test of redact sees those, so this one does too.
    folded = encoded.decode("utf-8", "surrogatepass").casefold()
    return any(word in folded for word in _KEYWORDS)
