"""Property tests: generated passwords and hostile strings through every output path.

Passwords: printable ASCII and Unicode, every URL-reserved character included, given in each way
a password enters (a raw and an encoded URL, a libpq keyword DSN, PGPASSWORD, flags, the config
file). Whatever comes out — `zconsole config`, the plain and JSON snapshot, the one-line refusal,
the timeline, the Markdown and JSON export, the evidence bundle, the audit log, the screen —
holds neither the password nor any 4-character piece of it, and nothing raises.

Hostile strings (C0/C1 controls, CSI/OSC/DCS/APC/PM sequences, Rich and Textual markup, bidi
overrides, zero-width characters) in every outside field: the plain snapshot, `config` and the
screen emit no ESC but SGR colour. Example counts are kept small: these run in CI on every push.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import os
import re
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests import services
from tests.screen_data import all_snapshots
from zconsole import cli
from zconsole.actions import Action, Outcome, Risk
from zconsole.audit import AuditLog
from zconsole.checks.base import CheckResult, Snapshot
from zconsole.config import load_config
from zconsole.evidence import write_bundle
from zconsole.export import incident_json, postmortem_markdown
from zconsole.registry import build_checks
from zconsole.scheduler import collect_all
from zconsole.store import IncidentStore

ESC = "\x1b"
#: RFC 3986 gen-delims and sub-delims, the escape character itself, and what a URL may not hold.
URL_RESERVED = ":/?#[]@!$&'()*+,;=%"
URL_UNSAFE = ' "<>\\^`{|}'
_PRINTABLE_UNICODE = st.characters(
    # Printable: no controls, surrogates, private use, unassigned, format (bidi, zero-width)
    # or line/paragraph separators; those are hostile text, tested below.
    exclude_categories=("Cc", "Cs", "Co", "Cn", "Cf", "Zl", "Zp"),
)
PASSWORDS = st.text(
    st.one_of(
        st.sampled_from(URL_RESERVED + URL_UNSAFE),
        st.characters(min_codepoint=0x21, max_codepoint=0x7E),
        _PRINTABLE_UNICODE,
    ),
    min_size=8,
    max_size=20,
)
#: Volatile figures (times, durations, percentages) can hold any run of these by chance.
_NUMERIC = re.compile(r"[0-9.:+\-% T]+")
SETTINGS = settings(
    max_examples=int(os.environ.get("ZCONSOLE_PROPERTY_EXAMPLES", "20")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def fragments(password: str) -> set[str]:
    """Every 4-character piece (a longer piece always holds one), but purely numeric ones."""
    pieces = {password[i : i + 4] for i in range(len(password) - 3)}
    return {p for p in pieces if not _NUMERIC.fullmatch(p)}


def assert_no_leak(password: str, text: str, where: str, baseline: str = "") -> None:
    assert password not in text, f"{where}: the whole password"
    leaked = sorted(p for p in fragments(password) if p in text and p not in baseline)
    assert not leaked, f"{where}: fragments {leaked!r} of the password in {text!r}"


@contextlib.contextmanager
def environment(env: dict[str, str], cwd: Path) -> Iterator[None]:
    clear = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "REDIS")) and k not in ("DATABASE_URL", "DOCKER_HOST")
    }
    old = os.getcwd()
    with mock.patch.dict(os.environ, {**clear, **env}, clear=True):
        os.chdir(cwd)
        try:
            yield
        finally:
            os.chdir(old)


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def libpq_quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def ways_in(
    password: str, pg_port: int, redis_port: int
) -> list[tuple[str, dict[str, str], list[str], str]]:
    """(name, environment, flags, zconsole.toml) for each way a password enters."""
    encoded = quote(password, safe="")
    docker_off = "[docker]\nenabled = false\n"
    return [
        (
            "raw URLs in DATABASE_URL and REDIS_URL",
            {
                "DATABASE_URL": f"postgresql://app:{password}@127.0.0.1:{pg_port}/db",
                "REDIS_URL": f"redis://:{password}@127.0.0.1:{redis_port}/0",
            },
            [],
            docker_off,
        ),
        (
            "encoded URLs in flags",
            {},
            [
                f"--database-url=postgresql://app:{encoded}@127.0.0.1:{pg_port}/db",
                f"--redis-url=redis://default:{encoded}@127.0.0.1:{redis_port}/0",
            ],
            docker_off,
        ),
        (
            "keyword DSN and encoded URL in zconsole.toml",
            {},
            [],
            docker_off
            + "[postgres]\ndsn = "
            + toml_string(
                f"host=127.0.0.1 port={pg_port} user=app password={libpq_quoted(password)}"
            )
            + "\n[redis]\nurl = "
            + toml_string(f"redis://:{encoded}@127.0.0.1:{redis_port}/0")
            + "\n",
        ),
        (
            "PGPASSWORD with PGHOST",
            {"PGHOST": "127.0.0.1", "PGPORT": str(pg_port), "PGPASSWORD": password},
            [],
            docker_off,
        ),
    ]


def discover_output(found: Any, tmp: Path) -> str:
    """`zconsole discover` and `discover --json` listing ``found``, as the command prints them."""
    import argparse

    from zconsole import discover_cli

    shown = []
    for as_json in (False, True):
        args = argparse.Namespace(project=tmp, json=as_json, write=None)
        out, err = io.StringIO(), io.StringIO()
        with (
            mock.patch.object(discover_cli, "run_discovery", return_value=found),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            assert discover_cli.discover_command(load_config(env={}, cwd=tmp), args) == 0
        shown.append(out.getvalue() + err.getvalue())
    return "\n".join(shown)


def discovered_with(password: str, text: str = "db") -> Any:
    """What discovery could find on a host: a container's PostgreSQL, with its password."""
    from zconsole.discovery import Discovery
    from zconsole.discovery.candidates import Candidate

    url = f"postgresql://app:{quote(password, safe='')}@127.0.0.1:5433/app"
    found = Candidate(
        kind="postgres",
        url=url,
        origin=f"container {text}",
        route=f"published port 127.0.0.1:5433 {text}",
        project=text,
        service=text,
        container_name=text,
        named_by=f"DATABASE_URL of {text}",
        notes=(f"password from POSTGRES_PASSWORD_FILE {text}",),
    )
    return Discovery(candidates=(found,), project=text, problems=(f"{text}: not read",))


