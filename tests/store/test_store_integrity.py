"""Tamper evidence: `fama verify` finds events edited, removed or moved outside fama."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from fama_adapters.cli import main
from fama_adapters.facade import Fama
from fama_adapters.store import StoredEvent, open_store
from fama_adapters.store.integrity import GENESIS, chain, seal_of, verify_events
from fama_adapters.store.sqlite import SqliteEventStore, path_from_url
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind
from fama_core.errors import StoreError
from fama_core.events import EpisodeOpened

CANARY = "Zebedee-canary-text"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def journey(client: str) -> list:
    b = JourneyBuilder(client, keyworker_id="kw-1", start=dt.date(2026, 3, 2))
    b.open().session1().goal(GoalKind.OTHER, description=CANARY).session2(reason="not yet")
    return b.events


@pytest.fixture
def filled(store_url):
    with Fama.open(store_url, create=True) as fama:
        for client in ("c1", "c2", "c3"):
            fama.record(journey(client))
    return store_url


def sql(url: str, *statements: str) -> None:
    """Run SQL on the store behind fama's back, as a DBA with full rights could."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(path_from_url(url), isolation_level=None)
        conn.execute("DROP TRIGGER IF EXISTS fama_events_no_update")
        conn.execute("DROP TRIGGER IF EXISTS fama_events_no_delete")
        conn.execute("DROP TRIGGER IF EXISTS fama_streams_forward")
        conn.execute("DROP TRIGGER IF EXISTS fama_streams_no_delete")
        for statement in statements:
            conn.execute(statement.replace("%s", "?"))
        conn.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE fama_events DISABLE TRIGGER fama_events_append_only")
        conn.execute("ALTER TABLE fama_streams DISABLE TRIGGER fama_streams_forward")
        for statement in statements:
            conn.execute(statement)


def found(url: str) -> set[tuple[str, int | None, str]]:
    with Fama.open(url) as fama:
        return {(p.client_id, p.version, p.problem) for p in fama.verify().problems}


