"""The import contracts of .importlinter hold on the real tree, and each one catches a violating import: the
packages are copied to a temporary directory, one forbidden import is added, and `lint-imports` run there must
fail naming the broken contract (and the import)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server import ROOT

LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    if not LINT.exists():
        pytest.fail(f"{LINT} is missing: import-linter is in the `test` extra (make .venv/.installed)")
    # the copy must win over the editable install: only `cwd` on the path
    env = {**os.environ, "PYTHONPATH": str(cwd), "PYTHONSAFEPATH": "1"}
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_tree_keeps_every_contract() -> None:
    run = _lint(ROOT)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " 0 broken" in run.stdout and "KEPT" in run.stdout


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("layering")
    for package in ("gateway", "backends"):
        shutil.copytree(ROOT / package, base / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / ".importlinter", base / ".importlinter")
    return base


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("gateway/ec2/subnets.py", "import backends.openstack.neutron",
     "gateway never imports a specific cloud"),
    ("gateway/app.py", "from backends.cloudstack import client",
     "gateway never imports a specific cloud"),
    ("backends/openstack/neutron.py", "import gateway.config", "backends never import gateway"),
    ("backends/compute.py", "import backends.cloudstack.mapping",
     "the neutral contract (backends.base, compute, network) imports no cloud"),
    ("backends/openstack/http.py", "import backends.cloudstack.client",
     "the two clouds' packages do not import each other"),
    ("backends/openstack/session.py", "from backends.openstack import compute",
     "OpenStack adapter: backend -> compute | network -> session"),
    ("backends/cloudstack/network.py", "from backends.cloudstack import compute",
     "CloudStack adapter: backend -> compute | network -> session -> keys"),
])
def test_a_violating_import_breaks_its_contract(tree: Path, module: str, line: str, contract: str) -> None:
    path = tree / module
    original = path.read_text()
    path.write_text(original + f"\n{line}  # the violation under test\n")
    try:
        run = _lint(tree)
    finally:
        path.write_text(original)
    assert run.returncode != 0, run.stdout[-3000:]
    out = " ".join(run.stdout.split())  # lint-imports wraps long names
    assert f"{contract}" in out and "BROKEN" in out, run.stdout[-3000:]
    violated = module.removesuffix(".py").replace("/", ".")
    assert violated in out, run.stdout[-3000:]
