"""The one sanitiser (widgets.text: inert, plain, strip_escapes) and the one redactor
(checks.secrets.redact): every escape a hostile log line can carry, every password syntax.
"""

from __future__ import annotations

import json
import secrets

import pytest
from rich.text import Text

from zconsole.checks.secrets import MASK, password_of_url, redact, register_secret
from zconsole.widgets.text import inert, plain, strip_escapes

ESC = "\x1b"
BEL = "\x07"
ST = ESC + "\\"

# -- sequences that must vanish entirely ----------------------------------------------------------

HOSTILE = [
    pytest.param(f"a{ESC}[2;5Hb{ESC}[1Ac", "abc", id="csi-cursor-moves"),
    pytest.param(f"a{ESC}[2Jb", "ab", id="csi-clear-screen"),
    pytest.param(f"a{ESC}[?1049hb{ESC}[?1000h", "ab", id="csi-private-alt-screen-mouse"),
    pytest.param(f"a{ESC}cb", "ab", id="ris-esc-c"),
    pytest.param(f"a{ESC}(0b", "ab", id="charset-selection"),
    pytest.param(f"a{ESC}]52;c;ZXZpbA=={BEL}b", "ab", id="osc52-bel"),
    pytest.param(f"a{ESC}]52;c;ZXZpbA=={ST}b", "ab", id="osc52-st"),
    pytest.param(f"a{ESC}]0;fake title{BEL}b", "ab", id="osc-window-title"),
    pytest.param(f"{ESC}]8;;http://evil.test/{ST}click{ESC}]8;;{ST} here", "click here", id="osc8"),
    pytest.param(f"a{ESC}P1$qm{ST}b", "ab", id="dcs"),
    pytest.param(f"a{ESC}_apc payload{ST}b", "ab", id="apc"),
    pytest.param("a\x9b2Jb", "ab", id="8bit-csi-with-params"),
    pytest.param("a\x9d52;c;ZXZp\x9cb", "ab", id="8bit-osc-to-8bit-st"),
    pytest.param("a\x9cb\x85c", "abc", id="lone-c1"),
    pytest.param(f"a{ESC}", "a", id="lone-esc-at-end"),
    pytest.param(f"a{ESC}]52;c;never terminated", "a", id="unterminated-osc"),
    pytest.param("a\x00b\x08c\x7fd\re", "abcde", id="c0-del-cr"),
]


@pytest.mark.parametrize(("raw", "expected"), HOSTILE)
def test_plain_drops_every_escape_and_control(raw: str, expected: str) -> None:
    assert plain(raw) == expected
    assert strip_escapes(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), HOSTILE)
def test_inert_drops_them_too_even_with_colour_kept(raw: str, expected: str) -> None:
    shown = inert(raw)
    assert isinstance(shown, Text)
    assert shown.plain == expected
    assert not shown.spans  # nothing in these is colour


def test_nothing_below_space_survives_but_tab_and_newline() -> None:
    every = "".join(chr(c) for c in range(0x00, 0xA0))
    for out in (plain(every), strip_escapes(every, keep_colour=True), inert(every).plain):
        assert {c for c in out if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0} <= {"\t", "\n"}


# -- markup stays text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "[bold red]alarm[/bold red]",
        "[link=https://evil.test/]click[/link]",
        "[@click=app.quit]x[/]",
        "[/]",
        "[reverse]",
    ],
)
def test_markup_is_shown_literally_never_interpreted(raw: str) -> None:
    shown = inert(raw)
    assert shown.plain == raw
    assert not shown.spans
    assert plain(raw) == raw


# -- colour is kept as style ----------------------------------------------------------------------


def test_sgr_colour_becomes_a_style_not_text() -> None:
    shown = inert(f"{ESC}[31mred{ESC}[0m plain")
    assert shown.plain == "red plain"
    assert [(s.start, s.end, str(s.style)) for s in shown.spans] == [(0, 3, "color(1)")]


def test_256_colour_and_bold_are_kept() -> None:
    shown = inert(f"{ESC}[1;38;5;196mhot{ESC}[0m")
    assert shown.plain == "hot"
    (span,) = shown.spans
    assert "bold" in str(span.style) and "color(196)" in str(span.style)


def test_colour_off_drops_the_sgr_as_well() -> None:
    shown = inert(f"{ESC}[31mred{ESC}[0m", colour=False)
    assert shown.plain == "red" and not shown.spans
    assert strip_escapes(f"{ESC}[31mred{ESC}[0m") == "red"
    assert strip_escapes(f"{ESC}[31mred", keep_colour=True) == f"{ESC}[31mred"


def test_colour_kept_while_markup_beside_it_stays_literal() -> None:
    shown = inert(f"{ESC}[1m[bold]x{ESC}[0m [link=http://e.test]y[/link]")
    assert shown.plain == "[bold]x [link=http://e.test]y[/link]"
    assert [str(s.style) for s in shown.spans] == ["bold"]


def test_only_sgr_is_let_through_not_other_csi() -> None:
    kept = strip_escapes(f"{ESC}[31mx{ESC}[2J{ESC}[5Ay{ESC}[0m", keep_colour=True)
    assert kept == f"{ESC}[31mxy{ESC}[0m"


# -- shape options --------------------------------------------------------------------------------


def test_single_line_shows_newlines_and_does_not_wrap() -> None:
    shown = inert("SELECT 1\nFROM t\r\nWHERE x", single_line=True)
    assert shown.plain == "SELECT 1⏎FROM t⏎WHERE x"
    assert shown.no_wrap


