"""`fama hl7 send` against a loopback MLLP listener, `fama hl7 read` of ADT files, the demo step."""

import datetime as dt
import io
import json
from pathlib import Path

import pytest

from fama_adapters.cli import main
from fama_adapters.hl7v2 import er7
from fama_adapters.hl7v2.mllp import frame
from fama_adapters.plugins import PluginHost

from .test_adapter import adt
from .test_mllp import Listener, ack

HL7_ONLY = ("fama_adapters.cli.core_commands", "fama_adapters.hl7v2.plugin")


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    host = PluginHost(builtins=HL7_ONLY, entry_points=False)  # the demo without other adapters
    code = main(list(argv), stdout=out, stderr=err, host=host)
    return code, out.getvalue(), err.getvalue()


def test_send_reports_each_control_id_and_answer_without_content(tmp_path):
    path = tmp_path / "batch.hl7"
    path.write_bytes((adt("A01") + "\r" + adt("A08")).encode())
    server = Listener([lambda cid: ack("AA", cid), lambda cid: ack("AE", cid)])
    try:
        code, out, _ = run("hl7", "send", str(path), "--port", str(server.port), "--json")
    finally:
        server.close()
    assert code == 1  # one message refused
    sent = json.loads(out)["sent"]
    assert [(s["control_id"], s["ack"]) for s in sent] == [("m-A01", "AA"), ("m-A08", "AE")]
    assert "tx-9" not in out


def test_read_prints_treatment_contexts_and_problems(tmp_path):
    good, bad = tmp_path / "a.hl7", tmp_path / "b.hl7"
    good.write_text(adt("A01"))
    bad.write_text(adt("A08").replace("|tx-9", "|"))
    code, out, _ = run("hl7", "read", str(good), str(bad), "--json")
    assert code == 1
    data = json.loads(out)
    assert [c["treatment_episode_id"] for c in data["contexts"]] == ["tx-9"]
    assert "PV1-19" in data["problems"][0]


def test_demo_writes_the_caseload_as_hl7_files(tmp_path):
    examples = Path(__file__).resolve().parents[2] / "examples"
    code, out, _ = run("demo", "--examples", str(examples), "--out", str(tmp_path))
    assert code == 0
    files = sorted(p.name for p in (tmp_path / "hl7").iterdir())
    assert len(files) == 41 and files[0] == "demo-c001-001-session.hl7"
    assert "HL7 v2.5 messages" in out
    assert "loopback receiver (hl7apy, STRICT validation): 41 AA" in out


def test_send_in_text_mode_keeps_the_acknowledged_messages_when_a_later_one_times_out(tmp_path):
    """Issue 11 item 9: text mode hid the messages already acknowledged."""
    path = tmp_path / "batch.hl7"
    path.write_bytes((adt("A01") + "\r" + adt("A08") + "\r" + adt("A02")).encode())
    server = Listener([lambda cid: ack("AA", cid)] + [lambda cid: None] * 3)
    try:
        code, out, _ = run(
            "hl7", "send", str(path), "--port", str(server.port), "--timeout", "0.3",
            "--retries", "0",
        )  # fmt: skip
    finally:
        server.close()
    assert code == 3  # nothing more could be sent
    assert "m-A01" in out and "AA" in out
    assert "2 message(s) not sent" in out


def test_send_shows_the_receivers_reason_for_an_error(tmp_path):
    """Issue 15: the reason of an AE (MSA-3, ERR) was never shown."""
    path = tmp_path / "one.hl7"
    path.write_bytes(adt("A01").encode())

    def refuse(cid):
        return frame(
            "MSH|^~\\&|RECV||FAMA||20260309170001+0000||ACK^A01^ACK|a-1|P|2.5\r"
            f"MSA|AE|{cid}|Patient\x1b]0;pwned\x07 unknown\rERR||PID^1^3|204^Unknown key^HL70357|E"
        )

    server = Listener([refuse])
    try:
        code, out, _ = run("hl7", "send", str(path), "--port", str(server.port))
    finally:
        server.close()
    assert code == 1
    assert 'AE error 204 "Unknown key" at PID-1-3 severity E; "Patient' in out
    assert "\x1b" not in out and "\x07" not in out


def test_send_refuses_a_message_carrying_a_framing_byte_and_sends_the_others(tmp_path):
    path = tmp_path / "batch.hl7"
    poisoned = adt("A01").replace("tx-9", "tx\x1c9")
    path.write_bytes((poisoned + "\r" + adt("A08")).encode())
    server = Listener([lambda cid: ack("AA", cid)])
    try:
        code, out, _ = run("hl7", "send", str(path), "--port", str(server.port), "--json")
    finally:
        server.close()
    assert code == 1
    sent = json.loads(out)["sent"]
    assert [s["ack"][:8] for s in sent] == ["not sent", "AA"]
    assert "framing byte" in sent[0]["ack"]
    assert [er7.parse(m).control_id for m in server.received] == ["m-A08"]


@pytest.mark.parametrize(
    "option", [("--timeout", "-1"), ("--timeout", "nan"), ("--retries", "-1"), ("--port", "0")]
)
def test_send_refuses_a_bad_option_as_a_usage_error(tmp_path, option, capsys):
    """Issue 11 item 4: `--timeout -1`/`nan` were tracebacks; `--retries -1` sent nothing."""
    path = tmp_path / "one.hl7"
    path.write_bytes(adt("A01").encode())
    code, _out, err = run("hl7", "send", str(path), *option)
    assert code == 2
    assert "Traceback" not in err + capsys.readouterr().err


def test_read_never_prints_a_hostile_discharge_disposition(tmp_path):
    """Regression: PV1-36 was printed as sent (markup, bidi controls) in `hl7 read --json`."""
    hostile = "<img src=x onerror=alert(1)>"
    text = adt("A03", ended_on=dt.date(2026, 3, 1), end_reason="02")
    path = tmp_path / "a.hl7"
    path.write_text(text.replace("|02|", "|" + hostile + "|", 1))
    code, out, err = run("hl7", "read", str(path), "--json")
    assert code == 1
    data = json.loads(out)
    assert data["contexts"] == [] and "PV1-36" in data["problems"][0]
    assert "<img" not in out + err and "onerror" not in out + err


def test_read_checks_pv1_36_against_the_table_given(tmp_path):
    path = tmp_path / "a.hl7"
    path.write_text(adt("A03", ended_on=dt.date(2026, 3, 1), end_reason="09"))
    code, out, _ = run("hl7", "read", str(path), "--json", "--disposition-codes", "01,02")
    assert code == 1 and "configured table 0112" in json.loads(out)["problems"][0]
    code, out, _ = run("hl7", "read", str(path), "--json", "--disposition-codes", "01, 09")
    assert code == 0 and json.loads(out)["contexts"][0]["end_reason"] == "09"


@pytest.mark.parametrize("codes", ["", ",", "01,<b>", "a b"])
def test_a_disposition_table_that_is_not_codes_is_a_usage_error(tmp_path, codes, capsys):
    path = tmp_path / "a.hl7"
    path.write_text(adt("A01"))
    code, _out, err = run("hl7", "read", str(path), "--disposition-codes", codes)
    err += capsys.readouterr().err
    assert code == 2 and "--disposition-codes" in err and "<b>" not in err
