"""The suite's own virtualenv (tempest + ec2api-tempest-plugin), cached and reused.

Never the project venv: tempest pins oslo/botocore/… differently from cloudgate. The venv is built in a
sibling temporary directory and renamed into place only once pip succeeded, so an interrupted install
never leaves a half-built venv that later runs would trust. A stamp file records what was installed; a
venv whose stamp differs from `REQUIREMENTS` is rebuilt.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

# Verified together (shared/reference/ec2-suite/RECIPE.md): 181 tests, botocore as cloudgate's own.
REQUIREMENTS = ("tempest==47.0.0", "ec2api-tempest-plugin==1.7.0", "botocore==1.44.5")
PLUGIN_VERSION = "1.7.0"
STAMP = ".ec2suite-stamp"
PIP_TIMEOUT = 1800  # seconds for the whole pip install


class VenvError(Exception):
    pass


def stamp_text() -> str:
    return "\n".join(REQUIREMENTS) + "\n"


def python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def is_ready(venv: Path) -> bool:
    stamp = venv / STAMP
    return python_of(venv).exists() and stamp.exists() and stamp.read_text() == stamp_text()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # two runs starting at once build the venv once
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def base_python() -> str:
    """A non-venv interpreter to build from (a venv built from a venv's python works too)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def ensure(venv: Path, *, install: bool = True, log=print) -> tuple[Path, float | None]:
    """The venv's python, building the venv first if needed; (python, seconds spent installing or None)."""
    venv = venv.resolve()
    if is_ready(venv):
        return python_of(venv), None
    if not install:
        raise VenvError(f"suite venv {venv} is not installed (run without --no-install once)")
    with _locked(venv.parent / (venv.name + ".lock")):
        if is_ready(venv):  # another run built it while we waited for the lock
            return python_of(venv), None
        started = time.monotonic()
        tmp = venv.parent / (venv.name + ".building")
        shutil.rmtree(tmp, ignore_errors=True)
        log(f"installing {' '.join(REQUIREMENTS)} into {venv} (once; later runs reuse it) ...")
        pip_log = venv.parent / (venv.name + ".install.log")
        try:
            _run([base_python(), "-m", "venv", str(tmp)], pip_log)
            _run([str(python_of(tmp)), "-m", "pip", "install", "--quiet", *REQUIREMENTS], pip_log)
        except VenvError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        (tmp / STAMP).write_text(stamp_text())
        shutil.rmtree(venv, ignore_errors=True)
        os.replace(tmp, venv)  # bin/python is a symlink to the base interpreter: the venv survives a rename
        seconds = time.monotonic() - started
        log(f"suite venv ready in {seconds:.0f}s")
        return python_of(venv), seconds


def _run(cmd: list[str], log_path: Path) -> None:
    with open(log_path, "a") as log_file:
        log_file.write(f"$ {' '.join(cmd)}\n")
        log_file.flush()
        try:
            done = subprocess.run(cmd, stdout=log_file, stderr=subprocess.STDOUT, timeout=PIP_TIMEOUT,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise VenvError(f"{cmd[0]} timed out after {PIP_TIMEOUT}s; see {log_path}") from None
    if done.returncode != 0:
        tail = log_path.read_text().strip().splitlines()[-15:]
        raise VenvError(f"{' '.join(cmd[:4])} ... failed ({done.returncode}); see {log_path}:\n"
                        + "\n".join(tail))
