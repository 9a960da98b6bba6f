"""Published AWS test data, obtained from the package registry (botocore's sdist) or ../shared/.

botocore's source distribution carries the protocol suites, AWS's SigV4 suite and the real AWS response
captures, matching the pinned botocore version, so the data always agrees with the models we load.
Order: $CLOUDGATE_TESTDATA (a botocore source tree) → .cache/botocore-<ver>/ (downloaded once with pip)
→ ../shared/conformance/. When none is reachable, tests that need it skip with a clear message.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import botocore

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
SHARED = ROOT.parent / "shared" / "conformance"


@dataclass(frozen=True)
class TestData:
    protocols: Path  # {input,output,legacy}/<protocol>.json + protocol-tests-ignore-list.json
    sigv4: Path      # AWS's SigV4 suite: <case>/<case>.{req,creq,sts,authz,sreq}
    captures: Path   # real AWS responses: <service>-<op>.xml + botocore's parse .json


def _from_sdist_tree(tree: Path) -> TestData | None:
    unit = tree / "tests" / "unit"
    data = TestData(unit / "protocols", unit / "auth" / "aws4_testsuite",
                    unit / "response_parsing" / "xml" / "responses")
    return data if all(p.is_dir() for p in (data.protocols, data.sigv4, data.captures)) else None


def _download_sdist() -> Path | None:
    version = botocore.__version__
    tree = CACHE / f"botocore-{version}"
    if tree.is_dir():
        return tree
    CACHE.mkdir(exist_ok=True)
    try:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        f"botocore=={version}", "-d", str(CACHE)], check=True, timeout=300,
                       capture_output=True)
    except (subprocess.SubprocessError, OSError):
        return None
    sdist = CACHE / f"botocore-{version}.tar.gz"
    if not sdist.is_file():
        return None
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if "/tests/unit/" in m.name]
        tar.extractall(CACHE, members=members, filter="data")
    return tree if tree.is_dir() else None


@functools.cache
def testdata() -> TestData | None:
    env = os.environ.get("CLOUDGATE_TESTDATA")
    if env:
        return _from_sdist_tree(Path(env))
    tree = _download_sdist()
    if tree is not None and (found := _from_sdist_tree(tree)) is not None:
        return found
    if SHARED.is_dir():
        return TestData(SHARED / "botocore-protocols", SHARED / "sigv4", SHARED / "aws-captures")
    return None


def require() -> TestData:
    """The test data, or skip the calling test with the reason."""
    import pytest

    data = testdata()
    if data is None:
        pytest.skip("AWS test data unavailable: botocore sdist download failed and ../shared/conformance "
                    "is absent (set CLOUDGATE_TESTDATA to a botocore source tree)")
    return data


if __name__ == "__main__":  # `python tests/testdata.py` pre-fetches the data (used by make test)
    print(testdata())
