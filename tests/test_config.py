"""Config: layering, named targets, one-line errors with exit 2, and no password ever printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from zconsole.checks.secrets import redact
from zconsole.config import ConfigError, effective_toml, load_config

ZCONSOLE = [sys.executable, "-m", "zconsole"]


def run_cli(
    *argv: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*ZCONSOLE, *argv], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=60
    )


def test_defaults_carry_the_runbooks_thresholds(workdir: Path) -> None:
    config = load_config(env={})
    assert config.host.cpu_warn == 80.0
    assert config.host.memory_warn == 85.0
    assert config.host.disk_crit == 90.0
    assert config.redis.queue_warn == 1000
    assert config.redis.queue_crit == 5000
    assert config.postgres.connections_warn_pct == 80.0
    assert config.incident.severity_scheme == "P0-P3"


def test_precedence_file_then_env_then_target_then_flags(workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text(
        """
[general]
interval = 7.0
[redis]
url = "redis://127.0.0.1:1/0"
[targets.prod.redis]
url = "redis://127.0.0.1:3/0"
"""
    )
    env = {"REDIS_URL": "redis://127.0.0.1:2/0"}
    assert load_config(env=env).redis.url.endswith(":2/0")
    assert load_config(env=env, target="prod").redis.url.endswith(":3/0")
    flags = {"redis": {"url": "redis://127.0.0.1:4/0"}}
    config = load_config(env=env, target="prod", flags=flags)
    assert config.redis.url.endswith(":4/0")
    assert config.general.interval == 7.0
    assert config.sources[-1] == "command line"


def user_config_file() -> Path:
    """Where the README says the user layer lives: $XDG_CONFIG_HOME/zconsole/zconsole.toml
    (the autouse fixture points XDG_CONFIG_HOME into the test's own home)."""
    return Path(os.environ["XDG_CONFIG_HOME"]) / "zconsole" / "zconsole.toml"


def test_user_config_dir_is_read_and_the_working_directory_overrides_it(workdir: Path) -> None:
    user = user_config_file()
    user.parent.mkdir(parents=True)
    user.write_text("[general]\ninterval = 4.0\n[host]\ncpu_warn = 70.0\n")
    config = load_config(env={})
    assert config.general.interval == 4.0
    assert config.host.cpu_warn == 70.0
    assert config.sources == ["defaults", str(user)]

    (workdir / "zconsole.toml").write_text("[general]\ninterval = 6.0\n")
    config = load_config(env={})
    assert config.general.interval == 6.0  # ./zconsole.toml wins
    assert config.host.cpu_warn == 70.0  # what it does not set still comes from the user layer
    assert config.sources == ["defaults", str(user), str(workdir / "zconsole.toml")]

    # The real command reads the same two layers, in that order.
    done = run_cli("config", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert f"#   {user}\n#   {workdir / 'zconsole.toml'}\n" in done.stdout
    assert "interval = 6.0" in done.stdout and "cpu_warn = 70.0" in done.stdout


TARGETS = """
[postgres]
dsn = "postgresql://monitor@127.0.0.1:5432/app"
[targets.staging.postgres]
dsn = "postgresql://monitor@10.0.0.5:5432/app"
[targets.staging.general]
interval = 9.0
"""


def test_read_only_and_target_flags_through_the_cli(workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text(TARGETS)
    plain = run_cli("config", cwd=workdir)
    assert plain.returncode == 0, plain.stderr
    assert "read_only = false" in plain.stdout
    assert 'dsn = "postgresql://monitor@127.0.0.1:5432/app"' in plain.stdout

    done = run_cli("--read-only", "--target", "staging", "config", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert "read_only = true" in done.stdout
    assert 'dsn = "postgresql://monitor@10.0.0.5:5432/app"' in done.stdout
    assert "interval = 9.0" in done.stdout
    assert "#   [targets.staging]\n#   command line\n" in done.stdout

    short = run_cli("-t", "staging", "config", cwd=workdir)
    assert 'dsn = "postgresql://monitor@10.0.0.5:5432/app"' in short.stdout
    assert "read_only = false" in short.stdout


@pytest.mark.parametrize(
    "command", [["config"], ["snapshot"], []], ids=["config", "snapshot", "tui"]
)
def test_an_unknown_target_is_one_line_and_exit_2(workdir: Path, command: list[str]) -> None:
    (workdir / "zconsole.toml").write_text(TARGETS)
    done = run_cli("--target", "prod", *command, cwd=workdir)
    # `snapshot` is a Nagios-style plugin: a check it cannot run is UNKNOWN (3).
    assert done.returncode == (3 if command == ["snapshot"] else 2)
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "zconsole: --target prod: no [targets.prod] in config (defined: staging)"
    ]


def test_pg_environment_configures_postgres_through_libpq(workdir: Path) -> None:
    assert load_config(env={"PGHOST": "127.0.0.1"}).postgres.dsn == "host=127.0.0.1"
    assert load_config(env={}).postgres.dsn == ""


def test_unknown_target_is_one_clear_line(workdir: Path) -> None:
    with pytest.raises(ConfigError, match=r"--target nope: no \[targets.nope\]"):
        load_config(env={}, target="nope")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '[general]\ninterval = 2.0\n[postgres\ndsn = "x"\n',
            r"zconsole.toml: TOML syntax error: .*line 3",
        ),
        ('[postgres]\ndsnn = "postgresql://x"\n', r"zconsole.toml: postgres.dsnn: unknown key$"),
        (
            '[host]\ncpu_warn = "eighty"\n',
            r"zconsole.toml: host.cpu_warn: wrong type: expected `float`, got `str`$",
        ),
    ],
    ids=["syntax-error", "unknown-key", "wrong-type"],
)
def test_broken_file_gives_one_line_and_exit_2(workdir: Path, content: str, expected: str) -> None:
    (workdir / "zconsole.toml").write_text(content)
    done = run_cli("config", cwd=workdir)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    import re

    assert re.search(expected, lines[0]), lines[0]
    assert lines[0].startswith("zconsole: ")


def test_config_command_never_prints_a_password(workdir: Path) -> None:
    secret = "Sup3r-Secret-pw"
    (workdir / "zconsole.toml").write_text(
        f"""
[postgres]
dsn = "postgresql://app:{secret}@127.0.0.1:5432/app"
[targets.prod.redis]
url = "redis://:{secret}x@127.0.0.1:6379/0"
"""
    )
    done = run_cli(
        "config",
        cwd=workdir,
        env={"REDIS_URL": f"rediss://default:{secret}2@127.0.0.1:6380/1", "PGPASSWORD": secret},
    )
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout
    assert "postgresql://app:***@127.0.0.1:5432/app" in done.stdout
    assert "rediss://default:***@127.0.0.1:6380/1" in done.stdout


def test_effective_config_lists_its_sources(workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text("[general]\ninterval = 3.0\n")
    text = effective_toml(load_config(env={"DATABASE_URL": "postgresql:///x"}))
    assert "zconsole.toml" in text
    assert "environment (DATABASE_URL)" in text
    assert "interval = 3.0" in text


def test_redact_masks_url_keyword_and_registered_secrets() -> None:
    from zconsole.checks.secrets import register_secret

    register_secret("hunter2-registered")
    text = "dsn=postgresql://u:p%40ss@h/db password='a b' err: hunter2-registered failed"
    out = redact(text)
    assert "p%40ss" not in out and "a b" not in out and "hunter2-registered" not in out
    assert "postgresql://u:***@h/db" in out
