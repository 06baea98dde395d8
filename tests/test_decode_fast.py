"""The decoder's fast path agrees with the full one, for valid events and hostile ones.

:func:`fama_core.events.event_from_json` first tries a validator built from the
same models without the upcasting before-validator, then, when that refuses,
the full adapter (which upgrades old events and words every error). These
properties hold the fast path to the full one: for valid events of every kind
and for documents mutated in the ways hosts and attackers get them wrong, the
result is the same model (same values, same fields set) or the same refusal
(same class, record, kind, event id and problems), and both agree with
``TypeAdapter(Event).validate_json`` itself.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from fama_core import events as ev
from fama_core.builders import JourneyBuilder
from fama_core.codes import (
    REQUIRED_STEPS_BY_STAGE,
    STEPS_BY_STAGE,
    AccompanimentOutcome,
    AttendanceMode,
    CloseReason,
    CommitmentOutcome,
    ExperienceLevel,
    GoalKind,
    GoalReviewOutcome,
    GoalStatus,
    Handout,
    InvolvementSign,
    LiteracySupportKind,
    Obstacle,
    SessionStage,
    StepStatus,
    VolunteerKind,
)
from fama_core.engagement import EngagementEvidence
from fama_core.errors import InvalidRecord
from fama_core.models import (
    AccompanimentArrangement,
    AccompanimentResult,
    CommitmentReview,
    Goal,
    GoalReview,
    JournalEntry,
    LiteracySupport,
    MeetingCommitment,
    MeetingRef,
    ObstacleRecord,
    PastExperience,
    StepRecord,
)

CORPUS = Path(__file__).parent / "corpus" / "events-2026-11.jsonl"

# ---------------------------------------------------------------- valid events of every kind

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,11}", fullmatch=True)
orgs = st.from_regex(r"[a-z0-9][a-z0-9_\-]{0,7}", fullmatch=True)
dates = st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31))
times = st.datetimes(
    dt.datetime(1990, 1, 1), dt.datetime(2060, 12, 31), timezones=st.timezones()
).filter(lambda d: d.utcoffset() is not None)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
notes = st.none() | text
names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)

meetings = st.builds(
    MeetingRef,
    meeting_id=st.none() | ids,
    name=names,
    organisation=orgs,
    attendance_mode=st.none() | st.sampled_from(AttendanceMode),
)
commitments = st.builds(
    MeetingCommitment,
    commitment_id=ids,
    meeting=meetings,
    planned_date=dates,
    accompaniment_requested=st.booleans(),
)
reviews = st.builds(
    CommitmentReview,
    commitment_id=ids,
    outcome=st.sampled_from(CommitmentOutcome),
    journal_used=st.booleans(),
    note=notes,
)
goal_reviews = st.lists(
    st.builds(GoalReview, goal_id=ids, outcome=st.sampled_from(GoalReviewOutcome), note=notes),
    max_size=3,
    unique_by=lambda r: r.goal_id,
).map(tuple)


@st.composite
def steps_of(draw: Any, stage: SessionStage) -> tuple[StepRecord, ...]:
    chosen = list(REQUIRED_STEPS_BY_STAGE[stage])
    chosen += [s for s in STEPS_BY_STAGE[stage] if s not in chosen and draw(st.booleans())]
    ordered = draw(st.permutations(chosen))
    return tuple(
        StepRecord(step=s, status=draw(st.sampled_from(StepStatus)), note=draw(notes))
        for s in ordered
    )


@st.composite
def heads(draw: Any) -> dict[str, Any]:
    return {
        "event_id": draw(ids),
        "client_id": draw(ids),
        "episode_id": draw(ids),
        "keyworker_id": draw(ids),
        "occurred_on": draw(dates),
        "recorded_at": draw(times),
    }


@st.composite
def goals(draw: Any) -> Goal:
    kind = draw(st.sampled_from(GoalKind))
    return Goal(
        goal_id=draw(ids),
        kind=kind,
        description=draw(names if kind is GoalKind.OTHER else notes),
        target_date=draw(st.none() | dates),
        meeting=draw(st.none() | meetings),
        status=draw(st.sampled_from([GoalStatus.PROPOSED, GoalStatus.AGREED])),
    )


@st.composite
def obstacles(draw: Any) -> ObstacleRecord:
    kind = draw(st.sampled_from(Obstacle))
    return ObstacleRecord(
        obstacle=kind,
        response=draw(names if kind is Obstacle.OTHER else notes),
        used_suggested_response=draw(st.booleans()),
    )


@st.composite
def later_session(draw: Any, stage: SessionStage) -> dict[str, Any]:
    committed = draw(st.booleans())
    fields = {
        "steps": draw(steps_of(stage)),
        "commitment": draw(commitments) if committed else None,
        "no_commitment_reason": None if committed else draw(text),
        "goal_reviews": draw(goal_reviews),
    }
    if stage is SessionStage.REVIEW:
        fields["commitment_review"] = draw(reviews)
    else:
        fields["commitment_review"] = draw(st.none() | reviews)
        fields["preferred_organisation"] = draw(st.none() | orgs)
    return fields


def bodies(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """The kind-specific fields of a valid event of ``kind``."""
    return {
        "episode_opened": st.fixed_dictionaries({"team_id": st.none() | ids}),
        "session_1_held": st.fixed_dictionaries(
            {
                "steps": steps_of(SessionStage.INTRODUCTION),
                "commitment": st.none() | commitments,
                "past_experience": st.builds(
                    PastExperience,
                    level=st.sampled_from(ExperienceLevel),
                    organisations=st.lists(orgs, max_size=3).map(tuple),
                    note=notes,
                ),
                "handouts_given": st.lists(st.sampled_from(Handout), unique=True).map(tuple),
                "journal_given": st.booleans(),
                "literacy_support": st.none()
                | st.builds(
                    LiteracySupport,
                    kind=st.sampled_from(LiteracySupportKind),
                    large_print=st.booleans(),
                    note=notes,
                ),
            }
        ),
        "session_2_held": later_session(SessionStage.ENGAGEMENT),
        "session_3_held": later_session(SessionStage.REVIEW),
        "goal_set": st.fixed_dictionaries({"goal": goals()}),
        "goal_updated": st.fixed_dictionaries(
            {
                "goal_id": ids,
                "status": st.sampled_from([GoalStatus.AGREED, GoalStatus.WITHDRAWN]),
                "note": notes,
            }
        ),
        "journal_entry_recorded": st.fixed_dictionaries(
            {
                "entry": st.builds(
                    JournalEntry,
                    entry_id=ids,
                    meeting=meetings,
                    date=dates,
                    attended=st.booleans(),
                    reactions=notes,
                    benefits=st.lists(text, max_size=2).map(tuple),
                    disadvantages=st.lists(text, max_size=2).map(tuple),
                    contacts_made=st.integers(0, 1000),
                    involvement=st.none()
                    | st.lists(st.sampled_from(InvolvementSign), max_size=3).map(tuple),
                )
            }
        ),
        "obstacle_raised": st.fixed_dictionaries({"record": obstacles()}),
        "accompaniment_arranged": st.fixed_dictionaries(
            {
                "arrangement": st.builds(
                    AccompanimentArrangement,
                    arrangement_id=ids,
                    volunteer_id=ids,
                    volunteer_kind=st.sampled_from(VolunteerKind),
                    meeting=meetings,
                    date=dates,
                    commitment_id=st.none() | ids,
                    coordinator_id=st.none() | ids,
                    volunteer_attends_consistently=st.none() | st.booleans(),
                )
            }
        ),
        "accompaniment_concluded": st.fixed_dictionaries(
            {
                "result": st.builds(
                    AccompanimentResult,
                    arrangement_id=ids,
                    outcome=st.sampled_from(AccompanimentOutcome),
                    note=notes,
                )
            }
        ),
        "engagement_confirmed": st.fixed_dictionaries(
            {
                "organisation": orgs,
                "note": notes,
                "evidence": st.none()
                | st.builds(
                    EngagementEvidence,
                    attended_dates=st.lists(dates, max_size=3).map(tuple),
                    reviews_with_attendance=st.lists(st.integers(1, 9), max_size=3).map(tuple),
                    involvement=st.lists(st.sampled_from(InvolvementSign), max_size=3).map(tuple),
                ),
            }
        ),
        "client_declined": st.fixed_dictionaries({"reason": notes}),
        "episode_closed": st.fixed_dictionaries(
            {"reason": st.sampled_from(CloseReason), "note": notes}
        ),
    }[kind]


@st.composite
def valid_documents(draw: Any) -> dict[str, Any]:
    """A valid event of any kind as the JSON document a host would send (a dict)."""
    kind = draw(st.sampled_from(ev.EVENT_KINDS))
    event = CLASSES[kind](**draw(heads()), **draw(bodies(kind)))
    document = json.loads(event.model_dump_json(exclude_none=draw(st.booleans())))
    if draw(st.booleans()):
        del document["schema_version"]  # stored before events carried a version
    return document


def _probe_fields() -> dict[str, dict[str, Any]]:
    """One valid document of every kind, from a journey that meets them all."""
    b = JourneyBuilder("probe", start=dt.date(2026, 1, 5))
    m = b.meeting()
    b.open().session1().goal(GoalKind.READ_HANDOUTS, status=GoalStatus.PROPOSED)
    b.agree_goal(b.events[-1].goal.goal_id)  # type: ignore[union-attr]
    b.session2(commit_to=m, accompaniment=True).accompany()
    arrangement = b.events[-1].arrangement.arrangement_id  # type: ignore[union-attr]
    b.accompaniment_outcome(arrangement).obstacle(Obstacle.MAKING_TIME).journal(m)
    b.session3(commit_to=m).journal(m, days_after=5, contacts=1).session3()
    b.engaged(complete=False).open(days_later=3).declined().open(days_later=3).closed()
    return {e.kind: json.loads(ev.event_to_json(e)) for e in b.events}


_PROBE = _probe_fields()
CLASSES = {cls.model_fields["kind"].default: cls for cls in ev._EVENT_CLASSES}

# ---------------------------------------------------------------- hostile mutations

HOSTILE_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    1.0,
    1.5,
    2**70,
    "",
    " ",
    "1",
    "1.0",
    "true",
    "yes",
    "done",
    "aa",
    "a" * 65,
    "x" * 201,
    "x" * 2001,
    "é",
    "a\x00b",
    "a\u00a0b",
    "a\u2028b",
    "2026-01-05",
    "2026-02-30",
    "2026-1-5",
    "20260105",
    "2026-01-05T00:00:00",
    "2026-01-05T17:00:00",
    "2026-01-05T17:00:00Z",
    "2026-01-05T17:00:00.123456789+01:00",
    "2026-01-05 17:00:00+00:00",
    1767571200,
    "1767571200",
    [],
    [1],
    ["done"],
    {},
    {"kind": "other"},
    *ev.EVENT_KINDS,
    "no_such_kind",
    "s1.introduce",
    "s2.check_in",
    "not_done",
]


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON document, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((node, key))
            _slots(value, out)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.append((node, index))
            _slots(value, out)
    return out


@st.composite
def mutate(draw: Any, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` changed in place in one of the ways hosts and attackers get it wrong."""
    how = draw(
        st.sampled_from(
            ["replace", "delete", "extra", "version", "kind", "step", "naive", "duplicate"]
        )
    )
    slots = _slots(document, [])
    container, key = slots[draw(st.integers(0, len(slots) - 1))]
    if how == "replace":
        container[key] = draw(st.sampled_from(HOSTILE_VALUES) | st.integers() | text)
    elif how == "delete":
        if isinstance(container, dict):
            del container[key]
        else:
            container.pop(key)
    elif how == "extra":
        target = container[key] if isinstance(container[key], dict) else document
        target[draw(st.sampled_from(["x", "note", "kind", "schema_version", "steps"]))] = 1
    elif how == "version":
        document["schema_version"] = draw(
            st.sampled_from([0, 1, 2, 99, 1.0, True, False, "1", None, [1], -1])
        )
    elif how == "kind":
        document["kind"] = draw(st.sampled_from([*ev.EVENT_KINDS, "nope", 1, None, ""]))
    elif how == "step" and isinstance(document.get("steps"), list) and document["steps"]:
        steps = document["steps"]
        pick = draw(st.integers(0, len(steps) - 1))
        choice = draw(st.sampled_from(["twice", "drop", "foreign"]))
        if choice == "twice":
            steps.append(json.loads(json.dumps(steps[pick])))  # a copy, whatever it now is
        elif choice == "drop":
            steps.pop(pick)
        else:
            steps[pick] = {
                "step": draw(st.sampled_from(["s1.introduce", "s3.goals"])),
                "status": "done",
            }
    elif how == "naive":
        document["recorded_at"] = draw(st.sampled_from(["2026-01-05T17:00:00", "2026-01-05"]))
    elif how == "duplicate":
        document["__duplicate__"] = draw(st.sampled_from(list(document)))
    return document


