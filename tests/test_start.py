"""What runs before the first frame: building every check imports no backend client library
(they load in each check's thread at its first poll), and the lazy module stands in for the
real one once loaded."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from zconsole.checks.lazy import lazy

CLIENTS = ("docker", "requests", "psycopg", "redis", "httpx", "pymysql")


def test_building_every_check_imports_no_client_library(tmp_path: Path) -> None:
    config = tmp_path / "zconsole.toml"
    config.write_text(
        "[docker]\n"
        f'host = "unix://{tmp_path / "docker.sock"}"\n'
        "[postgres]\n"
        'dsn = "postgresql://app@127.0.0.1:1/app"\n'
        "[redis]\n"
        'url = "redis://127.0.0.1:1/0"\n'
        "[mysql]\n"
        'dsn = "mysql://app@127.0.0.1:1/app"\n'
        "[[http.endpoints]]\n"
        'url = "http://127.0.0.1:1/health"\n'
    )
    # Config loading reads the DSN and the Redis URL with psycopg's and redis-py's own parsers
    # (so that their passwords are registered as those libraries read them): those two may be
    # loaded by then. Building the checks and the app must load nothing more.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from zconsole.config import load_config\n"
        f"config = load_config(config_path=Path({str(config)!r}), env={{}})\n"
        f"before = {{m for m in {CLIENTS!r} if m in sys.modules}}\n"
        "import zconsole.app\n"
        "from zconsole.registry import build_checks\n"
        "checks = build_checks(config)\n"
        "names = ['host', 'docker', 'postgres', 'redis', 'http', 'mysql']\n"
        "assert [c.name for c in checks] == names\n"
        "assert not any(type(c).__name__ == 'NotConfigured' for c in checks)\n"
        f"after = {{m for m in {CLIENTS!r} if m in sys.modules}}\n"
        "print(','.join(sorted(after - before)), '|', ','.join(sorted(after)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    loaded_by_checks, loaded = (part.strip() for part in done.stdout.split("|"))
    assert loaded_by_checks == ""
    assert not {"docker", "requests", "httpx", "pymysql"} & set(loaded.split(","))


def test_a_lazy_module_imports_once_from_many_threads() -> None:
    json_module = lazy("json")
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(json_module.loads)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    import json

    assert seen == [json.loads] * 8
    assert json_module.dumps({"a": 1}) == '{"a": 1}'


HEAVY = (*CLIENTS, "textual", "rich", "asyncio", "yaml", "dotenv", "zconsole.discovery.search")


def _modules_at_first_paint(workdir: Path, toml: str) -> set[str]:
    """The heavy modules loaded when `zconsole` (the TUI command) reaches its first paint."""
    (workdir / "zconsole.toml").write_text(toml)
    code = (
        "import os, sys\n"
        "from zconsole import first_paint\n"
        "first_paint.wanted = lambda *a, **k: True\n"
        "def show(paint, settings=None):\n"
        f"    print(','.join(m for m in {HEAVY!r} if m in sys.modules), flush=True)\n"
        "    os._exit(0)\n"
        "first_paint.show = show\n"
        "sys.argv = ['zconsole']\n"
        "from zconsole.cli import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=workdir
    )
    assert done.returncode == 0, done.stderr
    return {m for m in done.stdout.strip().split(",") if m}


def test_the_first_paint_comes_before_textual_clients_and_discovery(tmp_path: Path) -> None:
    every_source = (
        "[docker]\n"
        f'host = "unix://{tmp_path / "docker.sock"}"\n'
        "[postgres]\n"
        'dsn = "postgresql://app:S3cretPw@127.0.0.1:1/app"\n'
        "[redis]\n"
        'url = "redis://:S3cretPw@127.0.0.1:1/0"\n'
        "[mysql]\n"
        'dsn = "mysql://app@127.0.0.1:1/app"\n'
        "[[http.endpoints]]\n"
        'url = "http://127.0.0.1:1/health"\n'
    )
    assert _modules_at_first_paint(tmp_path, every_source) == set()
    # With sources left to find, discovery runs after the first paint, not before it.
    assert _modules_at_first_paint(tmp_path, "[docker]\nenabled = false\n") == set()
