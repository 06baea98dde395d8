"""`fama fhir submit` against real loopback servers: exit codes, confirmation, masked URLs."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from fama_adapters.cli import main
from fama_adapters.fhir.testing import FakeFhirServer, ScriptedFailure
from fama_adapters.plugins import PluginHost

ROOT = Path(__file__).parent.parent.parent
JOURNEYS = ("engaged-after-two-cycles.jsonl", "transferred.jsonl")


@pytest.fixture
def events(tmp_path: Path) -> Path:
    log = tmp_path / "events.jsonl"
    log.write_text(
        "".join((ROOT / "examples" / "journeys" / f).read_text("utf-8") for f in JOURNEYS)
    )
    return log


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, host=PluginHost(entry_points=False))
    return code, out.getvalue(), err.getvalue()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_every_bundle_confirmed_is_exit_0(events: Path) -> None:
    with FakeFhirServer() as server:
        code, out, _err = run("fhir", "submit", str(events), "--base", server.base_url)
    assert code == 0
    assert out.count("demo-c0") == 2


def test_a_server_that_is_down_is_nothing_sent_exit_3_like_hl7_send(events: Path) -> None:
    """Issue 15: `fama fhir submit` with the server down exited 1, `fama hl7 send` 3."""
    base = f"http://fama:hunter2@127.0.0.1:{closed_port()}/fhir?token=t0k"
    code, _out, err = run("fhir", "submit", str(events), "--base", base, "--timeout", "2")
    assert code == 3
    assert "2 client(s) not sent, 0 sent" in err
    assert "hunter2" not in err and "t0k" not in err  # issue 11 item 7
    assert "fama:***@127.0.0.1" in err


def test_an_empty_transaction_response_is_not_counted_as_sent(events: Path) -> None:
    """Issue 11 item 2: `"entry": []` gave exit 0 and "0 created"."""
    empty = {"resourceType": "Bundle", "type": "transaction-response", "entry": []}
    with FakeFhirServer() as server:
        server.fail_next(ScriptedFailure(200, outcome=empty))
        code, out, err = run("fhir", "submit", str(events), "--base", server.base_url, "--json")
    assert code == 1
    assert "did not confirm the transaction" in err
    import json

    assert len(json.loads(out)) == 1  # only the confirmed client is listed


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "0"])
def test_a_timeout_that_is_no_deadline_is_a_usage_error(
    events: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11 item 4: `--timeout -1`/`nan` were tracebacks."""
    code, _out, err = run("fhir", "submit", str(events), "--base", "http://h/", "--timeout", value)
    printed = err + capsys.readouterr().err
    assert code == 2
    assert "--timeout" in printed and "Traceback" not in printed


def test_a_broken_base_url_is_a_usage_error_without_the_url(
    events: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11 item 4: `--base "http://[::1"` was a traceback."""
    code, _out, err = run("fhir", "submit", str(events), "--base", "http://u:pw@[::1")
    printed = err + capsys.readouterr().err  # argparse writes its usage errors itself
    assert code == 2
    assert "not a valid URL" in printed
    assert "pw" not in printed and "Traceback" not in printed