def encode(document: dict[str, Any]) -> str:
    """JSON text; a ``__duplicate__`` key names a key to repeat (last one wins in JSON)."""
    repeat = document.pop("__duplicate__", None)
    out = json.dumps(document, ensure_ascii=False)
    if isinstance(repeat, str) and repeat in document:  # a later mutation may replace it
        out = "{" + json.dumps(repeat) + ":" + json.dumps("dup-1") + "," + out[1:]
    return out


# ---------------------------------------------------------------- comparing outcomes


def fields_set(value: Any) -> Any:
    """Which fields each model in ``value`` holds as set (what ``exclude_unset`` relies on)."""
    if isinstance(value, BaseModel):
        return (
            type(value).__name__,
            sorted(value.model_fields_set),
            {k: fields_set(v) for k, v in value.__dict__.items()},
        )
    if isinstance(value, tuple):
        return [fields_set(v) for v in value]
    return None


def outcome(decode: Any, line: str | bytes) -> Any:
    try:
        event = decode(line)
    except InvalidRecord as problem:
        return (
            "refused",
            type(problem).__name__,
            problem.record,
            problem.kind,
            problem.event_id,
            [(p.location, p.code, p.reason) for p in problem.problems],
        )
    return ("decoded", type(event), event, event.model_dump_json(), fields_set(event))


