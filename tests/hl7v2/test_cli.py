"""`fama hl7 send` against a loopback MLLP listener, `fama hl7 read` of ADT files, the demo step."""

import io
import json
from pathlib import Path

from fama_adapters.cli import main
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