def every_output(config: Any, tmp: Path, password: str) -> dict[str, str]:
    """Each output path for one effective config, as text."""
    checks = build_checks(config, single_poll=True)
    snapshots: dict[str, Snapshot[Any]] = asyncio.run(collect_all(checks))
    report = cli.snapshot_report([c.name for c in checks], snapshots)
    outputs = {
        "snapshot": cli.render_snapshot(report, as_json=False),
        "snapshot --json": cli.render_snapshot(report, as_json=True),
    }
    errors = " | ".join(s.error or "" for s in snapshots.values())
    store = IncidentStore(tmp / "store.db")
    incident = store.declare(title="db down", severity="P2", author="me")
    # A responder pastes what they tried into a note: the DSN, the error, the password itself.
    store.add_entry(
        incident.id, "note", f"{config.postgres.dsn} {config.redis.url} {errors} {password}", "me"
    )
    entries = store.entries(incident.id)
    outputs["timeline"] = "\n".join(e.text for e in entries)
    outputs["export"] = postmortem_markdown(store.get(incident.id), entries)
    outputs["export --json"] = json.dumps(incident_json(store.get(incident.id), entries))
    _, files = write_bundle(tmp / "evidence", incident.id, snapshots, {"note.txt": errors})
    outputs["evidence"] = "\n".join(f.read_text() for f in files)
    audit = AuditLog(tmp / "audit.jsonl")
    action = Action(
        name="postgres.terminate",
        title="Terminate backend",
        target="pid 1",
        risk=Risk.DISRUPTIVE,
        preview=f"SELECT pg_terminate_backend(1) -- {config.postgres.dsn}",
        execute=lambda: "",
        source="postgres",
    )
    audit.write(action, Outcome.FAILED, errors + " " + password)
    outputs["audit"] = (tmp / "audit.jsonl").read_text()
    outputs["discover"] = discover_output(discovered_with(password), tmp)
    store.close()
    return outputs


@pytest.fixture(scope="module")
def closed_ports() -> tuple[int, int]:
    return services.closed_port(), services.closed_port()


#: A password none of whose pieces is a word: the outputs it gives are the baseline a piece of
#: a generated password is compared with ("rmin" is in "terminate" whatever the password).
SENTINEL = "Zq8Wv7Xy"


def outputs_of(password: str, way: int, ports: tuple[int, int], tmp: Path) -> dict[str, str]:
    """Every output for ``password`` entered the ``way``-th way; "refusal" when refused."""
    name, env, flags, toml = ways_in(password, *ports)[way]
    (tmp / "zconsole.toml").write_text(toml, encoding="utf-8")
    with environment(env, tmp):
        code, shown, err = run_main([*flags, "config"])
        if code != 0:
            # Refused: one line that says how to write it, never the password.
            assert code == 2 and shown == "", (name, err)
            assert len(err.splitlines()) == 1 and "as %" in err, (name, err)
            return {"refusal": err}
        assert err == "", (name, err)
        config = load_config(flags=cli._flags(cli.build_parser().parse_args(flags)))
        return {"config": shown, **every_output(config, tmp, password)}