def full(line: str | bytes) -> Any:
    return ev._event_from_json_full(line, record="line 7")


def fast(line: str | bytes) -> Any:
    return ev.event_from_json(line, record="line 7")


def plain(line: str | bytes) -> Any:
    """``TypeAdapter(Event).validate_json`` itself, or None when it refuses."""
    try:
        return ev._ADAPTER.validate_json(line, context=ev.DECODING)
    except ValidationError:
        return None


def assert_same(line: str | bytes) -> None:
    expected = outcome(full, line)
    assert outcome(fast, line) == expected
    reference = plain(line)
    if expected[0] == "decoded":
        assert reference == expected[2]
        assert fields_set(reference) == expected[4]
    else:
        assert reference is None


# ---------------------------------------------------------------- the properties


def test_the_fast_path_removed_the_before_validator_of_every_kind():
    # If a pydantic release shaped its schemas otherwise, decoding would stay right but slow.
    assert ev._FAST_REMOVED == len(ev.EVENT_KINDS)


@settings(max_examples=400)
@given(valid_documents())
def test_valid_events_of_every_kind_decode_to_the_same_model(document):
    ev._forget_steps()  # a note-free list of steps is kept, then swapped (up to 1,024 kept)
    line = encode(document)
    assert outcome(fast, line)[0] == "decoded"
    assert_same(line)
    assert_same(line.encode())


