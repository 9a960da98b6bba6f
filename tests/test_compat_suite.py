"""CI runs the endpoint-agnostic compatibility suite (`compat-tests/`) against the real `cloudgate serve`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from .server import AK, ROOT, SK, subprocess_server

RUNNER = ROOT / "compat-tests" / "run.py"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")


def test_core_suite_passes_against_cloudgate(tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    with subprocess_server(tmp_path) as (endpoint, _proc):
        done = subprocess.run(
            [sys.executable, str(RUNNER), "--endpoint", endpoint, "--access-key", AK, "--secret-key", SK,
             "--region", "us-east-1", "--suite", "core", "--json", str(summary_path)],
            capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{done.stderr}"
    match = SUMMARY.match(lines[-1])
    assert match, f"last line is not the summary: {lines[-1]!r}\n{done.stderr}"
    passed, failed, skipped = map(int, match.groups())
    failures = [line for line in lines if line.startswith("FAIL ")]
    assert failed == 0, "\n".join(failures)
    assert done.returncode == 0, done.stderr
    assert passed > 0 and passed + skipped == len(lines) - 1

    summary = json.loads(summary_path.read_text())
    assert (summary["passed"], summary["failed"], summary["skipped"]) == (passed, failed, skipped)
    assert summary["suites"] == ["core"]
