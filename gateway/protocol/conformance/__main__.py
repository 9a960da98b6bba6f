"""`python -m gateway.protocol.conformance DIR [-v]`: one line per suite file; exit 1 on any failure."""

from __future__ import annotations

import argparse
import sys

from .runner import PROTOCOLS, run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gateway.protocol.conformance",
                                 description="Run botocore's protocol suites in the server direction.")
    ap.add_argument("dir", help="protocols directory: input/, output/, legacy/, protocol-tests-ignore-list.json")
    ap.add_argument("-v", "--verbose", action="store_true", help="print failures and XML differences")
    ap.add_argument("-p", "--protocol", action="append", choices=PROTOCOLS, help="limit to a protocol")
    args = ap.parse_args(argv)
    results = run(args.dir, tuple(args.protocol or PROTOCOLS))
    for res in results:
        print(res.line())
        if args.verbose:
            for failure in res.failures:
                print(f"    FAIL {failure}")
            for d in res.xml_diffs:
                print(f"    XML  {d}")
    return 0 if all(r.failed == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
