"""The store subcommands: init, record, show, replay, and the demo step."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fama_adapters.cli import main
from fama_adapters.cli.progress import Progress
from fama_core.builders import JourneyBuilder
from fama_core.codes import ExperienceLevel, GoalKind
from fama_core.events import event_to_json

ROOT = Path(__file__).parent.parent.parent


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(*argv, stdout=None, stderr=None):
    out, err = stdout or io.StringIO(), stderr or io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def lines_file(tmp_path, events, extra=()) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([*(event_to_json(e) for e in events), *extra]) + "\n")
    return path


def journey(client="c1"):
    b = JourneyBuilder(client, keyworker_id="kw-1", start=dt.date(2026, 3, 2))
    return b.open().session1().goal(GoalKind.OTHER, description="secret words")


@pytest.fixture
def url(store_url):
    assert run("init", "--store", store_url)[0] == 0
    return store_url


def test_init_creates_a_store_then_finds_it(sqlite_url):
    code, out, _ = run("init", "--store", sqlite_url, "--json")
    assert code == 0 and json.loads(out)["created"] is True
    code, out, _ = run("init", "--store", sqlite_url)
    assert code == 0 and out.startswith("already a fama store")


def test_the_store_comes_from_FAMA_STORE_when_no_option_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("FAMA_STORE", f"sqlite:///{tmp_path / 'env.db'}")
    assert run("init")[0] == 0
    assert (tmp_path / "env.db").is_file()


def test_a_command_on_a_missing_store_fails_with_exit_3(tmp_path):
    code, _, err = run("replay", "--store", f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 3 and "fama init" in err


def test_an_unknown_store_scheme_fails_with_the_known_ones(tmp_path):
    code, _, err = run("init", "--store", "mongodb://x")
    assert code == 3 and "sqlite" in err


def test_record_stores_a_file_and_exits_0(url, tmp_path):
    code, out, _ = run("record", str(lines_file(tmp_path, journey().events)), "--store", url)
    assert code == 0 and "recorded 3 events for 1 client;" in out


def test_record_reports_each_refused_line_and_carries_on_with_exit_1(url, tmp_path):
    good, bad = journey("c1").events, journey("c2").events
    path = lines_file(tmp_path, [*good, bad[1], bad[0]], extra=['{"kind": "nope"}'])
    code, out, _ = run("record", str(path), "--store", url, "--json")
    report = json.loads(out)
    assert code == 1
    assert report["recorded"] == 4
    assert [(r["line"], r["error"]) for r in report["refused"]] == [
        (4, "TransitionRefused"),
        (6, "InvalidRecord"),
    ]
    assert report["refused"][0]["condition"] == "allowed_in_state"


def test_record_reads_standard_input(sqlite_url, tmp_path):
    run("init", "--store", sqlite_url)
    text = "".join(event_to_json(e) + "\n" for e in journey().events)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "fama"), "record", "--store", sqlite_url, "--json"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["recorded"] == 3


def test_show_prints_state_goals_history_with_free_text_redacted(url, tmp_path):
    run("record", str(lines_file(tmp_path, journey().events)), "--store", url)
    code, out, _ = run("show", "c1", "--store", url)
    assert code == 0
    assert "status introduced" in out and "goals" in out and "history" in out
    assert "next: session 2" in out
    assert "secret words" not in out and "[redacted]" in out


def test_show_reveal_shows_free_text(url, tmp_path):
    run("record", str(lines_file(tmp_path, journey().events)), "--store", url)
    code, out, _ = run("show", "c1", "--store", url, "--reveal", "--json")
    view = json.loads(out)
    assert code == 0 and view["redacted"] is False
    assert "secret words" in out
    assert [h["version"] for h in view["history"]] == [1, 2, 3]
    assert view["due_next"]["next_session"] == "2"


def test_show_json_redacts_by_default(url, tmp_path):
    run("record", str(lines_file(tmp_path, journey().events)), "--store", url)
    out = run("show", "c1", "--store", url, "--json")[1]
    assert "secret words" not in out and json.loads(out)["redacted"] is True


def test_show_of_an_unknown_client_exits_3(url):
    code, _, err = run("show", "nobody", "--store", url)
    assert code == 3 and "no events for client nobody" in err


def test_replay_summarises_clients_by_status(url, tmp_path):
    events = [*journey("c1").events, *journey("c2").events]
    run("record", str(lines_file(tmp_path, events)), "--store", url)
    code, out, _ = run("replay", "--store", url, "--json")
    assert code == 0
    assert json.loads(out) == {
        "clients": 2,
        "events": 6,
        "by_status": {"introduced": 2},
        "problems": [],
        "flagged": [],
    }


def old_rules_journey(client="old-1"):
    """Accepted before issue 10: session 3 straight after a session-1 commitment, then engaged
    on one meeting. Stored around today's workflow, as an older fama wrote it."""
    b = JourneyBuilder(client, keyworker_id="kw-1", start=dt.date(2025, 3, 3))
    b.open().session1(experience=ExperienceLevel.NONE, commit_to=b.meeting()).session3()
    return b.engaged("aa", complete=False)