@settings(max_examples=1500)
@given(st.data())
def test_hostile_mutations_decode_or_are_refused_exactly_as_the_full_path(data):
    ev._forget_steps()
    document = data.draw(valid_documents())
    for _ in range(data.draw(st.integers(1, 3))):
        document = data.draw(mutate(document))
    assert_same(encode(document))


def every_leaf_replaced(document: dict[str, Any]) -> list[str]:
    """``document`` with each value in it (at any depth) replaced by each hostile value in turn."""
    out = []
    for number in range(len(_slots(document, []))):
        for value in HOSTILE_VALUES:
            copy = json.loads(json.dumps(document))
            container, key = _slots(copy, [])[number]
            container[key] = value
            out.append(json.dumps(copy))
    return out


@pytest.mark.parametrize("kind", ev.EVENT_KINDS)
def test_every_value_of_every_kind_replaced_by_every_hostile_value(kind, fresh_steps):
    # Exhaustive where the random mutations are sparse: every slot times every value. A
    # session's list of steps is kept by the first line, so the others (a hostile value
    # anywhere else) are decoded with it swapped.
    for line in every_leaf_replaced(_PROBE[kind]):
        assert_same(line)
    assert bool(ev._STEPS_TOKENS) == ("steps" in _PROBE[kind])


@settings(max_examples=300)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_arbitrary_text_is_refused_exactly_as_the_full_path(line):
    assert_same(line)


@pytest.mark.parametrize("line", CORPUS.read_text(encoding="utf-8").splitlines())
def test_the_stored_corpus_decodes_the_same_both_ways(line, fresh_steps):
    for _ in range(2):  # the second time, a note-free list of steps is read from the kept ones
        assert_same(line)
        assert_same(line.encode())


@pytest.mark.parametrize("version", [None, 1, 2, 0, -1, 1.0, True, "1", [1]], ids=lambda v: repr(v))
@pytest.mark.parametrize("kind", ev.EVENT_KINDS)
def test_every_schema_version_path_is_the_full_paths(kind, version, fresh_steps):
    document = dict(_PROBE[kind])
    if version is None:
        document.pop("schema_version", None)  # a log written before versions: version 1
    else:
        document["schema_version"] = version
    assert_same(json.dumps(document))


def test_a_future_version_is_still_an_unknown_schema_version():
    document = dict(_PROBE["session_1_held"], schema_version=2)
    result = outcome(fast, json.dumps(document))
    assert result[1] == "UnknownSchemaVersion"
    assert [p[1] for p in result[5]] == ["future_schema_version"]


line_texts = st.one_of(
    valid_documents().map(encode),
    st.sampled_from(["", " ", "\t", "\u00a0", "\u2028", "\r\n", "\x0b", "\ufeff{}", "{}", "\x00"]),
    st.text(max_size=30),
)


def yielded(result: Any) -> Any:
    """What ``events_from_json_lines`` yielded, as :func:`outcome` words a decode."""

    def decode(_line: Any) -> Any:
        if isinstance(result, InvalidRecord):
            raise result
        return result

    return outcome(decode, None)


