"""The EC2 layering contract (`ec2-layers` in .importlinter: handlers -> shared flows -> lookups -> model ->
base, handlers never importing each other) holds for the tree, and breaks on a violating import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")
ROOT = Path(__file__).resolve().parent.parent
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())", "--contract", "ec2-layers", "--no-cache"]


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(LINT, cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packages and the contract, to break."""
    root = tmp_path_factory.mktemp("layers")
    for package in ("gateway", "backends"):
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", root / ".importlinter")
    return root


def test_the_tree_keeps_the_ec2_layers(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "what"), [
    ("addresses.py", "from . import instances  # noqa", "gateway.ec2.addresses is not allowed to import gateway.ec2.instances"),
    ("lookups/instances.py", "from .. import vpcs  # noqa", "gateway.ec2.lookups is not allowed to import gateway.ec2.vpcs"),
    ("model.py", "from . import lookups  # noqa", "gateway.ec2.model is not allowed to import gateway.ec2.lookups"),
])
def test_a_violating_import_breaks_the_contract(tree: Path, module: str, line: str, what: str) -> None:
    path = tree / "gateway" / "ec2" / module
    original = path.read_text()
    try:
        path.write_text(original + f"\n{line}\n")
        result = _lint(tree)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    assert what in " ".join(result.stdout.split()), result.stdout