def test_an_untouched_store_verifies_and_its_seal_is_stable(filled):
    code, out, _ = run("verify", "--store", filled, "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["events"] == 12 and report["clients"] == 3
    assert run("verify", "--store", filled, "--expect-seal", report["seal"])[0] == 0


def test_an_edited_payload_is_found_at_its_version(filled):
    edit = (
        "replace(payload, 'kw-1', 'kw-9')"
        if filled.startswith("sqlite")
        else "replace(payload::text, 'kw-1', 'kw-9')::json"
    )
    sql(filled, f"UPDATE fama_events SET payload = {edit} WHERE client_id = 'c2' AND version = 3")
    assert found(filled) == {("c2", 3, "edited")}
    code, out, _ = run("verify", "--store", filled)
    assert code == 1
    assert "client c2 version 3: edited: the stored event no longer matches its hash" in out
    assert "kw-9" not in out and CANARY not in out


def test_an_indexed_column_edited_alone_is_found(filled):
    sql(
        filled,
        "UPDATE fama_events SET kind = 'client_declined' WHERE client_id = 'c1' AND version = 2",
    )
    assert found(filled) == {("c1", 2, "edited")}


def test_a_removed_event_in_the_middle_is_found(filled):
    sql(filled, "DELETE FROM fama_events WHERE client_id = 'c3' AND version = 2")
    assert found(filled) == {("c3", 2, "removed")}


def test_a_removed_last_event_is_found_from_the_streams_head(filled):
    sql(filled, "DELETE FROM fama_events WHERE client_id = 'c1' AND version = 4")
    assert found(filled) == {("c1", 4, "removed")}


def test_two_swapped_events_are_found_as_moved(filled):
    sql(
        filled,
        "UPDATE fama_events SET version = 100 WHERE client_id = 'c2' AND version = 2",
        "UPDATE fama_events SET version = 2 WHERE client_id = 'c2' AND version = 3",
        "UPDATE fama_events SET version = 3 WHERE client_id = 'c2' AND version = 100",
    )
    assert found(filled) == {("c2", 2, "moved"), ("c2", 3, "moved")}


def test_a_deleted_head_is_found(filled):
    sql(filled, "DELETE FROM fama_streams WHERE client_id = 'c3'")
    assert found(filled) == {("c3", None, "head")}


def test_a_whole_stream_removed_with_its_head_changes_the_seal(filled):
    code, out, _ = run("verify", "--store", filled, "--json")
    seal = json.loads(out)["seal"]
    sql(
        filled,
        "DELETE FROM fama_events WHERE client_id = 'c3'",
        "DELETE FROM fama_streams WHERE client_id = 'c3'",
    )
    assert found(filled) == set()  # nothing inside the store shows it…
    code, out, _ = run("verify", "--store", filled, "--expect-seal", seal)
    assert code == 1 and "the seal differs" in out  # …the seal kept outside does


def test_heads_are_only_moved_forward_by_the_database_itself(filled):
    if filled.startswith("sqlite"):
        conn = sqlite3.connect(path_from_url(filled))
        with pytest.raises(sqlite3.DatabaseError, match="only moves forward"):
            conn.execute("UPDATE fama_streams SET version = 1 WHERE client_id = 'c1'")
        with pytest.raises(sqlite3.DatabaseError, match="never deleted"):
            conn.execute("DELETE FROM fama_streams")
    else:
        import psycopg

        with psycopg.connect(filled, autocommit=True) as conn:
            with pytest.raises(psycopg.Error, match="only moves forward"):
                conn.execute("UPDATE fama_streams SET version = 1 WHERE client_id = 'c1'")
            with pytest.raises(psycopg.Error, match="never deleted"):
                conn.execute("DELETE FROM fama_streams")


def test_a_byte_edited_in_the_sqlite_file_is_found(sqlite_url):
    with Fama.open(sqlite_url, create=True) as fama:
        fama.record(journey("c1"))
    path = Path(path_from_url(sqlite_url))
    data = bytearray(path.read_bytes())
    assert CANARY.encode() not in data  # stored encrypted: edit a byte of its ciphertext
    at = data.index(b"fama-enc/1/") + 30
    data[at] = ord("A") if data[at] != ord("A") else ord("B")
    path.write_bytes(bytes(data))
    problems = found(sqlite_url)
    assert len(problems) == 1 and {p[2] for p in problems} == {"edited"}


def test_a_stored_row_with_a_bad_date_is_a_clear_error_without_the_value(sqlite_url):
    with Fama.open(sqlite_url, create=True) as fama:
        fama.record(journey("c1"))
    sql(sqlite_url, "UPDATE fama_events SET occurred_on = 'Mrs Jones 1961' WHERE version = 2")
    with Fama.open(sqlite_url) as fama, pytest.raises(StoreError) as raised:
        fama.state("c1")
    message = str(raised.value)
    assert "stored event c1 version 2: occurred_on is not a date" in message
    assert "Jones" not in message
    code, out, err = run("show", "c1", "--store", sqlite_url)
    assert code == 3 and "Jones" not in out + err and "occurred_on is not a date" in err
    assert found(sqlite_url) == {("c1", 2, "edited")}
    code, out, _ = run("verify", "--store", sqlite_url)
    assert code == 1 and "Jones" not in out


def test_replay_reports_a_client_whose_row_no_longer_reads_and_carries_on(sqlite_url):
    with Fama.open(sqlite_url, create=True) as fama:
        fama.record(journey("c1"))
        fama.record(journey("c2"))
    sql(sqlite_url, "UPDATE fama_events SET recorded_at = 'Mrs Jones' WHERE client_id = 'c1'")
    code, out, err = run("replay", "--store", sqlite_url, "--json")
    summary = json.loads(out)
    assert code == 1 and summary["clients"] == 2 and "Jones" not in out + err
    assert [p["client_id"] for p in summary["problems"]] == ["c1"]
    assert "recorded_at is not a date and time" in summary["problems"][0]["message"]


def test_appends_after_a_reopen_carry_the_chain_on(store_url):
    with Fama.open(store_url, create=True) as fama:
        fama.record(journey("c1")[:2])
    with Fama.open(store_url) as fama:
        fama.record(journey("c1")[2:])
        stored = fama.history("c1")
        assert fama.verify().ok
    assert stored[0].prev_hash == GENESIS
    assert [e.prev_hash for e in stored[1:]] == [e.hash for e in stored[:-1]]


def test_the_memory_store_chains_too():
    with Fama.open("memory://") as fama:
        fama.record(journey("c1"))
        report = fama.verify()
    assert report.ok and report.events == 4 and report.heads["c1"][0] == 4


# ---------------------------------------------------------------- the checker, by property

NOW = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)


def stream(client: str, size: int) -> list[StoredEvent]:
    items = [(f"{client}-e{i}", json.dumps(_payload(client, i))) for i in range(1, size + 1)]
    links = chain(GENESIS, client, 1, NOW, items)
    return [
        StoredEvent(client, v, eid, "ep", "goal_set", NOW.date(), NOW, NOW, payload, prev, this)
        for v, ((eid, payload), (prev, this)) in enumerate(zip(items, links, strict=True), 1)
    ]


def _payload(client: str, i: int) -> dict:
    return {
        "event_id": f"{client}-e{i}",
        "client_id": client,
        "episode_id": "ep",
        "kind": "goal_set",
        "occurred_on": NOW.date().isoformat(),
        "recorded_at": NOW.isoformat(),
        "n": i,
    }


def heads_of(rows: list[StoredEvent]) -> dict[str, tuple[int, str]]:
    return {r.client_id: (r.version, r.hash) for r in rows}  # the last of each wins


streams = st.lists(st.integers(1, 6), min_size=1, max_size=4)