def test_tabs_become_spaces_and_crlf_a_newline() -> None:
    assert inert("a\tb\r\nc").plain == "a    b\nc"
    assert plain("a\r\nb") == "a\nb"


def test_max_len_cuts_with_an_ellipsis_including_coloured_text() -> None:
    assert inert("x" * 100, max_len=10).plain == "x" * 9 + "…"
    assert plain("x" * 100, max_len=10) == "x" * 9 + "…"
    coloured = inert(f"{ESC}[31m" + "y" * 50, max_len=5)
    assert coloured.plain == "yyyy…"


def test_empty_and_none() -> None:
    assert inert(None).plain == "" and inert("").plain == ""
    assert plain(None) == "" and plain("") == ""


@pytest.mark.timeout(60)  # a hang guard, not a speed figure: a regex blow-up takes many minutes
def test_huge_hostile_input_is_bounded() -> None:
    shown = inert((f"{ESC}]52;c;" + "A" * 1000 + BEL) * 2000 + "tail", max_len=50)
    assert len(shown.plain) <= 50
    assert ESC not in shown.plain


# -- redact: URL passwords ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://app:pw1@db:5432/app", f"postgresql://app:{MASK}@db:5432/app"),
        ("redis://:s3cret@127.0.0.1:6379/0", f"redis://:{MASK}@127.0.0.1:6379/0"),
        ("rediss://default:p%40ss%2Fw@h:6380", f"rediss://default:{MASK}@h:6380"),
        ("redis://:p@ss@h:6379/0", f"redis://:{MASK}@h:6379/0"),  # raw "@" in the password
        ("amqp://u:s3cr#t@h/vh", f"amqp://u:{MASK}@h/vh"),
        ("https://u:pw@h/path@x", f"https://u:{MASK}@h/path@x"),
        (
            "a redis://:one@h1/0 and redis://:two@h2/0",
            f"a redis://:{MASK}@h1/0 and redis://:{MASK}@h2/0",
        ),
        (f"{ESC}[32mpostgres://u:pw9@h/db", f"{ESC}[32mpostgres://u:{MASK}@h/db"),
    ],
)
def test_url_passwords_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com/a@b",
        "mailto:me@example.com",
        "ssh://git@github.com/x.git",
        "user@host:22",
        "http://host:8080/health",
    ],
)
def test_text_without_a_url_password_is_untouched(text: str) -> None:
    assert redact(text) == text


def test_password_of_url_decodes_for_registration() -> None:
    assert password_of_url("postgresql://u:p%40ss%20w@h/db") == "p@ss w"
    assert password_of_url("redis://:p@ss@h:6379/0") == "p@ss"
    assert password_of_url("postgresql://u@h/db") is None


# -- redact: keyword forms ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("host=db password='x y' user=app", f"host=db password={MASK} user=app"),
        ('host=db password="x y" user=app', f"host=db password={MASK} user=app"),
        ("host=db password=plain user=app", f"host=db password={MASK} user=app"),
        ("PASSWORD = hunter2", f"PASSWORD = {MASK}"),
        ("CONFIG requirepass:abc", f"CONFIG requirepass:{MASK}"),
        ("/health?token=abc&x=1", f"/health?token={MASK}&x=1"),
        ("/cb?access_token=abc&x=1", f"/cb?access_token={MASK}&x=1"),
        ("client_secret: s3", f"client_secret: {MASK}"),
        ("X-Auth-Token: abcdef", f"X-Auth-Token: {MASK}"),
        ("token_count=5", "token_count=5"),
    ],
)
def test_keyword_passwords_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redacting_serialised_json_keeps_it_valid() -> None:
    data = {
        "url": "http://ops:pw@h:1/?token=abc",
        "dsn": "host=h password=x",
        "redis": "redis://:pw@h",
        "mail": "me@example.com",
    }
    out = redact(json.dumps(data))
    back = json.loads(out)  # no closing quote eaten, no string run into the next
    assert back == {
        "url": f"http://ops:{MASK}@h:1/?token={MASK}",
        "dsn": f"host=h password={MASK}",
        "redis": f"redis://:{MASK}@h",
        "mail": "me@example.com",
    }


# -- redact: registered secrets -------------------------------------------------------------------


def test_registered_secret_is_masked_anywhere() -> None:
    secret = f"reg-{secrets.token_hex(6)}"
    assert redact(f"auth failed for {secret}!") == f"auth failed for {secret}!"
    register_secret(secret)
    assert redact(f"auth failed for {secret}!") == f"auth failed for {MASK}!"
    assert redact(f"{secret}{secret}") == MASK + MASK


def test_longest_registered_secret_wins() -> None:
    short = f"s{secrets.token_hex(3)}"
    register_secret(short)
    register_secret(short + "-longer")
    assert redact(f"x {short}-longer y") == f"x {MASK} y"


def test_too_short_or_empty_secrets_are_not_registered() -> None:
    register_secret("ab")
    register_secret("")
    register_secret(None)
    assert redact("ab cab") == "ab cab"


@pytest.mark.timeout(60)  # a hang guard: the former quadratic scan took minutes on these
def test_redact_finishes_on_long_unbroken_text() -> None:
    blob = "a://b:" + "x" * 200_000  # a scheme, then no "@"
    letters = "Zm9v" * 50_000  # base64-ish run with no "://" at all
    assert redact(blob) == blob
    assert redact(letters) == letters


def test_bidi_overrides_are_dropped() -> None:
    from zconsole.widgets.text import inert as _inert

    shown = _inert("admin\u202e gnp.exe\u2066x\u2069").plain
    assert "\u202e" not in shown and "\u2066" not in shown and "\u2069" not in shown
    assert shown == "admin gnp.exex"
