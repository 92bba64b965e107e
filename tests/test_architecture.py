"""The import-linter contracts hold, and they would catch a violation (shown once, on a copy)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import zconsole

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=package_parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def installed_package_copy(tmp_path: Path) -> Path:
    """A real copy of the installed zconsole tree (checks/ and widgets/ mapped inside it)."""
    source = Path(zconsole.__file__).resolve().parent
    # In strict editable mode zconsole/__init__.py is a link into the repo; the mapped package
    # tree is the link tree beside it.
    link_tree = Path(zconsole.__file__).parent
    target = tmp_path / "zconsole"
    shutil.copytree(
        link_tree if (link_tree / "checks").exists() else source, target, symlinks=False
    )
    return tmp_path


def test_contracts_are_kept(tmp_path: Path) -> None:
    done = lint_imports(installed_package_copy(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 kept, 0 broken" in done.stdout


def test_a_check_importing_textual_breaks_the_contract(tmp_path: Path) -> None:
    root = installed_package_copy(tmp_path)
    (root / "zconsole" / "checks" / "sneaky.py").write_text("import textual.widgets\n")
    done = lint_imports(root)
    assert done.returncode != 0
    assert "checks are pure data collectors: no Textual, no UI BROKEN" in done.stdout
    assert "zconsole.checks.sneaky -> textual" in done.stdout


def test_a_widget_importing_an_io_client_breaks_the_contract(tmp_path: Path) -> None:
    root = installed_package_copy(tmp_path)
    (root / "zconsole" / "widgets" / "sneaky.py").write_text("import psycopg\n")
    done = lint_imports(root)
    assert done.returncode != 0
    assert "widgets render and post messages: no I/O clients BROKEN" in done.stdout


def test_a_console_module_importing_the_docker_sdk_breaks_the_contract(tmp_path: Path) -> None:
    root = installed_package_copy(tmp_path)
    (root / "zconsole" / "checks" / "sneaky.py").write_text("import docker.errors\n")
    done = lint_imports(root)
    assert done.returncode != 0
    assert "no docker SDK at runtime (test-only) BROKEN" in done.stdout


LAYERS = "layers go one way: app layer, then widgets, then checks BROKEN"


@pytest.mark.parametrize(
    ("layer", "imports", "chain"),
    [
        ("checks", "zconsole.widgets.text", "zconsole.checks.sneaky -> zconsole.widgets.text"),
        ("checks", "zconsole.config", "zconsole.checks.sneaky -> zconsole.config"),
        ("widgets", "zconsole.store", "zconsole.widgets.sneaky -> zconsole.store"),
    ],
    ids=["checks-import-widgets", "checks-import-the-app-layer", "widgets-import-the-app-layer"],
)
def test_an_import_up_the_layers_breaks_the_contract(
    tmp_path: Path, layer: str, imports: str, chain: str
) -> None:
    root = installed_package_copy(tmp_path)
    (root / "zconsole" / layer / "sneaky.py").write_text(f"import {imports}\n")
    done = lint_imports(root)
    assert done.returncode != 0
    assert LAYERS in done.stdout
    assert chain in done.stdout


def test_a_module_in_no_layer_breaks_the_contract(tmp_path: Path) -> None:
    root = installed_package_copy(tmp_path)
    (root / "zconsole" / "unplaced.py").write_text("")
    done = lint_imports(root)
    assert done.returncode != 0
    assert "zconsole.unplaced" in done.stdout + done.stderr
