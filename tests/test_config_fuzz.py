"""Config fuzz: every key with generated values of every TOML type.

Whatever is written, `zconsole config` exits 0, or prints one line naming the file and key and
exits 2 (`snapshot`: 3); and what it accepts, the checks can be built from. Never a traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, get_type_hints

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zconsole import cli
from zconsole.checks.http_settings import EndpointSettings
from zconsole.config import Config, CustomAction, load_config
from zconsole.config_bounds import BOUNDS, numbers
from zconsole.registry import build_checks


def _fields(kind: type) -> list[tuple[str, Any]]:
    hints = get_type_hints(kind)
    if dataclasses.is_dataclass(kind):
        return [(f.name, hints[f.name]) for f in dataclasses.fields(kind)]
    return [(f.name, hints[f.name]) for f in msgspec.structs.fields(kind)]


def _keys(kind: type, prefix: str = "") -> Iterator[str]:
    for name, hint in _fields(kind):
        if isinstance(hint, type) and (
            dataclasses.is_dataclass(hint) or issubclass(hint, msgspec.Struct)
        ):
            yield from _keys(hint, f"{prefix}{name}.")
        elif name not in ("sources", "discovered", "targets", "endpoints", "actions"):
            yield f"{prefix}{name}"


#: Every key a file may set: "section.key", "http.endpoints[].key", "actions[].key".
KEYS = sorted(
    [*_keys(Config), *(f"http.endpoints[].{k}" for k in _keys(EndpointSettings))]
    + [f"actions[].{k}" for k in _keys(CustomAction)]
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int | datetime | date | time):
        return value.isoformat() if not isinstance(value, int) else str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(value)


SCALARS = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.0, 1e300, 1e-300, 2.0, 100, 3000]),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.times(),
)
TOML_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=2)
    ),
    max_leaves=4,
)


#: Every source configured (nothing listens there): each check is built from what is accepted.
BASE: dict[str, Any] = {
    "postgres": {"dsn": "postgresql://monitor@127.0.0.1:1/app"},
    "redis": {"url": "redis://127.0.0.1:1/0"},
    "docker": {"host": "unix:///nonexistent/docker.sock"},
    "http": {"endpoints": [{"url": "https://127.0.0.1:1/health"}]},
    "actions": [{"name": "x", "argv": ["true"]}],
}


def document(key: str, value: Any) -> str:
    """A zconsole.toml with every source configured and ``key`` set to ``value``."""
    tree = json.loads(json.dumps(BASE))
    section, _, name = key.rpartition(".")
    if section == "http.endpoints[]":
        tree["http"]["endpoints"][0][name] = value
    elif section == "actions[]":
        tree["actions"][0][name] = value
    else:
        tree.setdefault(section, {})[name] = value
    lines = []
    for table, body in tree.items():
        if table == "actions":
            lines.append("[[actions]]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in body[0].items()]
            continue
        lines.append(f"[{table}]")
        lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in body.items() if k != "endpoints"]
        if table == "http":
            lines.append("[[http.endpoints]]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in body["endpoints"][0].items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@settings(
    max_examples=int(os.environ.get("ZCONSOLE_PROPERTY_EXAMPLES", "25")) * 4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(key=st.sampled_from(KEYS), value=TOML_VALUES)
def test_any_value_of_any_key_is_accepted_or_one_line_with_exit_2(
    sandbox: Path, key: str, value: Any
) -> None:
    path = sandbox / "zconsole.toml"
    path.write_text(document(key, value), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["config"])
    if code == 0:
        assert err.getvalue() == ""
        config = load_config(env={}, cwd=sandbox)
        build_checks(config)  # what is accepted can be used
        return
    assert code == 2, (code, err.getvalue())
    lines = err.getvalue().splitlines()
    assert len(lines) == 1, err.getvalue()
    assert lines[0].startswith(f"zconsole: {path}: "), lines[0]
    assert out.getvalue() == ""


def test_every_number_in_the_config_has_a_range_and_a_unit() -> None:
    example = msgspec.convert(
        {
            "http": {"endpoints": [{"url": "https://x.test/", "expect_status": 200}]},
            "actions": [{"name": "x", "argv": ["true"]}],
            "notify": [{"kind": "slack", "url": "https://hooks.example.test/x"}],
        },
        Config,
    )
    keys = {key for key, _ in numbers(msgspec.to_builtins(example))}
    assert keys <= set(BOUNDS), keys - set(BOUNDS)
    assert all(bound.unit for bound in BOUNDS.values())
    assert "general.interval" in keys and "http.endpoints[].expect_status" in keys
