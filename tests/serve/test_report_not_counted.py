"""The commissioners' report over HTTP never quietly loses a client.

``GET /v1/report`` used to skip, silently, every client whose stored stream no
longer replayed: the figures shrank and nothing said so. It now folds event by
event as ``fama report`` folds a log (an event it cannot use is left out, the
client's others still apply) and says how many clients and events were not
counted, by reason code, never which clients.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
from hypothesis import given
from hypothesis import strategies as st
from serve_helpers import start_server, stop_server

from fama_adapters.http.tokens import TokenFile
from fama_adapters.report.bundle import NotCounted, tally_not_counted
from fama_adapters.store import open_store
from fama_core.events import event_from_json

ROOT = Path(__file__).parents[2]
CORPUS = ROOT / "tests" / "corpus" / "events-2026-11.jsonl"
CLIENT = "corpus-transferred"


def _events(client_id: str) -> list:
    text = b"\n".join(
        line for line in CORPUS.read_bytes().splitlines() if CLIENT.encode() in line
    ).decode()
    return [event_from_json(line) for line in text.replace(CLIENT, client_id).splitlines()]


def test_a_stream_that_fails_to_replay_is_counted_not_dropped(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/AG9.db", create=True)
    for n in range(5):
        store.append(f"whole-{n}", _events(f"whole-{n}"), expected_version=0)
    # Only a second session: the workflow refuses it, so nothing of this client counts.
    store.append("zq-lost-71", [_events("zq-lost-71")[1]], expected_version=0)
    # A whole journey and then a second closing of the episode, which is refused.
    partly = _events("zq-partly-72")
    again = partly[-1].model_copy(update={"event_id": partly[-1].event_id + "-again"})
    store.append("zq-partly-72", [*partly, again], expected_version=0)
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
    body = r.json()
    assert body["not_counted"] == {
        "clients": 1,
        "partly": 1,
        "events": 2,
        "reasons": {"refused": 2},
    }
    # The client with one refused event still counts, as fama report counts it.
    area = next(g for g in body["access"]["groups"] if g["dimension"] == "area")
    assert area["counts"]["introduced"] == 6
    # A commissioner is never told which clients.
    assert "zq-" not in r.text


_reasons = st.dictionaries(st.sampled_from(["unreadable", "refused"]), st.integers(0, 5))


@given(st.lists(st.tuples(st.booleans(), _reasons)), _reasons)
def test_the_tally_adds_up(clients, unattributed):
    got = tally_not_counted(clients, unattributed)
    hit = [(counted, r) for counted, r in clients if any(r.values())]
    assert got.clients == sum(1 for counted, _r in hit if not counted)
    assert got.partly == sum(1 for counted, _r in hit if counted)
    total: Counter[str] = Counter(unattributed)
    for _c, r in clients:
        total.update(r)
    assert got.reasons == {k: v for k, v in total.items() if v}
    assert got.events == sum(total.values())


def test_nothing_left_out_is_all_zero():
    assert tally_not_counted([]) == NotCounted()


def test_fama_report_counts_the_same_as_fama_serve(tmp_path):
    """The CLI's report carries the same tally for the same events."""
    import json

    from fama_adapters.report.io import stream_journeys
    from fama_core.events import event_to_json

    partly = _events("zq-partly-72")
    again = partly[-1].model_copy(update={"event_id": partly[-1].event_id + "-again"})
    log = tmp_path / "events.jsonl"
    lines = [event_to_json(e) for e in [*partly, again, _events("zq-lost-71")[1]]]
    log.write_text("\n".join([*lines, json.dumps({"kind": "nonsense"})]) + "\n")
    streamed = stream_journeys([log], [(None, None)])
    assert streamed.not_counted == NotCounted(
        clients=1, partly=1, events=3, reasons={"refused": 2, "unreadable": 1}
    )


def test_the_html_report_says_what_was_not_counted():
    import datetime as dt

    from fama_adapters.report.bundle import build_report
    from fama_adapters.report.html import render_html

    def page(left: NotCounted) -> str:
        report = build_report(
            area="Area", as_of=dt.date(2026, 11, 30), caseload=(), meetings=None, not_counted=left
        )
        return render_html(report)

    shown = page(NotCounted(clients=1, partly=2, events=4, reasons={"refused": 4}))
    assert 'id="not-counted"' in shown and "4 refused" in shown
    assert 'id="not-counted"' not in page(NotCounted())


def test_fama_report_writes_the_tally_into_report_json(tmp_path):
    import io
    import json

    from fama_adapters.cli import main
    from fama_core.events import event_to_json

    partly = _events("zq-partly-72")
    again = partly[-1].model_copy(update={"event_id": partly[-1].event_id + "-again"})
    log = tmp_path / "events.jsonl"
    log.write_text("\n".join(event_to_json(e) for e in [*partly, again]) + "\n")
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["report", "--events", str(log), "--out", str(tmp_path / "r"), "--as-of", "2026-11-30"],
        stdout=out,
        stderr=err,
    )
    assert code == 1  # a refused record, as before: named on stderr, report still written
    written = json.loads((tmp_path / "r" / "report.json").read_text("utf-8"))
    assert written["not_counted"] == {
        "clients": 0,
        "partly": 1,
        "events": 1,
        "reasons": {"refused": 1},
    }