@settings(max_examples=200)
@given(st.lists(line_texts, max_size=6), st.booleans(), st.integers(1, 3))
def test_a_log_of_lines_decodes_each_line_as_event_from_json_does(lines, as_bytes, start):
    source = [line.encode("utf-8", "surrogatepass") for line in lines] if as_bytes else lines
    got = [(n, yielded(r)) for n, r in ev.events_from_json_lines(source, start=start)]
    expected = []
    for number, line in enumerate(source, start=start):
        if number == start:  # a byte-order mark before the first line is not part of the JSON
            line = line.removeprefix(b"\xef\xbb\xbf" if as_bytes else "\ufeff")
        if line.strip():  # the blank-line rule as it was written before the fast path
            record = f"line {number}"
            expected.append(
                (number, outcome(lambda x, r=record: ev.event_from_json(x, record=r), line))
            )
    assert got == expected


def test_a_kind_at_a_later_version_keeps_its_upcaster_on_the_fast_path():
    # A missing schema_version of such a kind is an old event to upgrade, not the current one.
    later = ev.Session2Held
    kinds = {cls: v for cls, v in ev._VERSIONED.items() if cls is not later}
    schema, removed = ev._without_upcast(ev._ADAPTER.core_schema, kinds)
    assert removed == len(ev.EVENT_KINDS) - 1

    def upcasters(node: Any) -> list[Any]:
        if isinstance(node, list):
            return [owner for item in node for owner in upcasters(item)]
        if not isinstance(node, dict):
            return []
        found = []
        if node.get("type") == "function-before":
            function = node["function"]["function"]
            if getattr(function, "__func__", None) is ev._UPCAST:
                found.append(function.__self__)
        return found + [owner for value in node.values() for owner in upcasters(value)]

    assert upcasters(schema) == [later]
    assert sorted(c.__name__ for c in upcasters(ev._ADAPTER.core_schema)) == sorted(
        c.__name__ for c in ev._EVENT_CLASSES
    )


