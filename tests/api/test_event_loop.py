"""No request freezes the server: while a large upload, a large preview and a 5,000-turn
draft run, ``/healthz`` keeps answering within 100 ms of its idle latency.

Measured against the session's real uvicorn server on loopback. The bound: the 90th
percentile of ``/healthz`` latencies taken during the heavy requests may exceed the idle
median by at most 100 ms (the issue's target), and no single probe may take a second.
A percentile rather than the maximum, because on a shared 2-core CI machine the heavy
work's threads hold the GIL for a few milliseconds at a time and the scheduler adds noise
of its own; before the heavy work left the event loop, probes waited 15 to 54 seconds.
"""

from __future__ import annotations

import io
import statistics
import threading
import time
import zipfile

import httpx
import pytest

from tests.api.conftest import MAX_FILE_BYTES, Service

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _probe(base_url: str, until: threading.Event, out: list[float]) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        while not until.is_set():
            t = time.perf_counter()
            c.get("/healthz").raise_for_status()
            out.append(time.perf_counter() - t)
            time.sleep(0.02)


def _markdown(n_bytes: int, aid: str) -> bytes:
    head = f"---\nid: {aid}\ntitle: Long manual\nlanguage: en\ntype: manual\n---\n# Long manual\n\n"
    para = ("Section {i}. The warranty covers manufacturing defects for twelve months; keep the receipt "
            "and the serial number, and describe the fault when you contact support. ")
    body, i = [], 0
    while sum(len(p) for p in body) < n_bytes - len(head) - 400:
        body.append(f"## Part {i}\n\n" + para.format(i=i) * 3 + "\n\n")
        i += 1
    return (head + "".join(body)).encode()


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document>" + "<w:p/>" * 20_000_000 + "</w:document>")
    return buf.getvalue()


def test_healthz_stays_fast_while_heavy_requests_run(service: Service) -> None:
    idle: list[float] = []
    stop = threading.Event()
    t = threading.Thread(target=_probe, args=(service.base_url, stop, idle))
    t.start()
    time.sleep(1.5)
    stop.set()
    t.join()
    baseline = statistics.median(idle)

    heavy_errors: list[str] = []
    bomb = _zip_bomb()
    assert len(bomb) < MAX_FILE_BYTES  # small on the wire, 120 MB expanded

    def heavy() -> None:
        with service.client("knowledge_manager", timeout=600) as km, service.client(timeout=600) as agent:
            big = _markdown(MAX_FILE_BYTES - 1000, "event-loop-long-manual")
            mid = _markdown(60_000, "event-loop-mid-manual")
            r = km.post("/v1/articles/preview", files=[("files", ("long.md", big, "text/markdown"))])
            if r.status_code != 200:
                heavy_errors.append(f"preview {r.status_code} {r.text[:200]}")
            r = km.post("/v1/articles/upload", files=[("files", ("mid.md", mid, "text/markdown")),
                                                      ("files", ("bomb.docx", bomb, "application/octet-stream"))])
            if r.status_code != 200 or "zip bomb" not in r.text and "expands" not in r.text:
                heavy_errors.append(f"upload {r.status_code} {r.text[:300]}")
            turns = [{"role": "customer" if i % 2 else "agent", "text": f"第{i}轮：我的电话13812345678，退款呢？"}
                     for i in range(5000)]
            r = agent.post("/v1/assist/draft", json={"turns": turns})
            if r.status_code >= 500:
                heavy_errors.append(f"draft {r.status_code} {r.text[:200]}")

    during: list[float] = []
    stop = threading.Event()
    prober = threading.Thread(target=_probe, args=(service.base_url, stop, during))
    worker = threading.Thread(target=heavy)
    started = time.perf_counter()
    prober.start()
    worker.start()
    worker.join()
    stop.set()
    prober.join()
    took = time.perf_counter() - started
    assert not heavy_errors, heavy_errors
    assert took > 1.0, f"the heavy requests took only {took:.2f} s: not a meaningful load"
    during.sort()
    p90 = during[int(0.9 * (len(during) - 1))]
    print(f"healthz idle median {baseline * 1000:.1f} ms; during {took:.1f} s of heavy requests: "
          f"{len(during)} probes, p50 {statistics.median(during) * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms, "
          f"max {during[-1] * 1000:.1f} ms")
    assert p90 - baseline < 0.100, f"p90 {p90 * 1000:.0f} ms vs idle {baseline * 1000:.0f} ms"
    assert during[-1] < 1.0, f"a probe waited {during[-1]:.2f} s"
