"""Running the amazon.aws playbooks of tests/ansible/ with ansible-playbook, results as JSON.

`run_playbook` runs one playbook with the json stdout callback and returns a `PlaybookRun`: the per-host
recap (ok/changed/failures/...) and, per task, whether it changed or failed and why. Ansible's own state
(ANSIBLE_HOME, temp dirs) goes to a private directory; credentials go through the environment only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PLAYBOOKS = Path(__file__).resolve().parent / "ansible"
PLAYBOOK_TIMEOUT = 600  # seconds for one ansible-playbook run (instance waits are 300 s at most)


@dataclass
class TaskResult:
    name: str
    changed: bool
    failed: bool
    skipped: bool
    msg: str
    result: dict[str, Any]


@dataclass
class PlaybookRun:
    rc: int
    stats: dict[str, int]
    tasks: list[TaskResult]
    stderr: str

    @property
    def changed(self) -> list[str]:
        return [t.name for t in self.tasks if t.changed]

    @property
    def failed(self) -> list[TaskResult]:
        return [t for t in self.tasks if t.failed]

    def report(self) -> str:
        lines = [f"rc={self.rc} stats={self.stats}"]
        for t in self.tasks:
            state = "FAILED" if t.failed else "skipped" if t.skipped else "changed" if t.changed else "ok"
            lines.append(f"  {state:8} {t.name}" + (f": {t.msg}" if t.failed else ""))
        if self.rc and not self.failed:
            lines.append(self.stderr[-3000:])
        return "\n".join(lines)


def ansible_playbook() -> Path:
    return Path(sys.executable).with_name("ansible-playbook")


def run_playbook(playbook: str, *, aws_env: dict[str, str], extra_vars: dict[str, Any], home: Path,
                 check: bool = False, args: tuple[str, ...] = (), timeout: float = PLAYBOOK_TIMEOUT) -> PlaybookRun:
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_", "BOTO"))}
    env.update(aws_env)
    env.update({
        "ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_HOME": str(home), "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_REMOTE_TEMP": str(home / "tmp"), "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_CONFIG": str(home / "none.cfg"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_DEPRECATION_WARNINGS": "false",
        "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "PYTHONWARNINGS": "ignore",
    })
    cmd = [str(ansible_playbook()), "-i", str(PLAYBOOKS / "inventory.ini"), str(PLAYBOOKS / playbook),
           "-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    cmd.extend(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=PLAYBOOKS)
    try:
        doc = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError as e:
        raise AssertionError(f"ansible-playbook printed no JSON (rc={proc.returncode}):\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}") from e
    tasks = []
    for play in doc.get("plays", []):
        for task in play.get("tasks", []):
            for res in task.get("hosts", {}).values():
                msg = res.get("msg") or res.get("exception") or ""
                tasks.append(TaskResult(task["task"]["name"], bool(res.get("changed")), bool(res.get("failed")),
                                        bool(res.get("skipped")), str(msg)[:2000], res))
    stats = doc.get("stats", {}).get("localhost", {})
    return PlaybookRun(proc.returncode, stats, tasks, proc.stderr)
