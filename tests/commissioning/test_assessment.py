"""The self-assessment: which answers come from data, the gap list, and the action plan."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_core.catalogue import load_catalogue
from fama_core.commissioning import (
    QUESTIONS,
    THRESHOLD_SOURCES,
    ActionStatus,
    Answer,
    AnswerSource,
    Heading,
    PartnershipInput,
    analyse_access,
    analyse_availability,
    assess,
    journeys_from_caseload,
    parse_partnership_input,
    parse_partnership_json,
)
from fama_core.errors import InvalidRecord

from .caseload import hand_checked_caseload
from .test_availability import AS_OF, DIRECTORY


@pytest.fixture(scope="module")
def availability():
    return analyse_availability(DIRECTORY, load_catalogue().organisations, as_of=AS_OF)


@pytest.fixture(scope="module")
def access():
    return analyse_access(journeys_from_caseload(hand_checked_caseload()), threshold=1)


def answers(sa):
    return {i.question.id: (i.answer, i.source) for i in sa.items}


def test_data_answers_from_the_directory_and_the_caseload(availability, access):
    given_ = PartnershipInput(partnership="Test", keyworkers_total=4)
    sa = assess(given_, availability=availability, access=access, as_of=AS_OF)
    got = answers(sa)
    D = AnswerSource.DATA
    # 12-step (aa, na) and secular (smart) meet in person
    assert got["range_of_groups"] == (Answer.MET, D)
    # Thursday and Saturday have no in-person meeting
    assert got["meetings_every_day"] == (Answer.PARTLY, D)
    # Al-Anon meets in person; Alateen and Families Anonymous do not
    assert got["family_groups"] == (Answer.PARTLY, D)
    # 1 of 9 entries stale (never verified): fewer than half
    assert got["directory_current"] == (Answer.PARTLY, D)
    # kw-a, kw-b, kw-c delivered session 1; 4 keyworkers in all
    assert got["keyworkers_deliver_fama"] == (Answer.PARTLY, D)
    # 3 of 9 attended a first meeting: 33% < 50% target
    assert got["clients_reach_meetings"] == (Answer.PARTLY, D)
    # arranged for 2, used by 1
    assert got["peer_accompaniment"] == (Answer.MET, D)


def test_evidence_states_the_figures(availability, access):
    sa = assess(
        PartnershipInput(partnership="Test", keyworkers_total=4),
        availability=availability,
        access=access,
        as_of=AS_OF,
    )
    evidence = {i.question.id: i.evidence for i in sa.items}
    assert evidence["clients_reach_meetings"].startswith("3 of 9 clients introduced")
    assert (
        evidence["keyworkers_deliver_fama"]
        == "3 of 4 keyworkers held a FAMA session 1 in the period."
    )
    assert evidence["directory_current"] == "1 of 9 entries not verified in the last 365 days."


def test_without_a_keyworker_count_the_partnership_answers(access):
    given_ = PartnershipInput.model_validate(
        {"partnership": "T", "answers": {"keyworkers_deliver_fama": {"answer": "met"}}}
    )
    got = answers(assess(given_, availability=None, access=access, as_of=AS_OF))
    assert got["keyworkers_deliver_fama"] == (Answer.MET, AnswerSource.PARTNERSHIP)
    assert got["range_of_groups"] == (Answer.UNKNOWN, AnswerSource.NONE)


def test_a_partnership_answer_to_a_data_question_is_noted_not_used(availability, access):
    given_ = PartnershipInput.model_validate(
        {"partnership": "T", "answers": {"range_of_groups": {"answer": "not_met"}}}
    )
    sa = assess(given_, availability=availability, access=access, as_of=AS_OF)
    assert answers(sa)["range_of_groups"] == (Answer.MET, AnswerSource.DATA)
    assert sa.notes == (
        "range_of_groups: answered from data as met; "
        "the partnership's answer (not_met) is not used.",
    )


def test_steering_group_membership(access):
    def steering(members, exists=True):
        given_ = PartnershipInput.model_validate(
            {"partnership": "T", "steering_group": {"exists": exists, "members": members}}
        )
        sa = assess(given_, availability=None, access=access, as_of=AS_OF)
        item = next(i for i in sa.items if i.question.id == "steering_group")
        return item.answer, item.evidence

    full = [
        "mutual_aid_groups",
        "recovery_community_organisations",
        "treatment_providers",
        "service_users",
    ]
    assert steering(full)[0] is Answer.MET
    assert steering(full[:3]) == (Answer.PARTLY, "Steering group lacks: service users.")
    assert steering([], exists=False)[0] is Answer.NOT_MET


def test_ndtms_completeness_answers_the_recording_question(access):
    given_ = PartnershipInput(partnership="T")
    for share, expected in ((0.97, Answer.MET), (0.6, Answer.PARTLY), (0.2, Answer.NOT_MET)):
        sa = assess(given_, availability=None, access=access, as_of=AS_OF, ndtms_completeness=share)
        assert answers(sa)["ndtms_recording"] == (expected, AnswerSource.DATA)


def test_every_unmet_question_is_a_gap_with_an_action(availability, access):
    sa = assess(
        PartnershipInput(partnership="T"), availability=availability, access=access, as_of=AS_OF
    )
    unmet = {i.question.id for i in sa.items if i.answer is not Answer.MET}
    assert {g.question_id for g in sa.gaps} == unmet
    plan = {a.id: a for a in sa.plan}
    for gap in sa.gaps:
        assert any(plan[a].status not in ("done", "dropped") for a in gap.actions)
        assert all(plan[a].gap == gap.question_id for a in gap.actions)


def test_a_done_action_on_a_question_still_not_met_gets_a_new_proposal(access):
    given_ = PartnershipInput.model_validate(
        {
            "partnership": "T",
            "answers": {"premises_offered": {"answer": "partly"}},
            "actions": [{"id": "a1", "gap": "premises_offered", "action": "x", "status": "done"}],
        }
    )
    sa = assess(given_, availability=None, access=access, as_of=AS_OF)
    gap = next(g for g in sa.gaps if g.question_id == "premises_offered")
    assert gap.actions == ("a1", "proposed-premises_offered")


def test_proposed_actions_fill_gaps_the_partnership_has_not_planned(access):
    given_ = PartnershipInput.model_validate(
        {
            "partnership": "T",
            "answers": {"premises_offered": {"answer": "not_met"}},
            "actions": [
                {
                    "id": "a1",
                    "gap": "premises_offered",
                    "action": "Offer rooms",
                    "lead": "Commissioner",
                    "due": "2026-06-30",
                    "status": "in_progress",
                },
                {"id": "a2", "gap": "rco_links", "action": "Dropped idea", "status": "dropped"},
            ],
        }
    )
    sa = assess(given_, availability=None, access=access, as_of=dt.date(2026, 7, 1))
    plan = {a.id: a for a in sa.plan}
    assert plan["a1"].overdue  # due 30 June, still in progress on 1 July
    assert not plan["a2"].overdue
    gaps = {g.question_id: g for g in sa.gaps}
    assert gaps["premises_offered"].actions == ("a1",)
    # a dropped action does not cover its gap: fama proposes another beside it
    assert gaps["rco_links"].actions == ("a2", "proposed-rco_links")
    assert plan["proposed-rco_links"].status is ActionStatus.PROPOSED


def test_bad_answers_and_actions_are_reported_and_the_rest_kept():
    data = {
        "partnership": "T",
        "answers": {
            "premises_offered": {"answer": "maybe"},
            "no_such_question": {"answer": "met"},
            "rco_links": {"answer": "met"},
        },
        "actions": [
            {"id": "ok", "action": "Do it"},
            {"id": "bad due", "action": "x", "due": "soon"},
            {"id": "x2", "gap": "nope", "action": "y"},
        ],
    }
    given_, problems = parse_partnership_input(data, record="answers.json")
    assert set(given_.answers) == {"rco_links"}
    assert [a.id for a in given_.actions] == ["ok"]
    records = sorted(p.record for p in problems)
    assert records == [
        "answers.json: actions[1]",
        "answers.json: actions[2]",
        "answers.json: answers.no_such_question",
        "answers.json: answers.premises_offered",
    ]
    assert all("maybe" not in str(p) and "soon" not in str(p) for p in problems)


def test_answers_or_actions_of_the_wrong_shape_are_reported_and_the_rest_kept():
    given_, problems = parse_partnership_input(
        {"partnership": "T", "answers": ["met"], "actions": {"id": "x"}, "keyworkers_total": 3}
    )
    assert given_.keyworkers_total == 3 and not given_.answers and not given_.actions
    assert [p.problems[0].location for p in problems] == ["answers", "actions"]


def test_a_document_that_is_not_an_object_or_not_json_is_refused():
    with pytest.raises(InvalidRecord, match="must be a JSON object"):
        parse_partnership_input([])
    with pytest.raises(InvalidRecord, match="not a valid JSON document"):
        parse_partnership_json("{")
    with pytest.raises(InvalidRecord, match="partnership"):
        parse_partnership_input({"answers": {}})


def test_the_example_partnership_file_parses_cleanly():
    from pathlib import Path

    path = Path(__file__).parents[2] / "examples" / "commissioning" / "assessment.json"
    given_, problems = parse_partnership_json(path.read_bytes())
    assert problems == [] and given_.actions


def test_questions_cite_the_guide_and_have_unique_ids():
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS)
    assert all(q.source and q.source_passage and q.suggested_action for q in QUESTIONS)


def test_every_question_cites_phe_or_is_labelled_a_local_addition():
    phe = ("Improving access to mutual aid", "Mutual aid self-assessment tool")
    for q in QUESTIONS:
        assert q.local_addition or any(doc in q.source for doc in phe), q.id
    assert [q.id for q in QUESTIONS if q.local_addition] == ["directory_current"]


def test_questions_sit_under_phe_headings_in_order():
    order = [q.heading for q in QUESTIONS]
    assert order == sorted(order, key=list(Heading).index)
    assert set(order) == set(Heading)


def test_the_unsourced_questions_are_gone_and_the_missing_ones_are_asked():
    texts = " ".join(q.text.lower() for q in QUESTIONS)
    assert "women" not in texts and "evening" not in texts
    by_id = {q.id: q for q in QUESTIONS}
    assert "in-patient and residential" in by_id["shared_vision"].text
    assert "attitudes" in by_id["provider_staff_attitudes"].text
    assert by_id["provider_staff_attitudes"].heading is Heading.BARRIERS
    jsna = by_id["jsna_and_strategy"].text
    assert "joint strategic needs assessment" in jsna and "health and wellbeing strategy" in jsna


def test_thresholds_are_configuration_shown_with_default_and_source(availability, access):
    given_ = PartnershipInput(partnership="T", ndtms_met_percent=80, ndtms_partly_percent=40)
    sa = assess(
        given_, availability=availability, access=access, as_of=AS_OF, ndtms_completeness=0.85
    )
    assert answers(sa)["ndtms_recording"] == (Answer.MET, AnswerSource.DATA)
    default = assess(
        PartnershipInput(partnership="T"),
        availability=availability,
        access=access,
        as_of=AS_OF,
        ndtms_completeness=0.85,
    )
    assert answers(default)["ndtms_recording"][0] is Answer.PARTLY
    shown = {t.name: t for t in sa.thresholds}
    assert set(shown) == set(THRESHOLD_SOURCES)
    assert (shown["ndtms_met_percent"].value, shown["ndtms_met_percent"].default) == (80, 95)
    assert shown["stale_after_days"].value == availability.stale_after_days
    assert all(t.source for t in sa.thresholds)


@settings(max_examples=60)
@given(
    met=st.floats(0, 100),
    partly=st.floats(0, 100),
    completeness=st.floats(0, 1),
)
def test_the_ndtms_answer_follows_its_thresholds(met, partly, completeness):
    given_ = PartnershipInput(partnership="T", ndtms_met_percent=met, ndtms_partly_percent=partly)
    sa = assess(
        given_, availability=None, access=None, as_of=AS_OF, ndtms_completeness=completeness
    )
    answer = answers(sa)["ndtms_recording"][0]
    pct = 100 * completeness
    expected = Answer.MET if pct >= met else Answer.PARTLY if pct >= partly else Answer.NOT_MET
    assert answer is expected


@settings(max_examples=60)
@given(
    st.dictionaries(
        st.sampled_from([q.id for q in QUESTIONS] + ["bogus"]),
        st.fixed_dictionaries({"answer": st.sampled_from(["met", "partly", "not_met", "x"])}),
    ),
    st.lists(
        st.fixed_dictionaries(
            {
                "id": st.from_regex(r"[a-z]{1,6}", fullmatch=True),
                "action": st.text(min_size=0, max_size=5),
                "status": st.sampled_from(["done", "in_progress", "later"]),
            }
        ),
        max_size=4,
    ),
)
def test_parsing_never_loses_a_good_part_and_never_raises_for_bad_parts(answers_, actions):
    doc = json.dumps({"partnership": "P", "answers": answers_, "actions": actions})
    given_, problems = parse_partnership_json(doc)
    good_answers = {
        k
        for k, v in answers_.items()
        if k != "bogus" and v["answer"] in ("met", "partly", "not_met")
    }
    good_actions = [a for a in actions if a["action"] and a["status"] != "later"]
    assert set(given_.answers) == good_answers
    assert len(given_.actions) == len(good_actions)
    assert len(problems) == len(answers_) - len(good_answers) + len(actions) - len(good_actions)
    sa = assess(given_, availability=None, access=None, as_of=AS_OF)
    assert len(sa.items) == len(QUESTIONS)
