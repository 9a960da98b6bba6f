#!/usr/bin/env python3
"""pip-audit of the packages installed in .venv (what `make test` runs and `make run` ships), for CI.

Fails (exit 1) on any known vulnerability that is not in IGNORED with a reason. Does NOT fail when the
vulnerability service cannot be reached or cannot answer for a package (pip-audit reports those as
skipped: "not found on PyPI", a connection error): the run says loudly how many packages went unaudited
instead, so a network hiccup never turns CI red, while a real advisory always does. pip-audit itself lives
in its own venv (.venv/audit-tool) so it neither audits nor disturbs the project's packages.

Usage: python3 .ci/audit.py [VENV]   (default .venv)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

# advisory id -> why it does not apply to cloudgate (reviewed by hand; keep each entry justified)
IGNORED: dict[str, str] = {}
TIMEOUT = 300


def main() -> int:
    venv = Path(sys.argv[1] if len(sys.argv) > 1 else ".venv")
    tool = venv / "audit-tool"
    if not (tool / "bin" / "pip-audit").exists():
        subprocess.run([sys.executable, "-m", "venv", str(tool)], check=True)
        got = subprocess.run([str(tool / "bin" / "pip"), "install", "-q", "pip-audit"], check=False)
        if got.returncode:
            print("pip-audit: WARNING: could not install pip-audit (registry unreachable?): not audited")
            return 0
    purelib = subprocess.run([str(venv / "bin" / "python"), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        cmd = [str(tool / "bin" / "pip-audit"), "--path", purelib, "--skip-editable", "--progress-spinner",
               "off", "-f", "json", "-o", str(report)]
        for vuln in IGNORED:
            cmd += ["--ignore-vuln", vuln]
        try:
            run = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"pip-audit: WARNING: no answer within {TIMEOUT} s (service unreachable?): not audited")
            return 0
        if not report.exists():  # pip-audit stopped before auditing anything: the service failed
            print("pip-audit: WARNING: the vulnerability service failed, not audited:",
                  (run.stderr.strip().splitlines() or ["?"])[-1])
            return 0
        deps = json.loads(report.read_text())["dependencies"]
    return judge(deps)


def judge(deps: list[dict]) -> int:
    """1 when a package has a known vulnerability; unaudited packages only warn (see the module doc)."""
    vulnerable = [d for d in deps if d.get("vulns")]
    unaudited = [d for d in deps if d.get("skip_reason") and "editable" not in d["skip_reason"]]
    audited = len(deps) - len(unaudited) - sum(1 for d in deps if "editable" in (d.get("skip_reason") or ""))
    for d in vulnerable:
        for v in d["vulns"]:
            print(f"pip-audit: {d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v['fix_versions']) or '-'})"
                  f" {v.get('description', '')[:200]}")
    if unaudited:
        print(f"pip-audit: WARNING: {len(unaudited)} of {len(deps)} packages could not be audited "
              f"(vulnerability service unreachable or unaware of them), e.g. {unaudited[0]['skip_reason']}")
    print(f"pip-audit: {audited} packages audited, {len(vulnerable)} with known vulnerabilities")
    return 1 if vulnerable else 0

if __name__ == "__main__":
    sys.exit(main())
