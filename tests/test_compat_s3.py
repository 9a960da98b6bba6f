"""CI guard for the endpoint-agnostic S3 scenario suite (`compat-tests/run.py --suite s3`): run against
cloudgate in front of the real Swift (the `s3_gateway` fixture), every scenario must pass or skip with a
reason, and none may fail."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from .server import ROOT

RUNNER = ROOT / "compat-tests" / "run.py"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")
# The whole suite takes about a minute against a local Swift; this only stops a hung run.
SUITE_TIMEOUT = 900


def test_s3_suite_passes_against_cloudgate_on_swift(s3_gateway, tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    creds = s3_gateway.creds_a
    done = subprocess.run(
        [sys.executable, str(RUNNER), "--endpoint", s3_gateway.endpoint, "--access-key", creds.access_key,
         "--secret-key", creds.secret_key, "--region", "us-east-1", "--suite", "s3", "--timeout", "30",
         "--json", str(summary_path)],
        capture_output=True, text=True, timeout=SUITE_TIMEOUT, cwd=ROOT, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{done.stderr}"
    match = SUMMARY.match(lines[-1])
    assert match, f"last line is not the summary: {lines[-1]!r}\n{done.stderr}"
    passed, failed, skipped = map(int, match.groups())
    failures = [line for line in lines if line.startswith("FAIL ")]
    assert failed == 0, f"{failed} S3 scenario(s) failed against cloudgate:\n" + "\n".join(failures)
    assert done.returncode == 0, done.stderr

    summary = json.loads(summary_path.read_text())
    assert (summary["passed"], summary["failed"], summary["skipped"]) == (passed, failed, skipped)
    assert summary["suites"] == ["s3"]
    # A scenario may skip only with a reason, and a run that skips most of the suite proves nothing.
    skips = [r for r in summary["results"] if r["status"] == "SKIP"]
    assert all(r["reason"] for r in skips), skips
    assert passed >= 0.9 * len(summary["results"]), f"only {passed} of {len(summary['results'])} passed"