@pytest.fixture(scope="module")
def baselines(closed_ports: tuple[int, int], tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return [
        "\n".join(outputs_of(SENTINEL, way, closed_ports, tmp_path_factory.mktemp("base")).values())
        for way in range(len(ways_in(SENTINEL, *closed_ports)))
    ]


#: Always tried, whatever is generated: every reserved character at once, and non-ASCII text.
EVERY_RESERVED = "Ab" + URL_RESERVED + URL_UNSAFE + "Z9"
UNICODE = "pässwörd€漢字🔑"


@SETTINGS
@given(password=PASSWORDS)
@example(password=EVERY_RESERVED)
@example(password=UNICODE)
@example(password="S3cr@tPw9")
def test_no_output_path_holds_a_generated_password(
    password: str,
    tmp_path_factory: pytest.TempPathFactory,
    closed_ports: tuple[int, int],
    baselines: list[str],
) -> None:
    for way, baseline in enumerate(baselines):
        outputs = outputs_of(password, way, closed_ports, tmp_path_factory.mktemp("way"))
        for where, text in outputs.items():
            assert_no_leak(password, text, f"way {way}: {where}", baseline)


def screen_text(app: Any) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def polled(app: Any) -> bool:
    return all(app.latest_result(n) is not None for n in ("postgres", "redis"))


def screen_of(password: str, ports: tuple[int, int], tmp: Path) -> str:
    """The console's screen once PostgreSQL and Redis (both refusing) have been polled."""
    from tests.pilot import wait_until
    from zconsole.app import ZConsoleApp

    _, env, flags, _ = ways_in(password, *ports)[1]
    with environment(env, tmp):
        config = load_config(
            flags={
                **cli._flags(cli.build_parser().parse_args(flags)),
                "general": {"store": str(tmp / "store.db")},
            },
            env={},
        )
    texts = []

    async def run() -> None:
        for size in ((200, 60), (80, 24)):
            app = ZConsoleApp(config, build_checks(config), hostname="web-01")
            async with app.run_test(size=size) as pilot:
                await wait_until(pilot, partial(polled, app))
                await pilot.press("3")
                await pilot.pause()
                texts.append(screen_text(app))
                await pilot.press("4")
                await pilot.pause()
                texts.append(screen_text(app))

    asyncio.run(run())
    return "\n".join(texts)


_SCREEN_BASELINE: dict[tuple[int, int], str] = {}


@settings(SETTINGS, max_examples=max(2, SETTINGS.max_examples // 5))
@given(password=PASSWORDS)
@example(password=EVERY_RESERVED)
def test_the_screen_never_shows_a_generated_password(
    password: str, tmp_path_factory: pytest.TempPathFactory, closed_ports: tuple[int, int]
) -> None:
    if closed_ports not in _SCREEN_BASELINE:
        _SCREEN_BASELINE[closed_ports] = screen_of(
            SENTINEL, closed_ports, tmp_path_factory.mktemp("screen")
        )
    baseline = _SCREEN_BASELINE[closed_ports]
    assert "refused" in baseline
    shown = screen_of(password, closed_ports, tmp_path_factory.mktemp("screen"))
    assert_no_leak(password, shown, "screen", baseline)


# -- hostile text ---------------------------------------------------------------------------------

_SEQUENCES = st.sampled_from(
    [
        "\x1b[2J",
        "\x1b[H",
        "\x1b[?1049h",
        "\x1b]52;c;ZXZpbA==\x07",
        "\x1b]0;title\x1b\\",
        "\x1b]8;;https://evil.test/\x1b\\",
        "\x1bP1$qm\x1b\\",
        "\x1b_apc\x1b\\",
        "\x1b^pm\x1b\\",
        "\x1bX sos\x1b\\",
        "\x1bc",
        "\x9b2J",
        "\x9d52;c;x\x9c",
        "\x1b[31m",
        "\x1b[0m",
        "[bold red]",
        "[/]",
        "[link=https://evil.test]",
        "[@click=app.quit]",
        "\u202e",
        "\u2066",
        "\u200b",
        "\ufeff",
        "\x1b",
        "\n",
        "\r",
    ]
)
HOSTILE = st.lists(
    st.one_of(_SEQUENCES, st.characters(max_codepoint=0x9F), st.text(max_size=4)),
    min_size=1,
    max_size=8,
).map("".join)
#: Fields whose text comes from outside (names, queries, labels, URLs, bodies, log lines).
OUTSIDE_FIELDS = {
    "name",
    "image",
    "compose_project",
    "compose_service",
    "text",
    "usename",
    "datname",
    "application_name",
    "query",
    "command",
    "client",
    "keys",
    "key",
    "url",
    "error",
    "redirected_to",
    "cert_hostnames",
    "container",
    "mount",
    "summary",
}
_SGR = re.compile(r"\x1b\[[0-9;:]*m")


def hostile_copy(value: Any, text: str, counter: list[int]) -> Any:
    """``value`` with every outside field replaced by ``text`` (made unique: rows are keyed)."""

    def fresh() -> str:
        counter[0] += 1
        return f"{text}{counter[0]}"

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes: dict[str, Any] = {}
        for field in dataclasses.fields(value):
            current = getattr(value, field.name)
            if field.name in OUTSIDE_FIELDS and isinstance(current, str):
                changes[field.name] = fresh()
            elif (
                field.name in OUTSIDE_FIELDS
                and isinstance(current, tuple)
                and all(isinstance(v, str) for v in current)
            ):
                changes[field.name] = tuple(fresh() for _ in current)
            else:
                changes[field.name] = hostile_copy(current, text, counter)
        return dataclasses.replace(value, **changes)
    if isinstance(value, tuple):
        return tuple(hostile_copy(v, text, counter) for v in value)
    return value


def assert_screen_inert(app: Any, where: str) -> None:
    """What Textual hands the terminal as text holds no escape: only its own styling does."""
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            assert ESC not in segment.text, (where, segment.text)
            assert_only_sgr(segment.text, where)


def hostile_snapshots(text: str) -> list[Snapshot[Any]]:
    counter = [0]
    return [hostile_copy(snap, text, counter) for snap in all_snapshots()]


def assert_only_sgr(output: str, where: str) -> None:
    rest = _SGR.sub("", output)
    assert ESC not in rest, f"{where}: an escape that is not SGR in {output!r}"
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", rest), (
        f"{where}: a control in {output!r}"
    )


@SETTINGS
@given(text=HOSTILE)
def test_plain_snapshot_and_config_emit_no_escape_but_sgr(
    text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    snapshots = hostile_snapshots(text)
    report = cli.snapshot_report([s.check for s in snapshots], {s.check: s for s in snapshots})
    assert_only_sgr(cli.render_snapshot(report, as_json=False), "plain snapshot")
    assert_only_sgr(cli.render_snapshot(report, as_json=True), "snapshot --json")
    tmp = tmp_path_factory.mktemp("cfg")
    assert_only_sgr(discover_output(discovered_with("Zq8Wv7Xy", text), tmp), "discover")
    (tmp / "zconsole.toml").write_text(
        "[incident]\ncommander = "
        + toml_string(text)
        + "\n[[http.endpoints]]\nurl = "
        + toml_string("https://example.test/" + text)
        + "\nname = "
        + toml_string(text)
        + "\nexpect_text = "
        + toml_string(text)
        + "\n[[actions]]\nname = "
        + toml_string(text)
        + "\nargv = ["
        + toml_string(text)
        + "]\n",
        encoding="utf-8",
    )
    env = {"DOCKER_HOST": "unix:///" + text.replace("\x00", "")}  # no NUL in an environment
    with environment(env, tmp):
        code, shown, err = run_main(["--no-discover", "config"])  # discover: tested above
    assert_only_sgr(shown + err, "config")
    assert code in (0, 2)


@settings(SETTINGS, max_examples=max(3, SETTINGS.max_examples // 4))
@given(text=HOSTILE)
def test_the_screen_emits_no_escape_from_hostile_text(
    text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from zconsole.app import ZConsoleApp
    from zconsole.checks.container_logs import LogLine
    from zconsole.widgets.container_logs import ContainerLogsScreen, LogLinesArrived

    tmp = tmp_path_factory.mktemp("screen")
    config = load_config(
        flags={
            "general": {"store": str(tmp / "store.db")},
            "docker": {"host": f"unix://{tmp / 'no-docker.sock'}"},
        },
        env={},
        cwd=tmp,
    )
    snapshots = hostile_snapshots(text)

    async def run() -> None:
        app = ZConsoleApp(config, build_checks(config), poll=False, hostname=text)
        for size in ((200, 60), (80, 24)):
            async with app.run_test(size=size) as pilot:
                for snap in snapshots:
                    app.show_result(
                        CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic())
                    )
                await pilot.pause()
                assert_screen_inert(app, f"screen {size}")
                # Log lines: the containers' logs screen, container names and lines hostile.
                logs = ContainerLogsScreen(text, (text, text + "2"), error_pattern="error")
                await app.push_screen(logs)
                line = LogLine(container=text, stream="out", ts="", text=text)
                logs.post_message(LogLinesArrived((line, dataclasses.replace(line, stream="err"))))
                await pilot.pause()
                assert app.screen is logs and len(logs.lines) == 2
                assert_screen_inert(app, f"logs screen {size}")
            app = ZConsoleApp(config, build_checks(config), poll=False, hostname=text)

    asyncio.run(run())
