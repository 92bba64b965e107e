"""The recording's and the attach socket's redaction without the walk: the same bytes as the walk.

The codec encodes a poll once and walks it string by string only when its JSON holds something
redaction could touch (checks/secrets.might_redact_json). These tests hold the short cut to the
walk it replaces: for generated trees of hostile strings, and for every source's records.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.screen_data import all_snapshots
from zconsole.checks.secrets import MASK, might_redact_json, redact_tree, register_secret
from zconsole.recording import codec

#: Secrets with the characters JSON escapes (a quote, a backslash, a control) and plain ones.
SECRETS = ('pa"ss\\wo\x01rd', "hunter2pw", "s3cr€t-ключ")
for _secret in SECRETS:
    register_secret(_secret)

#: Pieces that make redaction fire, or nearly: URL forms with and without a password, the
#: keywords (one with the Kelvin sign, which casefolds to "k"), JSON's escaped characters.
PIECES = [
    *SECRETS,
    "postgresql://app:pw@db/x",
    "redis://:pw@cache:6379",
    "http://127.0.0.1:8080/health",
    "unix:///run/docker.sock",
    "://",
    ":",
    "@",
    "password=abc",
    "PASSWORD 'x'",
    "to\u212aen: abc",
    "secret",
    "pwd",
    '"',
    "\\",
    "\n",
    "\x00",
    " ",
    "é",
]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=6).map("".join)
TREES = st.recursive(
    st.one_of(TEXT, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(TEXT, inner, max_size=5)),
    max_leaves=30,
)

_encoder = msgspec.json.Encoder()


def walked(tree: Any) -> bytes:
    """What the codec wrote before the short cut: every string through redact."""
    return _encoder.encode(redact_tree(msgspec.to_builtins(tree)))


@settings(max_examples=400, deadline=None)
@given(tree=TREES)
@example(tree={"q": "x" + SECRETS[0]})
@example(tree=["a:b", "c@d", "e://f"])  # a ":" and an "@" in other strings: not a URL
@example(tree={"cmd": "docker -H unix:///run/d.sock --user x@y"})
@example(tree={"k": "pa\u017f\u017fword=abc"})  # the long s: "ss" to casefold and to re
def test_the_short_cut_writes_what_the_walk_writes(tree: Any) -> None:
    assert codec.redacted_json(tree) == walked(tree)
    if walked(tree) != _encoder.encode(tree):
        assert might_redact_json(_encoder.encode(tree)), "something to redact went unseen"


def test_every_sources_records_encode_as_their_builtins() -> None:
    # The short cut encodes the records themselves; the walk encodes their builtins.
    for snapshot in all_snapshots():
        assert _encoder.encode(snapshot.data) == _encoder.encode(msgspec.to_builtins(snapshot.data))
        assert codec.redacted_json(snapshot.data) == walked(snapshot.data)


def test_a_secret_in_a_record_is_masked_in_the_body() -> None:
    snapshot = next(s for s in all_snapshots() if s.check == "postgres")
    data = snapshot.data
    assert data is not None
    session = dataclasses.replace(data.long_queries[0], query=f"SELECT '{SECRETS[0]}'")
    leaky = dataclasses.replace(data, long_queries=(session, *data.long_queries[1:]))
    body = codec.encode_body(dataclasses.replace(snapshot, data=leaky))
    assert SECRETS[0].encode() not in body
    assert _encoder.encode(MASK)[1:-1] in body
    assert codec.redacted_json(leaky) == walked(leaky)
