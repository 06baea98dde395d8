"""The embedding façade: the workflow in front of a store, on every store kind."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.facade import Fama
from fama_adapters.store.memory import MemoryEventStore
from fama_core.builders import JourneyBuilder
from fama_core.codes import EpisodeStatus, ExperienceLevel, GoalKind
from fama_core.errors import ConcurrencyConflict, IdempotencyConflict, TransitionRefused
from fama_core.events import event_to_json, events_from_json_lines
from fama_core.workflow import fold

START = dt.date(2026, 3, 2)


def journey(client: str = "c1") -> JourneyBuilder:
    return JourneyBuilder(client, keyworker_id="kw-1", start=START)


@pytest.fixture
def fama(store):
    return Fama(store)


def test_record_stores_a_valid_batch_and_returns_the_new_state(fama):
    b = journey().open().session1()
    done = fama.record(b.events)
    assert done.version == 2 and done.stored == tuple(e.event_id for e in b.events)
    assert fama.state("c1").status == "introduced"


def test_a_refused_event_writes_nothing_of_its_batch(fama):
    b = journey().open()
    b.session1()
    b.engaged("aa", complete=False)  # engagement straight after session 1: refused
    with pytest.raises(TransitionRefused) as caught:
        fama.record(b.events)
    assert caught.value.condition == "allowed_in_state"
    assert fama.store.version("c1") == 0


def test_a_stale_expected_version_is_a_conflict(fama):
    b = journey().open()
    fama.record(b.events)
    b.session1()
    with pytest.raises(ConcurrencyConflict):
        fama.record(b.events[-1:], expected_version=0)
    assert fama.record(b.events[-1:], expected_version=1).version == 2


def test_a_writer_in_between_makes_the_facade_validate_again(connect):
    """Two hosts on one store: the second's cached state is stale, its write still lands right."""
    one, two = Fama(connect()), Fama(connect())
    b = journey().open()
    one.record(b.events)
    assert two.state("c1").version == 1
    b.session1()
    one.record(b.events[-1:])
    b.goal(GoalKind.READ_HANDOUTS)
    assert two.record(b.events[-1:]).version == 3


def test_the_same_event_again_is_a_duplicate_not_a_second_record(fama):
    b = journey().open().session1()
    fama.record(b.events)
    again = fama.record(b.events)
    assert again.stored == () and len(again.duplicates) == 2 and again.version == 2


def test_a_reused_event_id_is_refused(fama):
    b = journey().open()
    fama.record(b.events)
    changed = b.events[0].model_copy(update={"keyworker_id": "kw-9"})
    with pytest.raises(IdempotencyConflict):
        fama.record(changed)


def test_an_unknown_client_has_an_empty_state_and_only_opening_is_due(fama):
    due = fama.due_next("nobody")
    assert due.status is None and due.next_session is None
    assert due.allowed_events == ("episode_opened",)


def test_due_next_after_session_1_is_session_2_with_its_steps(fama):
    b = journey().open().session1()
    fama.record(b.events)
    due = fama.due_next("c1")
    assert due.next_session == "2"
    assert [s.id.value for s in due.steps][0].startswith("s2.")
    assert "session_2_held" in due.allowed_events


def test_due_next_lists_the_commitment_and_agreed_goals_to_review(fama):
    b = journey().open().session1()
    meeting = b.meeting("Monday Lunchtime Newcomers", "aa")
    b.session2(commit_to=meeting).goal(GoalKind.ATTEND_NAMED_MEETING, meeting=meeting)
    fama.record(b.events)
    due = fama.due_next("c1")
    assert due.next_session == "3"
    assert due.commitment_to_review is not None
    assert due.commitment_to_review.commitment.meeting.name == "Monday Lunchtime Newcomers"
    assert [g.goal.kind for g in due.goals_to_review] == [GoalKind.ATTEND_NAMED_MEETING]
    view = due.to_json()
    assert view["commitment_to_review"]["meeting"] == "Monday Lunchtime Newcomers"
    assert view["version"] == due.version == fama.store.version("c1")


