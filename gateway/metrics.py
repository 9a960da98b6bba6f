"""Request counters and latency sums in Prometheus text format (served at /metrics)."""

from __future__ import annotations

from collections import Counter

# The status label of a request whose client hung up before the answer was complete (nginx's 499 "client
# closed request"): never counted as a 5xx, since the gateway did not fail.
CLIENT_CLOSED = 499


class Metrics:
    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.seconds: Counter[tuple[str, str]] = Counter()
        self.in_flight = 0

    def observe(self, service: str, operation: str, status: int, seconds: float) -> None:
        self.requests[(service, operation, status)] += 1
        self.seconds[(service, operation)] += seconds

    def render(self) -> str:
        lines = ["# TYPE cloudgate_requests_total counter"]
        for (svc, op, status), n in sorted(self.requests.items()):
            lines.append(f'cloudgate_requests_total{{service="{svc}",operation="{op}",status="{status}"}} {n}')
        lines.append("# TYPE cloudgate_request_seconds_total counter")
        for (svc, op), s in sorted(self.seconds.items()):
            lines.append(f'cloudgate_request_seconds_total{{service="{svc}",operation="{op}"}} {s:.6f}')
        lines.append("# TYPE cloudgate_requests_in_flight gauge")
        lines.append(f"cloudgate_requests_in_flight {self.in_flight}")
        return "\n".join(lines) + "\n"
