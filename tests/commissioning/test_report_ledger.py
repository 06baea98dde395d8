"""The report ledger's rules (decisions Q1-Q10), in-process over a memory store.

The HTTP behaviour, and the attacker fed every answer a real server gives, are in
``tests/serve/test_report_ledger_attack.py``; these test the pieces: the question's text, the
records' digest, which released answers a period is linked to, and each refusal.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.http.report_desk import Busy, Pending, ReportDesk
from fama_adapters.report.bundle import build_report
from fama_adapters.report.ledger import (
    Question,
    ReportRefused,
    linked_entries,
    records_digest,
    release,
)
from fama_adapters.report.sample import JourneyShape, JourneySpec, journey_events
from fama_adapters.store import LedgerEntry
from fama_adapters.store.memory import MemoryEventStore
from fama_core.commissioning import journeys_from_caseload, overlap_of
from fama_core.workflow import fold

DAYS = st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31))
MAYBE_DAY = st.none() | DAYS
Q1 = (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
JAN_APR = (dt.date(2026, 1, 1), dt.date(2026, 4, 30))


@given(start=MAYBE_DAY, end=MAYBE_DAY, threshold=st.integers(1, 1000), extra=st.integers(0, 9))
def test_a_question_reads_back_from_its_text_and_equal_questions_have_equal_text(
    start, end, threshold, extra
):
    q = Question(start, end, threshold, threshold + extra)
    assert Question.from_key(q.key()) == q
    assert Question(start, end, threshold, threshold + extra).key() == q.key()


def _journeys(specs):
    caseload = [
        fold(journey_events(f"c{i}", JourneySpec(shape=s, keyworker=k, start=d)))
        for i, (s, k, d) in enumerate(specs)
    ]
    return journeys_from_caseload(caseload)


SPECS = st.lists(
    st.tuples(
        st.sampled_from([JourneyShape.INTRODUCED, JourneyShape.COMMITTED, JourneyShape.ENGAGED]),
        st.sampled_from(["kw-1", "kw-2"]),
        st.dates(dt.date(2026, 1, 1), dt.date(2026, 6, 30)),
    ),
    max_size=8,
)


@settings(max_examples=25, deadline=None)
@given(specs=SPECS, data=st.data())
def test_the_records_digest_ignores_order_and_sees_any_change(specs, data):
    journeys = _journeys(specs)
    shuffled = data.draw(st.permutations(journeys))
    assert records_digest(shuffled) == records_digest(journeys)
    if journeys:
        assert records_digest(journeys[1:]) != records_digest(journeys)
        moved = journeys[0].__class__(
            **{
                **{f: getattr(journeys[0], f) for f in journeys[0].__dataclass_fields__},
                "introduced_on": journeys[0].introduced_on + dt.timedelta(days=1),
            }
        )
        assert records_digest([moved, *journeys[1:]]) != records_digest(journeys)


def test_a_field_added_later_with_its_default_leaves_the_digest_as_it_was(monkeypatch):
    # Decision Q10: a later fama whose journeys carry one more field (with a default) must give
    # the digest the ledger stored for the same records, or every question overlapping an earlier
    # answer would be refused as a revision after an upgrade.
    import dataclasses

    from fama_adapters.report import ledger
    from fama_core.commissioning import ClientJourney

    journeys = _journeys(
        [
            (JourneyShape.ENGAGED, "kw-1", dt.date(2026, 2, 3)),
            (JourneyShape.DECLINED_AFTER_SESSION_1, "kw-2", dt.date(2026, 3, 4)),
        ]
    )
    stored = records_digest(journeys)

    @dataclasses.dataclass(frozen=True)
    class Later(ClientJourney):
        peer_mentor: str | None = None

    later = [Later(**{f.name: getattr(j, f.name) for f in dataclasses.fields(j)}) for j in journeys]
    monkeypatch.setattr(ledger, "ClientJourney", Later)
    assert records_digest(later) == stored
    changed = [dataclasses.replace(later[0], peer_mentor="pm-1"), *later[1:]]
    assert records_digest(changed) != stored


def test_every_field_of_a_journey_moves_the_digest():
    import dataclasses

    from fama_core.codes import EpisodeStatus, Obstacle

    (journey,) = _journeys([(JourneyShape.ENGAGED, "kw-1", dt.date(2026, 2, 3))])
    other = {
        "client_id": "c-other",
        "keyworker_id": "kw-9",
        "team_id": "team-9",
        "introduced_on": journey.introduced_on + dt.timedelta(days=1),
        "status": EpisodeStatus.DECLINED,
        "organisation": "org-9",
        "committed_on": dt.date(2026, 6, 1),
        "first_meeting_on": dt.date(2026, 6, 2),
        "ended_on": dt.date(2026, 6, 3),
        "obstacles": frozenset({Obstacle.OTHER}),
        "accompaniment_arranged": not journey.accompaniment_arranged,
        "accompaniment_used": not journey.accompaniment_used,
    }
    names = {f.name for f in dataclasses.fields(journey)}
    assert names <= set(other), f"add the new fields to this test: {names - set(other)}"
    for name in names:
        if getattr(journey, name) == other[name]:
            continue
        moved = dataclasses.replace(journey, **{name: other[name]})
        assert records_digest([moved]) != records_digest([journey]), name


def _entry(number, period):
    q = Question(period[0], period[1], 5, 5)
    return LedgerEntry(number, dt.datetime(2026, 7, 1, tzinfo=dt.UTC), q.key(), "{}", "")


PERIOD = st.tuples(MAYBE_DAY, MAYBE_DAY).filter(
    lambda p: p[0] is None or p[1] is None or p[0] <= p[1]
)


@settings(max_examples=200)
@given(periods=st.lists(PERIOD, max_size=7), asked=PERIOD)
def test_linked_answers_are_every_chain_of_overlapping_periods_from_the_question(periods, asked):
    entries = [_entry(n + 1, p) for n, p in enumerate(periods)]
    got = {e.number for e in linked_entries(entries, asked)}
    # Brute force: grow the set from the question until no period overlaps it.
    reach = {0}
    nodes = [asked, *periods]
    while True:
        more = {
            j
            for j in range(1, len(nodes))
            for i in reach
            if j not in reach and overlap_of(nodes[i], nodes[j]) is not None
        }
        if not more:
            break
        reach |= more
    assert got == reach - {0}
    # A period sharing no day with the chain is not linked.
    for e in entries:
        if e.number not in got:
            assert all(overlap_of(periods[e.number - 1], nodes[i]) is None for i in reach)


def test_a_chain_links_its_ends():
    jan_feb = (dt.date(2026, 1, 1), dt.date(2026, 2, 28))
    feb_mar = (dt.date(2026, 2, 1), dt.date(2026, 3, 31))
    mar_apr = (dt.date(2026, 3, 1), dt.date(2026, 4, 30))
    entries = [_entry(1, jan_feb), _entry(2, feb_mar)]
    assert [e.number for e in linked_entries(entries, mar_apr)] == [1, 2]
    assert linked_entries([_entry(1, jan_feb)], mar_apr) == []


# ------------------------------------------------------------------ release, in-process


def _caseload(late=0):
    specs = [("kw-1", 7, dt.date(2026, 2, 2)), ("kw-1", 2, dt.date(2026, 4, 6))]
    specs += [("kw-2", 9, dt.date(2026, 2, 3)), ("kw-2", 6, dt.date(2026, 4, 7))]
    specs += [("kw-1", late, dt.date(2026, 3, 9))]
    return [
        fold(
            journey_events(
                f"{kw}-{day}-{i}",
                JourneySpec(shape=JourneyShape.INTRODUCED, keyworker=kw, team="t1", start=day),
            )
        )
        for kw, n, day in specs
        for i in range(n)
    ]


def _release(ledger, caseload, period, threshold=5):
    def journeys_for(p):
        return journeys_from_caseload(caseload, start=p[0], end=p[1])

    def analyse(earlier):
        return build_report(
            area="x",
            as_of=dt.date(2026, 7, 31),
            caseload=caseload,
            meetings=None,
            threshold=threshold,
            period_start=period[0],
            period_end=period[1],
            earlier=earlier,
        ).access

    return release(ledger, Question(*period, threshold, threshold), journeys_for, analyse)


def test_a_new_question_is_computed_knowing_the_answers_it_overlaps():
    ledger = MemoryEventStore()
    caseload = _caseload()
    first = _release(ledger, caseload, Q1)
    second = _release(ledger, caseload, JAN_APR)
    assert (first.repeated, second.repeated) == (False, False)
    knowing = build_report(
        area="x",
        as_of=dt.date(2026, 7, 31),
        caseload=caseload,
        meetings=None,
        period_start=JAN_APR[0],
        period_end=JAN_APR[1],
        earlier=[first.access],
    ).access
    assert second.access == knowing
    assert [e.number for e in ledger.report_ledger()] == [1, 2]


def test_the_same_question_is_answered_from_the_ledger_even_after_new_records():
    ledger = MemoryEventStore()
    first = _release(ledger, _caseload(), Q1)
    again = _release(ledger, _caseload(late=1), Q1)
    assert again.repeated and again.access == first.access and again.entry == first.entry
    assert len(ledger.report_ledger()) == 1


def test_a_revision_of_a_released_period_is_refused_naming_it():
    ledger = MemoryEventStore()
    _release(ledger, _caseload(), Q1)
    with pytest.raises(ReportRefused) as caught:
        _release(ledger, _caseload(late=1), JAN_APR)
    assert caught.value.kind == "revision"
    assert "2026-01-01 to 2026-03-31" in caught.value.reason
    assert [e.number for e in caught.value.entries] == [1]
    assert len(ledger.report_ledger()) == 1  # nothing kept


def test_a_period_apart_from_every_released_one_is_answered_after_new_records():
    ledger = MemoryEventStore()
    _release(ledger, _caseload(), Q1)
    may_june = (dt.date(2026, 5, 1), dt.date(2026, 6, 30))
    assert not _release(ledger, _caseload(late=1), may_june).repeated


def test_no_answer_is_computed_below_a_released_threshold():
    ledger = MemoryEventStore()
    _release(ledger, _caseload(), Q1, threshold=7)
    with pytest.raises(ReportRefused) as caught:
        _release(ledger, _caseload(), JAN_APR, threshold=5)
    assert caught.value.kind == "threshold-lowered"
    assert "threshold 7" in caught.value.reason


def test_an_answer_released_meanwhile_by_another_instance_is_known_before_keeping():
    ledger = MemoryEventStore()
    caseload = _caseload()
    calls = []

    def journeys_for(p):
        return journeys_from_caseload(caseload, start=p[0], end=p[1])

    def analyse(earlier):
        calls.append(len(earlier))
        if len(calls) == 1:  # another instance releases Q1 while this one computes
            _release(ledger, caseload, Q1)
        return build_report(
            area="x",
            as_of=dt.date(2026, 7, 31),
            caseload=caseload,
            meetings=None,
            period_start=JAN_APR[0],
            period_end=JAN_APR[1],
            earlier=earlier,
        ).access

    got = release(ledger, Question(*JAN_APR, 5, 5), journeys_for, analyse)
    assert calls == [0, 1]  # computed again, knowing the answer released meanwhile
    assert got.entry.number == 2


# ------------------------------------------------------------------ the desk's deadline


def test_a_computation_past_the_deadline_is_pending_and_carries_on():
    desk: ReportDesk[str] = ReportDesk()
    gate = threading.Event()

    def slow():
        gate.wait(10)
        return "answer"

    with pytest.raises(Pending):
        desk.answer("AG1", "q1", slow, time.monotonic() + 0.05)
    with pytest.raises(Busy):  # another question of the agency waits for it, then is told
        desk.answer("AG1", "q2", lambda: "other", time.monotonic() + 0.05)
    assert desk.answer("AG2", "q1", lambda: "elsewhere", time.monotonic() + 5) == "elsewhere"
    gate.set()
    assert desk.answer("AG1", "q1", slow, time.monotonic() + 5) == "answer"
    assert not desk.running("AG1")


def test_an_error_of_the_computation_reaches_whoever_waits_for_it():
    desk: ReportDesk[str] = ReportDesk()

    def refused():
        raise ReportRefused(kind="unprotectable", reason="no")

    with pytest.raises(ReportRefused):
        desk.answer("AG1", "q", refused, time.monotonic() + 5)


def test_a_refusal_is_remembered_for_the_same_state_so_a_caller_who_comes_back_hears_it():
    desk: ReportDesk[str] = ReportDesk(remember=(ReportRefused,))
    calls = []
    gate = threading.Event()

    def refused():
        calls.append(1)
        gate.wait(10)
        raise ReportRefused(kind="unprotectable", reason="no")

    with pytest.raises(Pending):  # the caller is told to come back ...
        desk.answer("AG1", "q", refused, time.monotonic() + 0.05, stamp=(1, "d"))
    gate.set()
    while desk.running("AG1"):  # ... and comes back after the refusal
        time.sleep(0.01)
    with pytest.raises(ReportRefused):
        desk.answer("AG1", "q", refused, time.monotonic() + 5, stamp=(1, "d"))
    assert len(calls) == 1  # heard, not computed again
    with pytest.raises(ReportRefused):  # the state moved on: computed again
        desk.answer("AG1", "q", refused, time.monotonic() + 5, stamp=(2, "d"))
    assert len(calls) == 2


def test_a_remembered_refusal_raised_again_keeps_no_callers_frames():
    """Raising one stored exception again grows its traceback by the raiser's frames each time,
    and those frames hold what the request held (in the service, the agency's whole folded
    caseload): a caller polling a refused question pinned one caseload a request, for good."""
    import gc
    import traceback
    import weakref

    desk: ReportDesk[str] = ReportDesk(remember=(ReportRefused,))

    def refused() -> str:
        raise ReportRefused(kind="unprotectable", reason="cannot be kept protected")

    class Held(list):  # a stand-in for the caseload a request holds in its frame
        pass

    held: list[weakref.ref[Held]] = []
    frames = []

    def request() -> None:
        caseload = Held(range(1000))
        held.append(weakref.ref(caseload))
        with pytest.raises(ReportRefused) as caught:
            desk.answer("AG1", "q", refused, time.monotonic() + 5, stamp=("ledger 0", "d"))
        frames.append(len(traceback.extract_tb(caught.value.__traceback__)))
        del caught

    for _ in range(5):
        request()
    gc.collect()
    assert frames[1:] == [frames[1]] * 4  # the second and later are raised from the memory
    assert sum(ref() is not None for ref in held) == 0


def test_refusals_of_a_state_passed_are_forgotten_and_few_are_kept():
    import fama_adapters.http.report_desk as report_desk

    desk: ReportDesk[str] = ReportDesk(remember=(ReportRefused,))
    calls: list[str] = []

    def refused(name: str) -> Callable[[], str]:
        def work() -> str:
            calls.append(name)
            raise ReportRefused(kind="unprotectable", reason="no")

        return work

    for key, stamp in [("q1", "A"), ("q1", "A"), ("q2", "B"), ("q1", "A")]:
        with pytest.raises(ReportRefused):
            desk.answer("AG1", key, refused(key), time.monotonic() + 5, stamp=stamp)
    # q1 under A was remembered until a refusal under B showed the state had moved on.
    assert calls == ["q1", "q2", "q1"]
    for n in range(report_desk._REMEMBERED + 10):
        with pytest.raises(ReportRefused):
            desk.answer("AG2", f"k{n}", refused("k"), time.monotonic() + 5, stamp="S")
    assert len(desk._refused) <= report_desk._REMEMBERED