def test_due_next_redacts_goal_descriptions_unless_revealed(fama):
    b = journey().open().session1().goal(GoalKind.OTHER, description="private words")
    fama.record(b.events)
    due = fama.due_next("c1")
    assert "private words" not in str(due.to_json())
    assert "private words" in str(due.to_json(reveal=True))


def test_record_lines_reports_each_bad_line_and_carries_on(fama):
    good = journey("c1").open().session1()
    bad = journey("c2").open()
    bad.session1()
    bad.session1()  # a second session 1 is refused
    lines = [event_to_json(e) for e in good.events]
    lines += ["{not json", event_to_json(bad.events[0]), event_to_json(bad.events[1])]
    lines += [event_to_json(bad.events[2]), event_to_json(good.events[0])]
    report = fama.record_lines(events_from_json_lines(lines))
    assert report.recorded == 4 and report.duplicates == 1
    assert [(p.line, p.error) for p in report.problems] == [
        (3, "InvalidRecord"),
        (6, "TransitionRefused"),
    ]
    assert report.problems[1].condition == "allowed_in_state"
    assert fama.store.version("c2") == 2


def test_record_lines_flushes_in_chunks_with_the_same_result(fama):
    events = []
    for n in range(5):
        events += journey(f"c{n}").open().session1().events
    report = fama.record_lines(
        events_from_json_lines([event_to_json(e) for e in events]), flush_every=3
    )
    assert report.recorded == 10 and not report.problems
    assert all(fama.store.version(f"c{n}") == 2 for n in range(5))


def test_replay_counts_clients_by_status_and_lists_streams_that_do_not_fold(fama):
    fama.record(journey("c1").open().session1().events)
    fama.record(journey("c2").open().events)
    broken = journey("c3").open()
    broken.session1()
    fama.store.append("c3", broken.events[1:], expected_version=0)  # written around the workflow
    summary = fama.replay()
    assert summary.clients == 3 and summary.events == 4
    assert summary.by_status == {"introduced": 1, "opened": 1, "unreadable": 1}
    assert [(p.client_id, p.version) for p in summary.problems] == [("c3", 1)]


@settings(max_examples=25)
@given(cut=st.integers(min_value=1, max_value=30), chunk=st.integers(min_value=1, max_value=8))
def test_recording_a_journey_in_any_chunks_gives_the_state_of_folding_it(cut, chunk):
    b = journey().open().session1()
    meeting = b.meeting("Monday Lunchtime Newcomers", "aa")
    b.session2(commit_to=meeting).goal(GoalKind.ATTEND_NAMED_MEETING, meeting=meeting)
    b.session3().engaged("aa")
    events = b.events[: min(cut, len(b.events))]
    fama = Fama(MemoryEventStore())
    for start in range(0, len(events), chunk):
        fama.record(events[start : start + chunk])
    expected = fold(events)
    got = fama.state("c1")
    assert (got.version, got.status, got.current) == (
        expected.version,
        expected.status,
        expected.current,
    )


def test_a_batch_with_another_clients_event_is_refused_and_writes_nothing(fama):
    mixed = [*journey("c1").open().events, *journey("c2").open().events]
    with pytest.raises(TransitionRefused) as caught:
        fama.record(mixed)
    assert caught.value.condition == "same_client"
    assert fama.store.version("c1") == 0 and fama.store.version("c2") == 0


def test_threads_sharing_one_facade_record_every_client(fama):
    import threading

    def work(n: int) -> None:
        for k in range(3):
            fama.record(journey(f"t{n}-{k}").open().session1().events)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fama.store.stats().events == 4 * 3 * 2
    assert all(fama.state(f"t{n}-{k}").status == "introduced" for n in range(4) for k in range(3))


def test_a_postgres_store_reconnects_after_the_server_drops_it(postgres_url):
    import psycopg

    from fama_adapters.store.postgres import PostgresEventStore

    with PostgresEventStore(postgres_url) as store:
        store.append("c1", journey("c1").open().events, expected_version=0)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database()"
            )
        assert store.version("c1") == 1  # on a new connection, transparently
        assert store.append("c1", journey("c1").open().events, expected_version=1).duplicates


