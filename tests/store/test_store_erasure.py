"""Erasure by crypto-shredding, and subject access."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fama_adapters.cli import main
from fama_adapters.facade import Fama
from fama_adapters.store.shredding import TOKEN_PREFIX, new_key, open_payload, seal_payload
from fama_adapters.store.sqlite import path_from_url
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind, Obstacle
from fama_core.errors import StoreError
from fama_core.events import event_from_json, event_to_json
from fama_core.personal import ERASED, PERSONAL_FIELDS, personal_text_of

CANARY = "Canary-Quill-7731 said her sister drinks too"
FIXTURE = Path(__file__).parent / "fixtures" / "store-layout-1.db"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def journey(client: str = "c1") -> list:
    b = JourneyBuilder(client, keyworker_id="kw-1", start=dt.date(2026, 3, 2))
    b.open().session1().goal(GoalKind.OTHER, description=CANARY)
    b.obstacle(Obstacle.OTHER, CANARY).session2(reason=CANARY)
    return b.events


def files_of(url: str) -> list[Path]:
    db = Path(path_from_url(url))
    return [p for p in (db, db.with_name(db.name + "-wal")) if p.exists()]


def holds(url: str, needle: bytes) -> list[str]:
    return [p.name for p in files_of(url) if needle in p.read_bytes()]


@pytest.fixture
def recorded(sqlite_url):
    with Fama.open(sqlite_url, create=True) as fama:
        fama.record(journey("c1"))
        fama.record(journey("c2"))
    return sqlite_url


def key_of(url: str, client: str) -> bytes:
    conn = sqlite3.connect(path_from_url(url))
    try:
        return bytes(
            conn.execute("SELECT key FROM fama_keys WHERE client_id = ?", (client,)).fetchone()[0]
        )
    finally:
        conn.close()


def test_personal_text_never_reaches_the_file_in_plain_but_reads_back(recorded):
    assert holds(recorded, CANARY.encode()) == []
    with Fama.open(recorded) as fama:
        goal = fama.state("c1").current.goals[0].goal
    assert goal.description == CANARY


def test_after_erase_no_byte_of_the_canary_or_the_key_is_in_the_file_wal_or_a_later_backup(
    recorded, tmp_path
):
    key = key_of(recorded, "c1")
    assert holds(recorded, key) != []  # the key is in the store until erased
    code, out, _ = run("erase", "c1", "--store", recorded, "--yes", "--expect-version", "5")
    assert code == 0 and "erased client c1" in out
    assert holds(recorded, key) == [] and holds(recorded, CANARY.encode()) == []
    backup = tmp_path / "backup.db"
    code, _, _ = run("backup", "--store", recorded, "--to", str(backup))
    assert code == 0
    assert key not in backup.read_bytes() and CANARY.encode() not in backup.read_bytes()
    with Fama.open(recorded) as fama:  # the other client is untouched
        assert fama.state("c2").current.goals[0].goal.description == CANARY


def test_an_erased_client_keeps_its_structure_and_its_chain(recorded):
    with Fama.open(recorded) as fama:
        before = fama.state("c1")
        seal = fama.verify().seal
        fama.erase("c1")
        after = fama.state("c1")
        report = fama.verify()
    assert report.ok and report.seal == seal  # erasure changed no stored byte
    assert after.status == before.status and after.version == before.version
    assert after.current.goals[0].goal.kind is GoalKind.OTHER
    assert after.current.goals[0].goal.description == ERASED
    assert after.current.obstacles[0].record.response == ERASED


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_erase_is_once_and_refuses_new_events_and_old_ones_sent_again(kind, tmp_path, request):
    url = {
        "memory": lambda: "memory://",
        "sqlite": lambda: f"sqlite:///{tmp_path / 'e.db'}",
        "postgres": lambda: request.getfixturevalue("postgres_url"),
    }[kind]()
    with Fama.open(url, create=True) as fama:
        events = journey("c1")
        fama.record(events)
        first = fama.erase("c1")
        again = fama.erase("c1")
        assert not first.already and again.already and again.erased_at == first.erased_at
        with pytest.raises(StoreError, match="was erased"):
            fama.record(events)  # would bring the erased text back
        assert fama.store.append("c1", events, expected_version=None).stored == ()
        later = JourneyBuilder("c1", start=dt.date(2026, 5, 1)).open("c1-ep9").events
        with pytest.raises(StoreError, match="was erased; its stream takes no new events"):
            fama.store.append("c1", later, expected_version=None)
        with pytest.raises(StoreError, match="no events for client nobody"):
            fama.erase("nobody")
        state = fama.state("c1")
        assert state.current.goals[0].goal.description == ERASED
        assert fama.verify().ok


def test_postgres_never_stores_the_personal_text_in_plain(postgres_url):
    import psycopg

    with Fama.open(postgres_url, create=True) as fama:
        fama.record(journey("c1"))
        assert fama.state("c1").current.goals[0].goal.description == CANARY
    with psycopg.connect(postgres_url) as conn:
        payloads = [r[0] for r in conn.execute("SELECT payload::text FROM fama_events")]
        assert payloads and not any(CANARY in p for p in payloads)


def test_erase_asks_for_yes_and_an_unknown_client_fails(recorded):
    code, _, err = run("erase", "c1", "--store", recorded, "--expect-version", "5")
    assert code == 2 and "--yes" in err
    code, _, err = run("erase", "nobody", "--store", recorded, "--yes", "--expect-version", "1")
    assert code == 3 and "no events for client nobody" in err


def readable(url: str, client: str = "c1") -> bool:
    with Fama.open(url) as fama:
        return fama.state(client).current.goals[0].goal.description == CANARY


def test_erase_without_the_version_it_confirms_does_nothing(recorded, tmp_path):
    """Regression: `fama erase CLIENT --yes` erased whatever the record had become."""
    code, _, err = run("erase", "c1", "--store", recorded, "--yes")
    assert code == 2
    assert "--expect-version N" in err and "`fama show c1`" in err and "nothing was erased" in err
    assert "--yes to" not in err  # it was given
    assert readable(recorded)
    # a usage error: nothing is opened, so a store that is not there is not the message
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    code, _, err = run("erase", "c1", "--store", missing)
    assert code == 2 and "--yes to confirm" in err and "--expect-version N" in err


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_erase_refuses_a_record_that_changed_since_its_version_was_read(kind, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'e.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    with Fama.open(url, create=True) as fama:
        fama.record(journey("c1")[:4])  # the data lead reads version 4 …
        fama.record(journey("c1")[4:])  # … and a keyworker records session 2 meanwhile
    code, out, err = run("erase", "c1", "--store", url, "--yes", "--expect-version", "4")
    assert code == 3 and out == ""
    assert err == (
        "fama erase: client c1 is at version 5, not 4: its record changed since that version "
        "was read, so nothing was erased; read it again (`fama show c1`) and erase with the "
        "version it prints\n"
    )
    assert readable(url)
    code, out, _ = run("erase", "c1", "--store", url, "--yes", "--expect-version", "5", "--json")
    assert code == 0 and json.loads(out)["version"] == 5 and not readable_or_erased(url)
    # erased since: a stale version is still a conflict, the right one says it was done
    assert run("erase", "c1", "--store", url, "--yes", "--expect-version", "4")[0] == 3
    code, out, _ = run("erase", "c1", "--store", url, "--yes", "--expect-version", "5")
    assert code == 0 and "was already erased" in out


def readable_or_erased(url: str) -> bool:
    with Fama.open(url) as fama:
        return fama.state("c1").current.goals[0].goal.description != ERASED


@pytest.mark.parametrize("given", ["0", "-1", "abc", "1e3", "5.0", "\u0665", "", " 5", "9" * 30])
def test_expect_version_is_a_whole_number_from_1_and_not_repeated(recorded, given, capsys):
    code, _, _ = run("erase", "c1", "--store", recorded, "--yes", f"--expect-version={given}")
    err = capsys.readouterr().err  # argparse writes its usage errors to sys.stderr
    assert code == 2 and "argument --expect-version: must be a client's version" in err
    if len(given) >= 2:
        assert given not in err
    assert readable(recorded)


@given(st.text(max_size=24))
def test_whatever_expect_version_holds_it_is_a_version_or_refused_unrepeated(text):
    from fama_adapters.store.plugin import _stream_version

    try:
        version = _stream_version(text)
    except argparse.ArgumentTypeError as exc:
        assert not (text.isascii() and text.isdigit() and 1 <= int(text) < 10**18)
        assert len(text) < 2 or text not in str(exc)
    else:
        assert version >= 1 and str(version) == text.lstrip("0")


def test_a_store_of_the_previous_release_is_sealed_by_its_migration(tmp_path):
    copy = tmp_path / "old.db"
    shutil.copyfile(FIXTURE, copy)
    plain = b"nervous at first, then welcomed"
    assert plain in copy.read_bytes()
    url = f"sqlite:///{copy}"
    with Fama.open(url) as fama:
        assert fama.verify().ok
        reactions = fama.state("corpus-engaged").episodes[0].journal[0].reactions
        fama.erase("corpus-engaged")
        erased = fama.state("corpus-engaged").episodes[0].journal[0].reactions
        assert fama.replay().problems == []
    assert reactions == plain.decode() and erased == ERASED
    assert holds(url, plain) == []


def test_subject_export_gives_everything_in_plain_words_and_json(recorded, tmp_path):
    code, out, _ = run("subject-export", "c1", "--store", recorded)
    assert code == 0
    assert "Everything fama holds about client c1" in out and CANARY in out
    assert "session 1 (introducing mutual aid)" in out
    code, out, _ = run("subject-export", "c1", "--store", recorded, "--json")
    export = json.loads(out)
    assert export["erased"] is None and len(export["events"]) == 5
    assert export["events"][2]["event"]["goal"]["description"] == CANARY
    run("erase", "c1", "--store", recorded, "--yes", "--expect-version", "5")
    target = tmp_path / "sar.txt"
    code, _, err = run("subject-export", "c1", "--store", recorded, "--out", str(target))
    text = target.read_text()
    assert code == 0 and "were erased on" in text and CANARY not in text and ERASED in text
    assert run("subject-export", "nobody", "--store", recorded)[0] == 3


# ---------------------------------------------------------------- the cipher, by property


def test_every_free_text_field_is_personal_and_no_identifier_is():
    assert "entry.reactions" in PERSONAL_FIELDS["journal_entry_recorded"]
    assert "entry.benefits[]" in PERSONAL_FIELDS["journal_entry_recorded"]
    assert "steps[].note" in PERSONAL_FIELDS["session_3_held"]
    assert "goal.description" in PERSONAL_FIELDS["goal_set"]
    every = {p for paths in PERSONAL_FIELDS.values() for p in paths}
    assert not any(p.endswith("_id") for p in every)


texts = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85"),
    min_size=1,
    max_size=60,
)


@given(texts, texts)
def test_sealing_then_opening_gives_the_same_event_and_erasing_leaves_only_the_marker(note, reason):
    b = JourneyBuilder("c1", start=dt.date(2026, 3, 2)).open().session1()
    b.goal(GoalKind.OTHER, description=note).session2(reason=reason)
    for event in b.events:
        payload = event_to_json(event)
        key = new_key()
        sealed = seal_payload(payload, key, "c1", event.event_id)
        assert all(t.startswith(TOKEN_PREFIX) for t in personal_text_of(json.loads(sealed)))
        assert event_from_json(open_payload(sealed, key, "c1", event.event_id)) == event
        erased = json.loads(open_payload(sealed, None, "c1", event.event_id))
        assert set(personal_text_of(erased)) <= {ERASED}
        if sealed != payload:
            with pytest.raises(StoreError, match="does not open with its client's key"):
                open_payload(sealed, new_key(), "c1", event.event_id)
            with pytest.raises(StoreError):
                open_payload(sealed, key, "c2", event.event_id)  # moved to another client
