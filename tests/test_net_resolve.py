"""Name resolution counts against the network deadline (docs/network.md, decision N16).

A resolver that never answers is stood in for ``socket.getaddrinfo`` (the
function fama's lookups call) for names under ``hangs.test``; every other
name goes to the real resolver. Each call must fail at its deadline with
fama's usual network error and exit code, not wait for the resolver.
"""

from __future__ import annotations

import datetime as dt
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fama_adapters import _resolve, net
from fama_adapters.cli import main
from fama_adapters.hl7v2.mllp import MllpClient
from fama_adapters.net_testing import Answer, LoopbackHttpServer
from fama_adapters.plugins import PluginHost
from fama_core.builders import JourneyBuilder
from fama_core.errors import TransportError
from fama_core.events import event_to_json

ROOT = Path(__file__).parent.parent


class HangingResolver:
    """``getaddrinfo`` that hangs for ``*.hangs.test`` until released, fails ``*.nx.test``."""

    def __init__(self) -> None:
        self.real = socket.getaddrinfo
        self.release = threading.Event()
        self.asked: list[str] = []

    def __call__(self, host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".hangs.test"):
            self.asked.append(host)
            self.release.wait(120)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        if isinstance(host, str) and host.endswith(".nx.test"):
            self.asked.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.real(host, *args, **kwargs)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[HangingResolver]:
    fake = HangingResolver()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    yield fake
    fake.release.set()  # the lookup threads end and free their slots


def test_a_resolver_that_hangs_ends_at_the_deadline(resolver: HangingResolver) -> None:
    started = time.monotonic()
    with pytest.raises(net.DeadlineExceeded) as caught:
        net.request("GET", "http://feed.hangs.test/meetings", limits=net.Limits(deadline=0.5))
    assert resolver.asked == ["feed.hangs.test"]  # the lookup went through the stand-in
    assert "no complete answer within 0.5 s" in str(caught.value)
    assert time.monotonic() - started < 60  # a bound, not a timing assertion: it hung 120 s


def test_the_deadline_covers_the_lookup_with_a_callers_own_deadline_client(
    resolver: HangingResolver,
) -> None:
    with net.http_client() as client, pytest.raises(net.DeadlineExceeded):
        net.request(
            "GET", "https://fhir.hangs.test/fhir", client=client, limits=net.Limits(deadline=0.4)
        )


def test_a_name_that_does_not_resolve_is_a_connection_failure(resolver: HangingResolver) -> None:
    with pytest.raises(net.ConnectionFailed) as caught:
        net.request("GET", "http://feed.nx.test/x", limits=net.Limits(deadline=5))
    assert caught.value.cause == "ConnectError"


def test_a_name_that_resolves_is_connected_to(resolver: HangingResolver) -> None:
    with LoopbackHttpServer({"/x": Answer(200, b"hello")}) as server:
        url = server.url.replace("127.0.0.1", "localhost") + "/x"
        assert "localhost" in url
        answer = net.request("GET", url, limits=net.Limits(deadline=10))
    assert answer.status_code == 200 and answer.content == b"hello"


def test_lookups_in_flight_are_bounded(resolver: HangingResolver) -> None:
    """A resolver hanging for every name cannot make a long-running process pile up threads."""
    failures = 0
    for n in range(_resolve.MAX_LOOKUPS + 4):
        try:
            _resolve.resolve(f"h{n}.hangs.test", 443, 0.05)
        except TimeoutError:
            failures += 1
    assert failures == _resolve.MAX_LOOKUPS + 4
    time.sleep(0.2)  # let the last started lookups reach the stand-in
    assert len(resolver.asked) <= _resolve.MAX_LOOKUPS
    hung = [t for t in threading.enumerate() if t.name == "fama-resolve"]
    assert len(hung) <= _resolve.MAX_LOOKUPS and all(t.daemon for t in hung)


def test_mllp_send_ends_at_its_deadline(resolver: HangingResolver) -> None:
    message = "MSH|^~\\&|FAMA|PROV|||20260309170000+0000||ADT^A01^ADT_A01|m-1|P|2.5\rPID|||c-1"
    client = MllpClient("mllp.hangs.test", 2575, timeout=0.3, retries=0)
    with pytest.raises(TransportError):
        client.send(message)
    assert resolver.asked == ["mllp.hangs.test"]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, host=PluginHost(entry_points=False))
    return int(code), out.getvalue(), err.getvalue()


def test_fhir_submit_to_a_server_whose_name_hangs_exits_3_at_the_deadline(
    resolver: HangingResolver, tmp_path: Path
) -> None:
    b = JourneyBuilder("c-1", start=dt.date(2026, 3, 2)).open().session1()
    events = tmp_path / "events.jsonl"
    events.write_text("".join(event_to_json(e) + "\n" for e in b.events), "utf-8")
    code, _out, err = run(
        "fhir", "submit", str(events), "--base", "http://fhir.hangs.test/fhir", "--timeout", "0.5"
    )
    assert code == 3
    assert "no complete answer within 0.5 s" in err and "Traceback" not in err
    assert resolver.asked and set(resolver.asked) == {"fhir.hangs.test"}


def test_hl7_send_to_a_host_whose_name_hangs_exits_3(
    resolver: HangingResolver, tmp_path: Path
) -> None:
    path = tmp_path / "a.hl7"
    path.write_text(
        "MSH|^~\\&|FAMA|PROV|||20260309170000+0000||ADT^A01^ADT_A01|m-1|P|2.5\rPID|||c-1\r"
    )
    code, out, _err = run(
        "hl7", "send", str(path), "--host", "mllp.hangs.test", "--timeout", "0.3", "--retries", "0"
    )
    assert code == 3
    assert "m-1" in out or "1 message(s) not sent" in out
