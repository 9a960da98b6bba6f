"""Runs INSIDE the suite venv (tempest + ec2api-tempest-plugin), never in the project venv.

Stand-alone on purpose: it imports nothing from compat-tests, so the venv's Python can run it by path.

    python worker.py list                 -> JSON on stdout: {"tests": [{"id", "full_id"}], "errors": [...]}
    python worker.py discover CONF.json   -> JSON on stdout: {"zone", "image_id", "ebs_image_id", "error"}
    python worker.py run                  -> reads {"tests": [ids]} (one JSON line) from stdin, runs them
                                             in one unittest suite (so setUpClass/tearDownClass run once per
                                             class) and writes one JSON event per line to the file
                                             descriptor named by EC2SUITE_EVENT_FD.

Events: {"event": "start", "id"}, {"event": "end", "id", "status": passed|failed|skipped, "duration",
"reason", "details"}, {"event": "fixture", "phase", "cls", "status", "reason", "details"} for a failed or
skipped setUpClass/tearDownClass, {"event": "done"}.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import unittest

PACKAGE = "ec2api_tempest_plugin"
MAX_DETAILS = 8000
_FIXTURE = re.compile(r"^(\w+) \((.+)\)$")


def plain_id(test: unittest.TestCase) -> str:
    """module.Class.method: tempest's test.id() appends `[id-...,attrs]`, which the loader can't take."""
    cls = type(test)
    method = getattr(test, "_testMethodName", None)
    if method is None:
        return test.id()
    return f"{cls.__module__}.{cls.__qualname__}.{method}"


def iter_tests(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iter_tests(item)
        else:
            yield item


def discover_suite() -> tuple[unittest.TestSuite, list[str]]:
    import ec2api_tempest_plugin

    pkg_dir = os.path.dirname(ec2api_tempest_plugin.__file__)
    loader = unittest.TestLoader()
    suite = loader.discover(pkg_dir, pattern="test_*.py", top_level_dir=os.path.dirname(pkg_dir))
    return suite, list(loader.errors)


def cmd_list() -> int:
    suite, errors = discover_suite()
    tests = []
    for test in iter_tests(suite):
        if type(test).__name__ == "_FailedTest":  # an import error: reported, not listed as a test
            errors.append(f"{test.id()}: {getattr(test, '_exception', '')}")
            continue
        tests.append({"id": plain_id(test), "full_id": test.id()})
    json.dump({"tests": tests, "errors": [e.strip().splitlines()[-1] if e.strip() else e for e in errors]},
              sys.stdout)
    return 0


def cmd_discover(conf_path: str) -> int:
    """The first available zone and the first available instance-store / EBS machine images."""
    import botocore.config
    import botocore.session

    with open(conf_path) as handle:
        conf = json.load(handle)
    out: dict[str, object] = {"zone": None, "image_id": None, "ebs_image_id": None, "error": None}
    try:
        client = botocore.session.get_session().create_client(
            "ec2", endpoint_url=conf["endpoint"], region_name=conf["region"],
            aws_access_key_id=conf["access"], aws_secret_access_key=conf["secret"],
            config=botocore.config.Config(connect_timeout=10, read_timeout=30,
                                          retries={"total_max_attempts": 2, "mode": "standard"}))
        if conf.get("want_zone"):
            zones = client.describe_availability_zones().get("AvailabilityZones", [])
            usable = [z["ZoneName"] for z in zones if z.get("State", "available") == "available"]
            out["zone"] = usable[0] if usable else None
        if conf.get("want_images"):
            images = client.describe_images(Filters=[{"Name": "image-type", "Values": ["machine"]},
                                                     {"Name": "state", "Values": ["available"]}])
            for image in sorted(images.get("Images", []), key=lambda i: i.get("ImageId", "")):
                key = "ebs_image_id" if image.get("RootDeviceType") == "ebs" else "image_id"
                out[key] = out[key] or image["ImageId"]
            if out["ebs_image_id"] is None and conf.get("create_ebs_image"):
                out["ebs_image_id"] = make_ebs_image(client, out["zone"] or conf.get("zone"))
    except Exception as exc:  # reported to the caller, who prints it and goes on without
        out["error"] = f"{type(exc).__name__}: {exc}"
    json.dump(out, sys.stdout)
    return 0


EBS_IMAGE_NAME = "ec2suite-ebs-image"


def make_ebs_image(client, zone: str | None) -> str:
    """An EBS-backed machine image made through the endpoint itself: a 1 GiB volume, its snapshot, and
    RegisterImage with that snapshot as an 8 GiB root device (clouds such as Nova refuse a root volume
    smaller than the flavor's disk). It is kept (discovery finds it next time); the volume is deleted.
    Every wait is bounded."""
    if zone is None:
        zones = client.describe_availability_zones().get("AvailabilityZones", [])
        zone = zones[0]["ZoneName"] if zones else None
    volume = client.create_volume(Size=1, AvailabilityZone=zone)["VolumeId"]
    try:
        client.get_waiter("volume_available").wait(VolumeIds=[volume], WaiterConfig={"Delay": 2, "MaxAttempts": 60})
        snapshot = client.create_snapshot(VolumeId=volume, Description=EBS_IMAGE_NAME)["SnapshotId"]
        client.get_waiter("snapshot_completed").wait(SnapshotIds=[snapshot],
                                                     WaiterConfig={"Delay": 2, "MaxAttempts": 60})
    finally:
        try:
            client.delete_volume(VolumeId=volume)
        except Exception:  # noqa: BLE001 - a leftover 1 GiB volume must not fail the run
            pass
    return client.register_image(
        Name=EBS_IMAGE_NAME, Architecture="x86_64", VirtualizationType="hvm", RootDeviceName="/dev/vda",
        BlockDeviceMappings=[{"DeviceName": "/dev/vda",
                              "Ebs": {"SnapshotId": snapshot, "VolumeSize": 8, "DeleteOnTermination": True}}],
    )["ImageId"]


def first_line_of_exception(text: str) -> str:
    """From a formatted traceback, the first line of the (outermost) exception: 'Type: message'."""
    lines = text.rstrip().splitlines()
    start = 0
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            start = i + 1
    for line in lines[start:]:
        if line and not line.startswith((" ", "\t")) and not line.startswith("During handling"):
            return line.strip()[:500]
    return (lines[-1].strip() if lines else "")[:500]


class Reporter:
    """A unittest/testtools result that streams JSON events (testtools hands it `details`)."""

    def __init__(self, out) -> None:
        self.out = out
        self.started: dict[str, float] = {}
        self.shouldStop = False
        self.failures: list = []
        self.errors: list = []
        self.testsRun = 0

    # unittest.TestResult protocol -----------------------------------------------------------------
    def emit(self, **event) -> None:
        self.out.write(json.dumps(event) + "\n")
        self.out.flush()

    def startTestRun(self) -> None: ...

    def stopTestRun(self) -> None: ...

    def startTest(self, test) -> None:
        self.testsRun += 1
        tid = plain_id(test)
        self.started[tid] = time.monotonic()
        self.emit(event="start", id=tid)

    def stopTest(self, test) -> None: ...

    def wasSuccessful(self) -> bool:
        return not (self.failures or self.errors)

    def stop(self) -> None:
        self.shouldStop = True

    def _text(self, err, details) -> str:
        if err is not None:
            import traceback
            return "".join(traceback.format_exception(*err))
        if details:
            parts = []
            for name in ("traceback", "reason"):
                if name in details:
                    parts.append(details[name].as_text())
            if not parts:
                parts = [f"{k}: {v.as_text()}" for k, v in details.items() if not k.startswith("pythonlogging")]
            return "\n".join(parts)
        return ""

    def _logs(self, details) -> str:
        if not details:
            return ""
        logs = [v.as_text() for k, v in details.items() if k.startswith("pythonlogging")]
        return "\n".join(t for t in logs if t.strip())

    def _end(self, test, status: str, reason: str = "", text: str = "", details=None) -> None:
        fixture = _FIXTURE.match(test.id()) if not hasattr(test, "_testMethodName") else None
        if fixture:  # unittest's _ErrorHolder: setUpClass / tearDownClass of a class
            self.emit(event="fixture", phase=fixture.group(1), cls=fixture.group(2), status=status,
                      reason=reason, details=text[-MAX_DETAILS:])
            return
        tid = plain_id(test)
        started = self.started.pop(tid, None)
        duration = round(time.monotonic() - started, 3) if started is not None else 0.0
        logs = self._logs(details) if status == "failed" else ""
        self.emit(event="end", id=tid, status=status, duration=duration, reason=reason,
                  details=(text + ("\n--- log ---\n" + logs if logs else ""))[-MAX_DETAILS:])

    def addSuccess(self, test, details=None) -> None:
        self._end(test, "passed")

    def _fail(self, test, err=None, details=None) -> None:
        text = self._text(err, details)
        self.errors.append((test, text))
        self._end(test, "failed", first_line_of_exception(text), text, details)

    addFailure = _fail
    addError = _fail

    def addSkip(self, test, reason=None, details=None) -> None:
        if reason is None and details and "reason" in details:
            reason = details["reason"].as_text()
        self._end(test, "skipped", (reason or "").strip().splitlines()[0][:500] if reason else "")

    def addExpectedFailure(self, test, err=None, details=None) -> None:
        self._end(test, "passed", "expected failure")

    def addUnexpectedSuccess(self, test, details=None) -> None:
        self._end(test, "failed", "unexpected success")

    def addSubTest(self, test, subtest, err) -> None:
        if err is not None:
            self._fail(test, err)

    def addDuration(self, test, elapsed) -> None: ...

    # testtools extras
    def tags(self, new_tags, gone_tags) -> None: ...

    def time(self, a_datetime) -> None: ...

    def progress(self, offset, whence) -> None: ...


def cmd_run() -> int:
    request = json.loads(sys.stdin.readline())
    out = os.fdopen(int(os.environ["EC2SUITE_EVENT_FD"]), "w", buffering=1)
    reporter = Reporter(out)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for tid in request["tests"]:
        try:
            suite.addTests(loader.loadTestsFromName(tid))
        except Exception as exc:
            reporter.emit(event="end", id=tid, status="failed", duration=0.0,
                          reason=f"cannot load: {type(exc).__name__}: {exc}"[:500], details="")
    suite.run(reporter)
    reporter.emit(event="done")
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "list":
        return cmd_list()
    if argv[0] == "discover":
        return cmd_discover(argv[1])
    if argv[0] == "run":
        return cmd_run()
    print(f"unknown command {argv[0]!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
