"""botocore's protocol suites run in the server direction: `python -m gateway.protocol.conformance DIR`.

`run(DIR)` returns one `FileResult` per suite file; adapters implement `adapter.ProtocolAdapter`.
"""

from .runner import FileResult, run

__all__ = ["FileResult", "run"]