def test_the_fast_path_calls_no_upcaster_for_any_kind() -> None:
    # pydantic-core reuses a finished model's own validator (upcaster included) for a model
    # node naming it; the fast path must not, or every kind without an after-validator keeps
    # paying for the upcaster. Failed before the classes were marked unfinished while it was
    # built: the ten kinds other than the sessions called it.
    import sys
    import types

    called: list[str] = []
    code = ev._UPCAST.__code__

    def watch(frame: types.FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code is code:
            called.append(frame.f_locals["cls"].__name__)

    lines = [json.dumps(_PROBE[kind]) for kind in ev.EVENT_KINDS]
    sys.setprofile(watch)
    try:
        decoded = [ev._FAST.validate_json(line, context=ev.DECODING) for line in lines]
    finally:
        sys.setprofile(None)
    assert called == []
    assert decoded == [ev._ADAPTER.validate_json(line, context=ev.DECODING) for line in lines]
    # and the classes are finished again: their own validators still upcast
    assert all(cls.__dict__["__pydantic_complete__"] is True for cls in ev._EVENT_CLASSES)


# ---------------------------------------------------------------- kept step lists
#
# The fast path decodes each distinct note-free list of steps once and, in later lines with the
# same text, swaps it for a token (fama_core.events._decode_session). These tests hold the swap
# to the full path for valid lines and for lines crafted against the swap itself.


@pytest.fixture
def fresh_steps():
    """Each test starts with no step list kept (the cache holds at most 1,024)."""
    ev._forget_steps()
    yield
    ev._forget_steps()


def _session_line(kind: str = "session_2_held", *, compact: bool = False, **spaces: Any) -> str:
    """A valid note-free session line: spaced as ``json.dumps`` writes, or ``compact`` as fama
    writes (``"steps":[``, the decoder's quickest path, decisions S8)."""
    document = json.loads(json.dumps(_PROBE[kind]))
    for step in document["steps"]:
        step.pop("note", None)
    if compact:
        spaces = {"separators": (",", ":")}
    return json.dumps(document, **spaces) if spaces else json.dumps(document)


def _steps_text(line: str) -> str:
    start = line.index("[", line.index('"steps":'))
    return line[start : line.index("]", start) + 1]


def test_the_kept_path_is_built():
    # If a pydantic release shaped its schemas otherwise, decoding would stay right but slower.
    assert ev._KEPT_CHANGED == 6
    assert ev._FAST_KEPT is not None


def test_a_session_line_is_swapped_and_its_steps_shared(fresh_steps):
    line = _session_line()
    first, second = ev.event_from_json(line), ev.event_from_json(line.encode())
    assert _steps_text(line) in ev._STEPS_TOKENS and _steps_text(line).encode() in ev._STEPS_TOKENS
    assert first.steps is not None and first.steps == second.steps
    again = ev.event_from_json(line)
    assert again.steps is first.steps  # the kept tuple itself
    assert_same(line)
    assert_same(line.encode())
    full_steps = ev._ADAPTER.validate_json(line, context=ev.DECODING).steps
    for kept, fresh in zip(first.steps, full_steps, strict=True):
        assert kept == fresh and hash(kept) == hash(fresh)
        assert kept.model_dump() == fresh.model_dump()
        assert kept.model_fields_set == fresh.model_fields_set
        with pytest.raises(ValidationError):
            kept.status = StepStatus.NOT_DONE  # type: ignore[misc]


@pytest.mark.parametrize(
    "spaces",
    [{}, {"separators": (", ", ": ")}, {"indent": 1}, {"separators": (",", " :  ")}],
    ids=["default", "spaced", "indented", "odd"],
)
def test_spaced_json_is_swapped_too(fresh_steps, spaces):
    line = _session_line(**spaces)
    assert_same(line)
    assert_same(line)  # the second time from the kept list
    assert_same(line.encode())


@settings(max_examples=300)
@given(st.data())
def test_valid_note_free_sessions_decode_the_same_through_kept_lists(data):
    ev._forget_steps()
    kind = data.draw(st.sampled_from(["session_1_held", "session_2_held", "session_3_held"]))
    body = data.draw(bodies(kind))
    body["steps"] = tuple(s.model_copy(update={"note": None}) for s in body["steps"])
    event = CLASSES[kind](**data.draw(heads()), **body)
    line = event.model_dump_json(exclude_none=True)
    for _ in range(2):  # kept the first time, read from the kept list the second
        assert_same(line)
        assert_same(line.encode())
    assert ev._STEPS_TOKENS  # the swap was used


def _hostile_splices(line: str, token: str) -> list[str]:
    """``line`` rewritten against the swap: tokens, duplicates, nesting, escapes, brackets."""
    steps = _steps_text(line)
    at = line.index('"steps":')
    head, tail = line[:at], line[line.index(steps, at) + len(steps) :]
    other = json.loads(json.dumps(_PROBE["session_1_held"]["steps"]))
    kind = (
        '"kind": "session_2_held"'
        if '"kind": "session_2_held"' in line
        else '"kind":"session_2_held"'
    )
    mark = str(ev._STEPS_MARK)
    return [
        head + '"steps":' + token + tail,  # the token itself, in place of the list
        head + '"steps":' + token + "," + '"steps":' + steps + tail,
        head + '"steps":' + steps + ',"steps":' + token + tail,
        head + '"steps":' + steps + ',"st\\u0065ps":' + token + tail,
        head + '"st\\u0065ps":' + steps + ',"steps":' + steps + tail,
        head + '"steps":' + steps + ',"st\\u0065ps":' + json.dumps(other) + tail,
        head + '"steps":' + steps + ',"steps":' + json.dumps(other) + tail,
        head + '"steps":' + json.dumps(other) + ',"steps":' + steps + tail,
        head + '"steps":' + token + "0" + tail,
        head + '"steps":' + token[:-1] + tail,
        head + '"steps":' + token + ".0" + tail,
        head + '"steps":' + token + "e0" + tail,
        head + '"steps":-' + token + tail,
        head + '"steps":"' + token + '"' + tail,
        head + '"steps":' + f"{float(token):e}" + tail,
        head + '"steps":' + steps + "5" + tail,
        head + '"steps":' + steps + "]" + tail,
        head + '"steps":' + steps[:-1] + tail,
        head + '"steps":' + steps + steps + tail,
        head + '"a\\"steps":' + steps + ',"steps":' + steps + tail,
        head + '"a\\"steps":' + steps + tail,
        head + '"x":"\\"steps\\":' + steps.replace('"', '\\"') + '","steps":' + steps + tail,
        head + '"commitment_review":{"steps":' + steps + '},"steps":' + steps + tail,
        head + '"steps":' + steps + ',"note":"' + token + '"' + tail,  # the mark in the line
        head + '"steps":' + steps.replace('"done"', '"done","note":"]"', 1) + tail,
        head + '"steps":' + steps.replace('"done"', '"done","note":null', 1) + tail,
        head + '"steps":' + steps.replace('"done"', '"d\\u006fne"', 1) + tail,
        head + '"steps":' + steps.replace("[", "[[", 1).replace("}", "}]", 1) + tail,
        head + '"steps":' + steps.replace("},", "},1,", 1) + tail,
        head + '"steps"\t:\n ' + steps + tail,
        head + '"steps":' + steps + tail.replace("}", ',"steps":' + token + "}"),
        line[:-1] + ',"steps":' + token + "}",
        line.replace(kind, kind.replace("session_2_held", "session_3_held")),
        line.replace(kind, kind.replace("session_2_held", "episode_opened")),
        head + '"steps":' + steps + mark + tail,  # the mark right after the list
        head + '"steps":' + steps + mark[1:] + tail,  # the token's last digit and the rest
        head + '"steps":' + steps + tail[:-1] + ',"x":' + token + "}",  # a second token
        head + '"steps":' + steps + tail[:-1] + ',"x":' + mark + "}",  # the mark after it
        head.replace("{", '{"x":' + mark + ",", 1) + '"steps":' + steps + tail,  # and before
        head + '"steps":' + steps + "," + '"steps":' + steps + tail,  # the same list twice
        "[" + line + "]",
        line + line,
        line + "\n" + line,
    ]


@pytest.mark.parametrize("compact", [False, True], ids=["spaced", "compact"])
@pytest.mark.parametrize("as_bytes", [False, True])
def test_lines_crafted_against_the_swap_decode_as_the_full_path(fresh_steps, as_bytes, compact):
    line = _session_line(compact=compact)
    ev.event_from_json(line.encode() if as_bytes else line)
    token = ev._STEPS_TOKENS[_steps_text(line).encode() if as_bytes else _steps_text(line)]
    token = token.decode() if isinstance(token, bytes) else token
    crafted = _hostile_splices(line, token)
    assert len(set(crafted)) == len(crafted)
    for text in crafted:
        assert_same(text.encode() if as_bytes else text)
        assert_same(text.encode() if as_bytes else text)  # once more, lists kept by the first


splice_pieces = st.sampled_from(
    ['"steps":', "[", "]", "{", "}", ",", ":", '"', "\\", " ", "5", "0.5", "null", '"done"']
)


@settings(max_examples=600)
@given(st.data())
def test_text_spliced_into_a_session_line_decodes_as_the_full_path(data):
    # Random text-level damage around the swap: tokens, keys, brackets and quotes anywhere.
    ev._forget_steps()
    line = _session_line(
        data.draw(st.sampled_from(ev.EVENT_KINDS[1:4])), compact=data.draw(st.booleans())
    )
    ev.event_from_json(line)
    token = next(iter(ev._STEPS_TOKENS.values()))
    assert isinstance(token, str)
    pieces = st.one_of(splice_pieces, st.just(token), st.just(_steps_text(line)))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(line)))
        cut = data.draw(st.integers(0, 3))
        line = line[:at] + "".join(data.draw(st.lists(pieces, max_size=3))) + line[at + cut :]
    assert_same(line)
    assert_same(line.encode())