class Interloper:
    """A store wrapper that lets another keyworker's events land just before our next append."""

    def __init__(self, store, *sneak) -> None:
        self.store = store
        self.sneak = list(sneak)

    def __getattr__(self, name):
        return getattr(self.store, name)

    def append(self, client_id, events, *, expected_version):
        if self.sneak:
            other = self.sneak.pop(0)
            self.store.append(other.client_id, [other], expected_version=None)
        return self.store.append(client_id, events, expected_version=expected_version)


def test_a_write_landing_between_fold_and_append_is_revalidated_and_retried():
    b = journey().open().session1()
    store = MemoryEventStore()
    fama = Fama(store)
    fama.record(b.events)
    b.goal(GoalKind.READ_HANDOUTS).goal(GoalKind.CONSIDER_MEETINGS)
    theirs, ours = b.events[-2:]
    fama.store = Interloper(store, theirs)  # another keyworker's goal lands first
    done = fama.record(ours)  # validated at v2, conflicts, re-validated at v3, stored
    assert done.version == 4 and done.stored == (ours.event_id,)
    assert [e.event_id for e in store.read("c1")][-2:] == [theirs.event_id, ours.event_id]


def test_a_conflict_with_an_explicit_expected_version_is_the_callers_to_resolve():
    b = journey().open()
    store = MemoryEventStore()
    fama = Fama(store)
    fama.record(b.events)
    b.session1()
    b2 = journey().open().session1()
    sneaky = b2.events[1].model_copy(update={"event_id": "sneaky"})
    fama.store = Interloper(store, sneaky)
    with pytest.raises(ConcurrencyConflict):
        fama.record(b.events[-1], expected_version=1)
    assert fama.state("c1").version == 2 and store.read("c1")[-1].event_id == "sneaky"


def test_record_lines_judges_lines_again_when_another_writer_got_in_between():
    b = journey().open().session1()
    store = MemoryEventStore()
    fama = Fama(store)
    fama.record(b.events[:1])
    sneaky = b.events[1].model_copy(update={"event_id": "sneaky"})
    fama.store = Interloper(store, sneaky)
    lines = [event_to_json(b.events[1])]
    report = fama.record_lines(events_from_json_lines(lines))
    # our session 1 was judged again after theirs and refused: a second session 1
    assert report.recorded == 0
    assert [(p.line, p.condition) for p in report.problems] == [(1, "allowed_in_state")]


def test_record_lines_stores_many_clients_in_one_transaction_when_the_store_can(fama):
    calls = []
    real = fama.store.append_many

    class Counting:
        def __getattr__(self, name):
            return getattr(fama.store_real, name)

        def append_many(self, batches):
            calls.append(len(batches))
            return real(batches)

    fama.store_real = fama.store
    fama.store = Counting()
    events = [e for n in range(4) for e in journey(f"c{n}").open().session1().events]
    report = fama.record_lines(events_from_json_lines([event_to_json(e) for e in events]))
    assert report.recorded == 8 and calls == [4]


def test_an_old_log_still_reads_flagged_and_new_events_meet_every_rule(fama):
    def old_start() -> JourneyBuilder:
        b = journey("old").open()
        return b.session1(experience=ExperienceLevel.NONE, commit_to=b.meeting())

    stored = old_start().events
    fama.store.append("old", stored, expected_version=0)  # written by an older fama
    state = fama.state("old")
    assert state.status is EpisodeStatus.COMMITTED
    assert [x.condition for x in state.current.breaches] == ["commitment_needs_experience"]
    summary = fama.replay()
    assert [(f.client_id, f.event_id, f.rule) for f in summary.flagged] == [
        ("old", stored[1].event_id, "commitment_needs_experience")
    ]
    assert fama.due_next("old").next_session == "2"
    with pytest.raises(TransitionRefused) as refused:
        fama.record(old_start().session3().events[-1])
    assert refused.value.condition == "follows_session_2_or_3"
    b = old_start()
    assert fama.record(b.session2(commit_to=b.meeting()).events[-1]).version == 3