def test_replay_reports_each_event_an_old_log_breaks_and_replays_the_rest(sqlite_url, tmp_path):
    from fama_adapters.facade import Fama

    run("init", "--store", sqlite_url)
    run("record", str(lines_file(tmp_path, journey("c1").events)), "--store", sqlite_url)
    old = old_rules_journey()
    with Fama.open(sqlite_url) as fama:
        fama.store.append(old.client_id, old.events, expected_version=0)
    code, out, _ = run("replay", "--store", sqlite_url, "--json")
    body = json.loads(out)
    assert code == 0 and body["problems"] == []
    assert body["by_status"] == {"engaged": 1, "introduced": 1}
    assert [(f["client_id"], f["event_id"], f["rule"]) for f in body["flagged"]] == [
        ("old-1", old.events[1].event_id, "commitment_needs_experience"),
        ("old-1", old.events[2].event_id, "follows_session_2_or_3"),
        ("old-1", old.events[3].event_id, "engagement_evidence"),
    ]
    code, text, _ = run("replay", "--store", sqlite_url)
    assert "3 stored events break rules added since they were written" in text
    assert f"event {old.events[2].event_id} (session_3_held): follows_session_2_or_3" in text
    code, out, _ = run("show", "old-1", "--store", sqlite_url, "--json")
    assert code == 0
    assert len(json.loads(out)["episodes"][0]["breaches"]) == 3


def test_no_progress_bar_when_piped_and_one_on_a_terminal(sqlite_url, tmp_path):
    run("init", "--store", sqlite_url)
    path = lines_file(tmp_path, journey().events)
    _, _, err = run("record", str(path), "--store", sqlite_url)
    assert err == ""
    tty_err = Tty()
    run("replay", "--store", sqlite_url, stdout=Tty(), stderr=tty_err)
    assert "replaying [" in tty_err.getvalue()


def test_the_progress_bar_draws_a_share_and_erases_itself():
    stream = io.StringIO()
    with Progress("work", 4, stream, interval=0) as bar:
        bar.update(1)
        bar.update(4)
    text = stream.getvalue()
    assert " 25% 1/4" in text and "100% 4/4" in text and text.endswith("\r")
    assert Progress("work", None, io.StringIO()).line(1234) == "work 1,234"


def test_a_disabled_progress_bar_writes_nothing():
    stream = io.StringIO()
    with Progress("work", 4, stream, enabled=False) as bar:
        bar.update(4)
    assert stream.getvalue() == ""


def test_the_demo_records_the_sample_caseload_and_shows_a_client(tmp_path):
    code, out, _ = run("demo", "--examples", str(ROOT / "examples"), "--out", str(tmp_path))
    assert code == 0
    assert "Event store: recorded 49 events of 5 clients" in out
    assert "49 duplicates recognised" in out
    assert (tmp_path / "fama.db").is_file()
    code, out, _ = run("replay", "--store", f"sqlite:///{tmp_path / 'fama.db'}", "--json")
    assert json.loads(out)["clients"] == 5


def test_record_names_the_event_id_of_an_invalid_line_when_it_is_readable(url, tmp_path):
    events = journey("c1").events
    bad = json.loads(event_to_json(events[0]))
    bad.update(event_id="c9-e1", client_id="c9", organisation="Not A Code")
    path = lines_file(tmp_path, events, extra=[json.dumps(bad)])
    code, out, _ = run("record", str(path), "--store", url, "--json")
    body = json.loads(out)
    (problem,) = body["refused"]
    assert code == 1 and problem["event_id"] == "c9-e1" and problem["error"] == "InvalidRecord"
    assert "Not A Code" not in out and "not a field of this record" in problem["message"]


HINT = (
    "held no whole event: fama record reads JSON lines, one event (a JSON object) on each "
    "line, as docs/event-reference.md shows them"
)


def test_a_pretty_printed_event_is_explained_once_as_json_lines(tmp_path):
    """Writing events from the docs alone: one event spread over lines gave nine "not a valid
    JSON document" refusals and no clue that each line must hold a whole event."""
    event = json.loads(event_to_json(journey("pp-1").events[0]))
    path = tmp_path / "pretty.json"
    path.write_text(json.dumps(event, indent=2) + "\n")
    code, out, _ = run("record", str(path), "--store", "memory://")
    lines = out.splitlines()
    assert code == 1 and len(lines) == (len(event) + 2) + 2  # "{", a line per field, "}"; 2 more
    assert lines[-1] == f"{len(event) + 2} lines {HINT}"


def test_a_list_of_events_is_explained_and_good_lines_give_no_hint(tmp_path):
    path = lines_file(tmp_path, journey("pp-2").events, extra=[json.dumps([{"kind": "goal_set"}])])
    code, out, _ = run("record", str(path), "--store", "memory://")
    assert code == 1 and out.splitlines()[-1] == f"1 line {HINT}"
    code, out, _ = run(
        "record", str(lines_file(tmp_path, journey("pp-3").events)), "--store", "memory://"
    )
    assert code == 0 and HINT not in out
    code, out, _ = run("record", str(path), "--store", "memory://", "--json")
    assert HINT not in out and json.loads(out)["recorded"] == len(journey("pp-2").events)