@given(streams)
def test_chains_written_by_the_stores_always_verify(sizes):
    rows = [r for n, size in enumerate(sizes) for r in stream(f"c{n}", size)]
    report = verify_events(rows, heads_of(rows))
    assert report.ok and report.events == len(rows) and report.streams == len(sizes)
    assert report.seal == seal_of(heads_of(rows))


@given(streams, st.sampled_from(["edit", "remove", "swap"]), st.data())
def test_any_single_edit_removal_or_swap_is_found_where_it_was_made(sizes, how, data):
    rows = [r for n, size in enumerate(sizes) for r in stream(f"c{n}", size)]
    heads = heads_of(rows)
    i = data.draw(st.integers(0, len(rows) - 1))
    victim = rows[i]
    if how == "edit":
        payload = victim.payload.replace('"n": ', '"n": 1')
        rows[i] = StoredEvent(*[*_fields(victim)[:8], payload, victim.prev_hash, victim.hash])
        expected = {(victim.client_id, victim.version, "edited")}
    elif how == "remove":
        del rows[i]
        expected = {(victim.client_id, victim.version, "removed")}
    else:
        after = [r for r in rows if r.client_id == victim.client_id and r.version > victim.version]
        if not after:
            return
        other = after[0]
        j = rows.index(other)
        rows[i] = StoredEvent(*[*_fields(other)[:1], victim.version, *_fields(other)[2:]])
        rows[j] = StoredEvent(*[*_fields(victim)[:1], other.version, *_fields(victim)[2:]])
        expected = {
            (victim.client_id, victim.version, "moved"),
            (victim.client_id, other.version, "moved"),
        }
    got = {(p.client_id, p.version, p.problem) for p in verify_events(rows, heads).problems}
    assert got == expected


def _fields(e: StoredEvent) -> list:
    return [getattr(e, name) for name in StoredEvent.__slots__]


def test_open_store_verify_on_a_store_without_its_own_verify(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}", create=True)
    store.append("c1", journey("c1"), expected_version=0)
    report = verify_events(store.stream_all())
    store.close()
    assert report.ok and report.events == 4


# ---------------------------------------------------------------- a stateful check on SQLite


class ChainedStore(RuleBasedStateMachine):
    """Appends, reopenings, erasures and edits behind fama's back, in any order: `verify` finds
    exactly the edited events (an erasure changes no stored byte), appends after an edit still
    chain on from the stored head, and an erased client takes no new events."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="fama-chain-"))
        self.path = self.folder / "s.db"
        self.store = SqliteEventStore(self.path)
        self.sizes: dict[str, int] = {}
        self.edited: set[tuple[str, int]] = set()
        self.erased: set[str] = set()

    @rule(client=st.sampled_from(["a", "b", "c"]), size=st.integers(1, 3))
    def append(self, client: str, size: int) -> None:
        start = self.sizes.get(client, 0)
        if client in self.erased:
            with pytest.raises(StoreError, match="was erased"):
                self.store.append(client, [_opened(client, start)], expected_version=start)
            return
        batch = [_opened(client, n) for n in range(start, start + size)]
        result = self.store.append(client, batch, expected_version=start)
        self.sizes[client] = result.version

    @precondition(lambda self: bool(self.sizes))
    @rule(data=st.data())
    def erase(self, data: st.DataObject) -> None:
        client = data.draw(st.sampled_from(sorted(self.sizes)))
        done = self.store.erase(client)
        assert done.already == (client in self.erased) and done.events == self.sizes[client]
        self.erased.add(client)

    @rule()
    def reopen(self) -> None:
        self.store.close()
        self.store = SqliteEventStore(self.path, create=False)

    @precondition(lambda self: bool(self.sizes))
    @rule(data=st.data())
    def edit_behind_fama(self, data: st.DataObject) -> None:
        client = data.draw(st.sampled_from(sorted(self.sizes)))
        version = data.draw(st.integers(1, self.sizes[client]))
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("DROP TRIGGER IF EXISTS fama_events_no_update")
        conn.execute(
            "UPDATE fama_events SET payload = replace(payload, 'kw-', 'KW-') "
            "WHERE client_id = ? AND version = ?",
            (client, version),
        )
        conn.close()
        self.edited.add((client, version))

    @invariant()
    def verify_finds_exactly_the_edits(self) -> None:
        report = self.store.verify()
        assert {(p.client_id, p.version) for p in report.problems} == self.edited
        assert {p.problem for p in report.problems} <= {"edited"}
        assert report.events == sum(self.sizes.values())

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _opened(client: str, n: int) -> EpisodeOpened:
    return EpisodeOpened(
        event_id=f"{client}-{n}",
        client_id=client,
        episode_id=f"{client}-ep{n}",
        keyworker_id="kw-1",
        occurred_on=NOW.date(),
        recorded_at=NOW,
        team_id="team-a",
    )


ChainedStore.TestCase.settings = settings(max_examples=25, stateful_step_count=12)
test_chained_sqlite_store = ChainedStore.TestCase
