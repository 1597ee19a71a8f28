"""The import contracts of DESIGN.md's "Layers" ([tool.importlinter] in
pyproject.toml), checked by import-linter's ``lint-imports``.

``test_contracts_hold`` fails with import-linter's report when a module imports
what its layer may not. The other tests show that it can fail: the same
contracts, run on a copy of the package with a forbidden import added, break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
#: The venv's own executable, beside this interpreter.
LINT_IMPORTS = Path(sys.executable).parent / ("lint-imports.exe" if os.name == "nt" else "lint-imports")

EXPECTED = {
    "ui-calls-services-only": "forbidden",
    "services-internals": "forbidden",
    "security-is-pure": "forbidden",
    "layers": "layers",
}


def lint_imports(top: Path, config: Path = PYPROJECT) -> subprocess.CompletedProcess:
    """Run lint-imports on the ``console`` package found in ``top``."""
    if not LINT_IMPORTS.exists():
        pytest.fail(f"{LINT_IMPORTS} not found: install the test extra (pip install -e '.[test]')")
    env = {**os.environ, "PYTHONPATH": str(top)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", str(config)], cwd=top, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_contracts_are_the_ones_the_design_asks_for():
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    assert config["root_package"] == "console"
    assert config["include_external_packages"] is True  # else sqlalchemy/sqlmodel cannot be forbidden
    contracts = {c["id"]: c for c in config["contracts"]}
    assert {k: c["type"] for k, c in contracts.items()} == EXPECTED
    ui = contracts["ui-calls-services-only"]
    assert set(ui["source_modules"]) == {"console.tui", "console.cli"}
    assert {"sqlalchemy", "sqlmodel", "console.models", "console.db", "console.schema"} <= set(ui["forbidden_modules"])
    assert not any(c.get("ignore_imports") for c in contracts.values())


def test_contracts_hold():
    r = lint_imports(ROOT)
    assert r.returncode == 0, f"an import contract is broken:\n{r.stdout}\n{r.stderr}"
    assert f"Contracts: {len(EXPECTED)} kept, 0 broken." in r.stdout, r.stdout


@pytest.fixture
def copy(tmp_path):
    """A copy of the package (and the contracts) to break."""
    shutil.copytree(ROOT / "console", tmp_path / "console", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize("module, line, contract", [
    ("cli/output.py", "import sqlalchemy", "TUI and CLI never import"),
    ("tui/text.py", "from console.models import User", "TUI and CLI never import"),
    ("security/tokens.py", "from console.services import errors", "security/ imports nothing"),
    ("services/errors.py", "import console.tui.text", "Imports point down only"),
    ("tui/text.py", "from console.services import base", "TUI and CLI call the public service API only"),
    ("cli/output.py", "import console.stores", "TUI and CLI never import"),
], ids=["cli-sqlalchemy", "tui-models", "security-services", "services-tui", "tui-internals", "cli-stores"])
def test_a_forbidden_import_breaks_a_contract(copy, module, line, contract):
    path = copy / "console" / module
    path.write_text(path.read_text() + f"\n{line}  # added by the test\n")
    r = lint_imports(copy, copy / "pyproject.toml")
    assert r.returncode != 0, r.stdout
    broken = r.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, r.stdout
    assert "console." + module.removesuffix(".py").replace("/", ".") in broken, r.stdout