def test_the_kept_validator_takes_only_a_whole_integer_token(fresh_steps):
    line = _session_line()
    ev.event_from_json(line)
    token = ev._STEPS_TOKENS[_steps_text(line)]
    assert isinstance(token, str)
    swapped = line.replace(_steps_text(line), token)
    assert ev._FAST_KEPT is not None
    assert ev._FAST_KEPT.validate_json(swapped, context=ev.DECODING) == ev.event_from_json(line)
    for other in [token + ".0", str(float(token)), f'"{token}"', str(int(token) + 1), "true"]:
        with pytest.raises(ValidationError):
            ev._FAST_KEPT.validate_json(swapped.replace(token, other), context=ev.DECODING)


def test_step_notes_are_never_kept(fresh_steps):
    document = json.loads(_session_line("session_1_held"))
    document["steps"][0]["note"] = "went through it slowly"
    line = json.dumps(document)
    assert_same(line)
    assert_same(line)
    assert ev._STEPS_TOKENS == {}
    document["steps"] = [{**s, "note": None} for s in document["steps"]]
    assert_same(json.dumps(document))  # a null note is not kept either
    assert ev._STEPS_TOKENS == {}
    assert all(r.note is None for r in ev._STEP_RECORDS.values())


def test_the_kept_lists_are_bounded(fresh_steps, monkeypatch):
    monkeypatch.setattr(ev, "_STEPS_CACHE_SIZE", 3)
    document = json.loads(_session_line())
    lines = []
    for status in ["done", "not_done", "not_applicable"]:
        for pick in range(2):
            steps = [dict(s) for s in document["steps"]]
            steps[pick]["status"] = status
            lines.append(json.dumps({**document, "steps": steps}))
    for line in lines * 2:
        assert_same(line)
    assert len(ev._STEPS_TOKENS) == 3


def test_threads_keeping_lists_at_once_decode_the_same(fresh_steps):
    import threading

    document = json.loads(_session_line())
    lines = []
    for pick in range(len(document["steps"])):
        for status in ["not_done", "not_applicable"]:
            steps = [dict(s) for s in document["steps"]]
            steps[pick]["status"] = status
            lines.append(json.dumps({**document, "steps": steps}))
    expected = [outcome(full, line) for line in lines]
    results: dict[int, list[Any]] = {}
    barrier = threading.Barrier(4)

    def work(number: int) -> None:
        barrier.wait()
        order = lines[number:] + lines[:number]
        results[number] = [outcome(fast, line) for line in order * 3]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for number, got in results.items():
        assert got == (expected[number:] + expected[:number]) * 3
    assert len(ev._STEPS_TOKENS) == len(lines)


