"""Every reader of a stored event log keeps an event that breaks only a rule added since.

The frozen 2026-11 corpus holds a group member's arrangement written before
``volunteer_attendance_recorded`` existed (it records no consistent
attendance). ``fama replay``, every read of a store and the NDTMS export
flag it and count it; the commissioners' report (CLI and ``fama serve``),
``fama fhir`` and ``fama pack`` refused it, and with it the result of the
arrangement, so the same log gave different counts in different outputs.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from fama_adapters.cli import main
from fama_adapters.report.io import load_caseload, stream_journeys
from fama_core.events import event_from_json
from fama_core.workflow import fold

ROOT = Path(__file__).parents[1]
CORPUS = ROOT / "tests" / "corpus" / "events-2026-11.jsonl"
CLIENT = "corpus-transferred"


def _events(client_id: str) -> list:
    lines = CORPUS.read_bytes().splitlines()
    events = [event_from_json(line) for line in lines if line.strip()]
    return [e for e in events if e.client_id == client_id]


def _replayed():
    return fold(_events(CLIENT), flag_newer_rules=True)


def test_the_corpus_holds_an_arrangement_only_a_newer_rule_refuses():
    """The premise: without the flag the workflow refuses it; a replay keeps it, flagged."""
    state = _replayed()
    assert [b.condition for ep in state.episodes for b in ep.breaches] == [
        "volunteer_attendance_recorded"
    ]
    assert len(state.episodes[0].accompaniments) == 1


def test_the_reports_caseload_keeps_what_a_replay_keeps():
    states, problems = load_caseload([CORPUS])
    assert [str(p) for p in problems] == []
    assert states[CLIENT] == _replayed()


def test_the_reports_streamed_caseload_refuses_nothing_a_replay_keeps():
    read = stream_journeys([CORPUS], [(None, None)])
    assert [str(p) for p in read.problems] == []
    assert read.clients == len({json.loads(line)["client_id"] for line in _lines()})


def _lines() -> list[bytes]:
    return [line for line in CORPUS.read_bytes().splitlines() if line.strip()]


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _area_counts(folder: Path) -> dict[str, str]:
    import csv

    with (folder / "figures.csv").open(encoding="utf-8") as fh:
        return {
            r["measure"]: r["value"]
            for r in csv.DictReader(fh)
            if r["dimension"] == "area" and r["unit"] == "clients"
        }


def test_fama_report_counts_the_arrangement_stored_before_the_rule(tmp_path):
    code, _out, err = _run(
        "report",
        "--events",
        str(CORPUS),
        "--out",
        str(tmp_path / "r"),
        "--as-of",
        "2026-11-30",
        "--threshold",
        "1",
    )
    assert code == 0, err
    assert "volunteer_attendance_recorded" not in err
    arranged = sum(
        1
        for cid in {json.loads(line)["client_id"] for line in _lines()}
        if any(ep.accompaniments for ep in fold(_events(cid), flag_newer_rules=True).episodes)
    )
    assert _area_counts(tmp_path / "r")["accompaniment_arranged"] == str(arranged)


def test_fama_fhir_bundle_keeps_the_arrangement_stored_before_the_rule(tmp_path):
    code, _out, err = _run("fhir", "bundle", str(CORPUS), "--out", str(tmp_path / "b"))
    assert code == 0, err
    assert "volunteer_attendance_recorded" not in err


def test_fama_pack_reads_a_client_whose_arrangement_predates_the_rule(tmp_path):
    log = tmp_path / "client.jsonl"
    log.write_bytes(b"\n".join(line for line in _lines() if CLIENT.encode() in line) + b"\n")
    examples = ROOT / "examples" / "meetings"
    directory = tmp_path / "dir.json"
    code, _out, err = _run(
        "meetings", "import", str(examples / "aa-northbridge.json"), "--out", str(directory)
    )
    assert code == 0, err
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps(
            {
                "availability": {
                    "timezone": "Europe/London",
                    "week_starts": "2026-03-02",
                    "windows": [{"day": d, "start": "17:00", "end": "23:00"} for d in range(7)],
                }
            }
        ),
        "utf-8",
    )
    code, _out, err = _run(
        "pack",
        "--events",
        str(log),
        "--directory",
        str(directory),
        "--request",
        str(request),
        "--out",
        str(tmp_path / "pack.html"),
    )
    assert code == 0, err
    assert "volunteer_attendance_recorded" not in err


def test_fama_serve_reports_clients_whose_arrangement_predates_the_rule(tmp_path):
    """Five copies of the client (above the threshold): none may drop out of the report."""
    import sys

    import httpx

    sys.path.insert(0, str(ROOT / "tests" / "serve"))
    from serve_helpers import start_server, stop_server

    from fama_adapters.http.tokens import TokenFile
    from fama_adapters.store import open_store

    text = b"\n".join(line for line in _lines() if CLIENT.encode() in line).decode()
    store = open_store(f"sqlite:///{tmp_path}/AG9.db", create=True)
    for n in range(5):
        copy = [event_from_json(line) for line in text.replace(CLIENT, f"{CLIENT}{n}").splitlines()]
        store.append(f"{CLIENT}{n}", copy, expected_version=0)
    store.close()
    secret, _record = TokenFile(tmp_path / "tokens.json").issue(
        agency="AG9", role="commissioner", name="comm"
    )
    proc, base = start_server(tmp_path, "--store", f"sqlite:///{tmp_path}/{{agency}}.db")
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=60
        ) as http:
            r = http.get("/v1/report", params={"as_of": "2026-11-30", "to": "2026-11-29"})
    finally:
        stop_server(proc)
    assert r.status_code == 200, r.text
    area = next(g for g in r.json()["access"]["groups"] if g["dimension"] == "area")
    assert area["counts"]["introduced"] == 5
    assert area["counts"]["accompaniment_arranged"] == 5
