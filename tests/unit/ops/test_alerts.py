"""Red lines: a tenant's conversations driven across the complaint-rate threshold raise exactly
one alert and one recovery, delivered to a real HTTP receiver on a loopback port."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assist.ops.alerts import WebhookNotifier
from assist.ops.service import OpsService

from .conftest import conv

pytestmark = pytest.mark.fast


class _Receiver:
    def __init__(self, fail_first: int = 0) -> None:
        self.notices: list[dict] = []
        self.fail_first = fail_first
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.hits += 1
                if outer.hits <= outer.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                outer.notices.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    with _Receiver(fail_first=1) as r:  # the first POST fails: the retry must deliver it
        yield r


def test_one_alert_and_one_recovery(ops: OpsService, receiver: _Receiver) -> None:
    ops.notifier = WebhookNotifier(receiver.url, backoff_s=0.01)
    ops.monitor.notifier = ops.notifier
    events: list[dict] = []
    ops.monitor.on_event = lambda name, f: events.append(f)
    n = 0

    def send(k: int, complaint: bool) -> None:
        nonlocal n
        recs = []
        for _ in range(k):
            n += 1
            recs.append((n, conv(f"x{n}", hour=8 + n % 10, complaint=complaint), None))
        ops.import_records("nova", recs)

    send(10, False)                 # 0% complaints: under the 15% line
    assert receiver.notices == []
    send(3, True)                   # 3/13 = 23%: over
    send(2, True)                   # 5/15 = 33%: still over, de-duplicated
    assert [x["status"] for x in receiver.notices] == ["firing"]
    send(25, False)                 # 5/40 = 12.5%: back under
    assert [x["status"] for x in receiver.notices] == ["firing", "resolved"]
    fired, resolved = receiver.notices
    assert fired["metric"] == resolved["metric"] == "complaint_rate"
    assert fired["window"] == resolved["window"] == "day:2026-11-03"
    assert fired["value"] > 0.15 >= resolved["value"]
    assert [e["status"] for e in events] == ["firing", "resolved"]
    alerts = ops.alerts("nova")
    assert len(alerts) == 1 and alerts[0]["state"] == "resolved" and alerts[0]["notified"] == 1
    assert receiver.hits == 3  # one failed try, then the alert, then the recovery
    # evaluating again sends nothing
    ops.evaluate_alerts("nova")
    assert len(receiver.notices) == 2


def test_undelivered_notice_is_sent_later(ops: OpsService) -> None:
    with _Receiver(fail_first=100) as down:
        ops.monitor.notifier = WebhookNotifier(down.url, attempts=2, backoff_s=0.01)
        ops.import_records("nova", [(i, conv(f"y{i}", complaint=True), None) for i in range(12)])
        assert down.notices == [] and ops.alerts("nova")[0]["notified"] == 0
    with _Receiver() as up:
        ops.monitor.notifier = WebhookNotifier(up.url, backoff_s=0.01)
        ops.evaluate_alerts("nova")
        assert [x["status"] for x in up.notices] == ["firing"] and up.notices[0]["redelivery"]
    assert ops.alerts("nova")[0]["notified"] == 1


def test_reevaluating_past_data_raises_nothing_twice(ops: OpsService) -> None:
    recs = []
    for d, complaints in (("2026-11-02", 0), ("2026-11-03", 5), ("2026-11-04", 6), ("2026-11-05", 0),
                          ("2026-11-06", 6)):
        recs += [(len(recs) + i, conv(f"{d}-{i}", day=d, complaint=i < complaints), None) for i in range(12)]
    ops.import_records("nova", recs)
    first = [(a["window"], a["state"]) for a in ops.alerts("nova") if a["metric"] == "complaint_rate"]
    assert first == [("day:2026-11-03", "resolved"), ("day:2026-11-06", "firing")]
    assert ops.evaluate_alerts("nova") == []
    ops.inspect("nova", ops.store.ids("nova"))
    assert ops.evaluate_alerts("nova") == []
    assert [(a["window"], a["state"]) for a in ops.alerts("nova") if a["metric"] == "complaint_rate"] == first
