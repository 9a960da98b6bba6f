"""Integrity under crashes, a bounded sample (bench/crash_integrity.py runs ≥10,000 operations).

Concurrent S3 PUT/GET/multipart with checksums against a `cloudgate serve` subprocess on a private proxy of
the devcloud tempauth Swift (tests/faults/crash.py), while the gateway is SIGKILLed and restarted and that
private proxy restarted once: no GET returns a partial, mixed or stale body, every acknowledged write reads
back at the end (0 bytes lost), every interrupted multipart upload is resumed or aborted, and no Swift
segment is left after the clean-up.
"""

from __future__ import annotations

from tests.conftest import SwiftEndpoint
from tests.faults.crash import Settings, arrangement, run


def test_no_partial_reads_no_lost_writes_no_orphans_across_kills(swift_endpoint: SwiftEndpoint) -> None:
    settings = Settings(operations=300, workers=10, keys_per_worker=4, kill_every=4, swift_restart_every=8,
                        multipart_share=0.08, seed=1616, min_gateway_kills=1)
    with arrangement() as (swift, gw):
        report = run(swift, gw, settings)
    t = report.tally
    assert report.gateway_kills >= 1, "the sample ended before any crash: nothing was tested"
    assert t.ops["put ok"] > 0 and t.ops["get ok"] > 0, t.ops
    assert t.violations == []
    assert report.final_lost_keys == [] and t.bytes_lost == 0
    assert report.segments_after == 0