def test_a_schema_not_shaped_as_expected_turns_the_swap_off(monkeypatch):
    _schema, changed = ev._with_kept_steps(ev._ADAPTER.core_schema["choices"]["episode_opened"])
    assert changed == 0
    monkeypatch.setattr(ev, "_FAST_KEPT", None)
    assert_same(_session_line())


def test_a_kept_list_is_neither_decoded_nor_checked_again(fresh_steps):
    # What the swap is for: a line whose list is kept calls no upcaster and no step check, and
    # builds no step record. Should pydantic-core reuse the sessions' own validators, decoding
    # would stay right (the other tests) but this fails.
    import sys
    import types

    watched = {ev._UPCAST.__code__, ev._check_steps.__code__}
    called: list[str] = []

    def watch(frame: types.FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code in watched:
            called.append(frame.f_code.co_name)

    lines = [_session_line(kind) for kind in ("session_1_held", "session_2_held", "session_3_held")]
    first = [ev.event_from_json(line) for line in lines]  # keeps the lists (checked once each)
    records = len(ev._STEP_RECORDS)
    sys.setprofile(watch)
    try:
        again = [ev.event_from_json(line) for line in lines]
    finally:
        sys.setprofile(None)
    assert called == []
    assert again == first and all(a.steps is b.steps for a, b in zip(again, first, strict=True))
    assert len(ev._STEP_RECORDS) == records


@pytest.mark.parametrize("as_bytes", [False, True])
def test_a_compact_line_with_a_kept_list_takes_the_quick_swap(fresh_steps, monkeypatch, as_bytes):
    # Decision S8: a line as fama writes it, its list kept, never reaches the general splice.
    # Should the quick path stop matching, decoding would stay right (the tests above) but
    # slower, and this fails.
    lines = [_session_line(kind, compact=True) for kind in ("session_1_held", "session_2_held")]
    lines = [line.encode() if as_bytes else line for line in lines]
    first = [ev.event_from_json(line) for line in lines]  # kept through the general splice

    def general(*_args: Any) -> Any:
        raise AssertionError("the general splice was used")

    monkeypatch.setattr(ev, "_decode_swapped", general)
    again = [ev.event_from_json(line) for line in lines]
    assert again == first and all(a.steps is b.steps for a, b in zip(again, first, strict=True))
    spaced = _session_line("session_3_held")  # a blank after the key: the general splice
    with pytest.raises(AssertionError, match="general splice"):
        ev.event_from_json(spaced.encode() if as_bytes else spaced)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_a_long_step_list_is_never_kept(fresh_steps, as_bytes):
    # Review: a list of any length (or padded with blanks) was kept with its text for good, so a
    # hostile log of 1,024 long lines held all of them (about 25 MB a 1 MB list) after reading.
    line = _session_line()
    steps = _steps_text(line)
    padded = steps.replace(",", "," + " " * 5000, 1)
    repeated = "[" + ", ".join([steps[1:-1]] * 40) + "]"  # valid alone, complete for no stage
    for text in (line.replace(steps, padded), line.replace(steps, repeated)):
        assert_same(text.encode() if as_bytes else text)
        assert_same(text.encode() if as_bytes else text)
    assert ev._STEPS_TOKENS == {}
    assert_same(line)  # a list of ordinary length is still kept
    assert len(ev._STEPS_TOKENS) == 1


@settings(max_examples=300)
@given(st.data())
def test_kept_lists_of_every_stage_in_sessions_of_every_stage(data):
    # Review: with a list of each stage kept, a session line carrying another stage's list,
    # twice (first or last, the key escaped or not), spaced or not, as text or bytes, decodes
    # or is refused exactly as the full path.
    ev._forget_steps()
    compact = data.draw(st.booleans())
    kept = {kind: _steps_text(_session_line(kind, compact=compact)) for kind in ev.EVENT_KINDS[1:4]}
    for kind in kept:
        ev.event_from_json(_session_line(kind, compact=compact))
    kind = data.draw(st.sampled_from(sorted(kept)))
    line = _session_line(kind, compact=compact)
    first = data.draw(st.sampled_from(sorted(kept.values())))
    second = data.draw(st.none() | st.sampled_from(sorted(kept.values())))
    key = data.draw(st.sampled_from(['"steps":', '"steps" :', '"\\u0073teps":', '"steps":\n ']))
    value = first if second is None else first + "," + key + second
    at = '"steps":' if compact else '"steps": '
    line = line.replace(at + kept[kind], at + value)
    as_bytes = data.draw(st.booleans())
    assert_same(line.encode() if as_bytes else line)
    assert_same(line.encode() if as_bytes else line)
