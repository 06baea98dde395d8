"""Derivation of review rows: RECMAID, RECPEER, periods, post-treatment, consent, summaries."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from ndtms_factories import AS_OF, TABLE, D, context, facilitation, intervention, reviews

from fama_core.builders import JourneyBuilder
from fama_core.codes import AccompanimentOutcome
from fama_core.ndtms import (
    FacilitationBuilder,
    ReviewPolicy,
    Validator,
    derive,
    facilitation_from_state,
    policy_reviews,
)
from fama_core.workflow import fold


def flags(result, name="RECMAID"):
    return [r.values[name] for r in result.rows]


def test_recmaid_is_set_for_each_review_period_with_a_session():
    ctx = context(interventions=(intervention(reviews=reviews(D(2026, 2, 1), D(2026, 3, 1))),))
    result = derive(ctx, facilitation((D(2026, 2, 10),)), TABLE, as_of=AS_OF)
    assert flags(result) == ["N", "Y"]


def test_a_session_on_the_review_date_belongs_to_that_review():
    ctx = context(interventions=(intervention(reviews=reviews(D(2026, 2, 1), D(2026, 3, 1))),))
    assert flags(derive(ctx, facilitation((D(2026, 2, 1),)), TABLE, as_of=AS_OF)) == ["Y", "N"]


def test_recpeer_needs_an_accompanied_meeting_in_the_period():
    ctx = context(interventions=(intervention(reviews=reviews(D(2026, 2, 1), D(2026, 3, 1))),))
    result = derive(ctx, facilitation((D(2026, 1, 5),), peer=(D(2026, 2, 20),)), TABLE, as_of=AS_OF)
    assert flags(result, "RECPEER") == ["N", "Y"]
    assert flags(result) == ["Y", "N"]


def test_only_an_accompaniment_that_took_place_counts_as_peer_support():
    b = JourneyBuilder("c1", start=D(2026, 1, 5))
    m = b.meeting()
    b.open().session1().session2(commit_to=m, accompaniment=True).accompany()
    arrangement = b.events[-1].arrangement.arrangement_id
    used = fold(
        [*b.events, *JourneyBuilder_outcome(b, arrangement, AccompanimentOutcome.ACCOMPANIED)]
    )
    assert facilitation_from_state(used).peer_support == (D(2026, 1, 15),)
    b2 = JourneyBuilder("c1", start=D(2026, 1, 5))
    b2.open().session1().session2(commit_to=m, accompaniment=True).accompany()
    not_used = fold(
        [*b2.events, *JourneyBuilder_outcome(b2, arrangement, AccompanimentOutcome.CANCELLED)]
    )
    assert facilitation_from_state(not_used).peer_support == ()


def JourneyBuilder_outcome(b, arrangement, outcome):  # noqa: N802 - reads as the builder call
    b.accompaniment_outcome(arrangement, outcome)
    return [b.events[-1]]


def test_post_treatment_sessions_go_to_the_post_treatment_intervention():
    ctx = context(
        ended=D(2026, 3, 1),
        interventions=(
            intervention(ended_on=D(2026, 3, 1), reviews=reviews(D(2026, 3, 1))),
            intervention(
                intervention_id="M2",
                modality="POST",
                started_on=D(2026, 3, 2),
                post_treatment=True,
                reviews=reviews(D(2026, 4, 1)),
            ),
        ),
    )
    result = derive(ctx, facilitation((D(2026, 3, 10),)), TABLE, as_of=AS_OF)
    assert [(r.intervention_id, r.values["RECMAID"]) for r in result.rows] == [
        ("M1", "N"),
        ("M2", "Y"),
    ]
    assert result.unplaced == ()


def test_a_session_after_discharge_without_post_treatment_intervention_is_reported():
    ctx = context(
        ended=D(2026, 3, 1),
        interventions=(intervention(ended_on=D(2026, 3, 1), reviews=reviews(D(2026, 3, 1))),),
    )
    result = derive(ctx, facilitation((D(2026, 3, 10),)), TABLE, as_of=AS_OF)
    assert flags(result) == ["N"]
    assert [u.code for u in result.unplaced] == ["outside_treatment"]


def test_facilitation_after_the_last_review_of_an_ended_intervention_is_a_missing_review():
    ctx = context(
        interventions=(intervention(ended_on=D(2026, 4, 1), reviews=reviews(D(2026, 2, 1))),)
    )
    result = derive(ctx, facilitation((D(2026, 3, 1),)), TABLE, as_of=AS_OF)
    assert [u.code for u in result.unplaced] == ["no_review"]
    assert result.reviews_missing == 1


def test_facilitation_after_the_last_review_of_an_open_intervention_is_pending():
    ctx = context(interventions=(intervention(reviews=reviews(D(2026, 2, 1))),))
    result = derive(ctx, facilitation((D(2026, 3, 1),)), TABLE, as_of=AS_OF)
    assert [u.code for u in result.unplaced] == ["pending"]
    assert result.reviews_missing == 0


def test_no_consent_recorded_submits_nothing_and_says_why():
    result = derive(context(consent=None), facilitation((D(2026, 2, 1),)), TABLE, as_of=AS_OF)
    assert result.rows == ()
    assert "consent not recorded" in (result.withheld or "")


def test_consent_refused_keeps_only_what_the_dataset_allows():
    result = derive(context(consent=False), facilitation((D(2026, 2, 1),)), TABLE, as_of=AS_OF)
    (only,) = result.rows
    kept = {k: v for k, v in only.values.items() if v is not None}
    assert kept == {"AGNCY": "AG001", "CLIENTID": "c1", "CONSENT": "N"}
    assert "consent refused" in (result.withheld or "")


def test_no_agency_code_submits_nothing():
    result = derive(context(agency=None), facilitation((D(2026, 2, 1),)), TABLE, as_of=AS_OF)
    assert result.rows == () and "AGNCY" in (result.withheld or "")


def test_host_reviews_validation_would_refuse_are_skipped_and_reported():
    ctx = context(
        interventions=(
            intervention(ended_on=D(2026, 3, 1), reviews=reviews(D(2026, 2, 1), D(2026, 5, 1))),
        )
    )
    result = derive(ctx, facilitation(), TABLE, as_of=D(2026, 4, 1))
    assert len(result.rows) == 1
    assert [u.code for u in result.unplaced] == ["review_skipped"]


def test_review_after_as_of_is_not_derived():
    ctx = context(interventions=(intervention(reviews=reviews(D(2026, 2, 1), D(2026, 9, 1))),))
    assert len(derive(ctx, facilitation(), TABLE, as_of=D(2026, 8, 1)).rows) == 1


def test_policy_reviews_are_stable_ids_up_to_as_of_and_at_the_end():
    iv = intervention(ended_on=D(2026, 3, 15))
    points = policy_reviews(iv, 28, True, AS_OF)
    assert [p.reviewed_on for p in points] == [D(2026, 1, 29), D(2026, 2, 26), D(2026, 3, 15)]
    assert points[0].review_id == "M1-20260129"
    assert [p.reviewed_on for p in policy_reviews(intervention(), 28, True, D(2026, 2, 1))] == [
        D(2026, 1, 29)
    ]


def test_policy_used_only_without_host_reviews():
    ctx = context(policy=ReviewPolicy(interval_days=28))
    result = derive(ctx, facilitation((D(2026, 1, 10),)), TABLE, as_of=D(2026, 2, 27))
    assert flags(result) == ["Y", "N"]


def test_dates_use_the_tables_format():
    ctx = context(interventions=(intervention(reviews=reviews(D(2026, 2, 1))),))
    (r,) = derive(ctx, facilitation(), TABLE, as_of=AS_OF).rows
    assert r.values["SUBMODDT"] == "2026-02-01"
    assert r.values["MODST"] == "2026-01-01"


def test_episode_summary_has_first_and_last_facilitation_and_outcome():
    b = JourneyBuilder("c1", start=D(2026, 1, 5))
    b.open().session1().session2(reason="not yet").declined()
    (summary,) = facilitation_from_state(fold(b.events)).episodes
    assert (summary.first_facilitation, summary.last_facilitation) == (
        D(2026, 1, 5),
        D(2026, 1, 12),
    )
    assert summary.outcome == "declined" and summary.sessions == 2


# ------------------------------------------------------------------ properties

dates = st.dates(min_value=D(2020, 1, 1), max_value=D(2028, 12, 31))


@st.composite
def scenarios(draw):
    triaged = draw(dates)
    discharged = draw(st.none() | st.dates(min_value=triaged, max_value=D(2029, 6, 30)))
    ivs = []
    for i in range(draw(st.integers(0, 3))):
        post = discharged is not None and draw(st.booleans())
        lo = discharged + dt.timedelta(days=1) if post else triaged
        start = draw(
            st.dates(min_value=lo - dt.timedelta(days=30), max_value=lo + dt.timedelta(days=200))
        )
        end = draw(st.none() | st.dates(min_value=start, max_value=start + dt.timedelta(days=500)))
        days = draw(
            st.lists(
                st.dates(
                    min_value=start - dt.timedelta(days=40),
                    max_value=start + dt.timedelta(days=600),
                ),
                max_size=5,
                unique=True,
            )
        )
        ivs.append(
            intervention(
                intervention_id=f"M{i}",
                modality="POST" if post else "RECSUP",
                started_on=start,
                ended_on=end,
                post_treatment=post,
                reviews=reviews(*days),
            )
        )
    policy = draw(
        st.none() | st.builds(ReviewPolicy, interval_days=st.integers(7, 200), at_end=st.booleans())
    )
    ctx = context(
        interventions=tuple(ivs),
        consent=draw(st.sampled_from([True, True, False, None])),
        started=triaged,
        ended=discharged,
        policy=policy,
    )
    sessions = tuple(draw(st.lists(dates, max_size=8)))
    peer = tuple(draw(st.lists(dates, max_size=3)))
    as_of = draw(dates)
    return ctx, facilitation(sessions, peer), as_of


@settings(max_examples=200)
@given(scenarios(), st.sampled_from(["K", "M", "N", "O", "P"]))
def test_every_derived_row_validates(scenario, version):
    from fama_core.ndtms import load_dataset

    ctx, fac, as_of = scenario
    table = load_dataset(version)
    result = derive(ctx, fac, table, as_of=as_of)
    post = [iv.modality for iv in ctx.interventions if iv.post_treatment]
    v = Validator(table, today=as_of, post_treatment_modalities=post)
    for r in result.rows:
        errors = [f for f in v.row("derived", r.values) if f.severity == "error"]
        assert errors == []
    if ctx.treatment.consent_to_share is not True:
        assert result.withheld


@settings(max_examples=60)
@given(st.integers(0, 4), st.integers(0, 3), st.booleans())
def test_log_scan_projection_matches_the_fold(cycles, gap, accompanied):
    """A builder fed event by event and the fold give the same Facilitation."""
    b = JourneyBuilder("c1", start=D(2026, 1, 5), gap_days=gap + 1)
    m = b.meeting()
    b.open().session1().session2(commit_to=m, accompaniment=True).accompany()
    arrangement = b.events[-1].arrangement.arrangement_id
    b.accompaniment_outcome(
        arrangement,
        AccompanimentOutcome.ACCOMPANIED if accompanied else AccompanimentOutcome.CANCELLED,
    )
    for _ in range(cycles):
        b.session3(commit_to=m)
    b.session3().engaged()
    built = FacilitationBuilder("c1")
    for e in b.events:
        _feed(built, e)
    assert built.build() == facilitation_from_state(fold(b.events))


def _feed(b, e):
    """A host's log scan feeding the builder one event at a time."""
    if e.kind == "episode_opened":
        b.opened(e.episode_id, e.keyworker_id, e.occurred_on)
    elif e.kind.startswith("session_"):
        b.session(e.episode_id, e.occurred_on)
    elif e.kind == "accompaniment_arranged":
        a = e.arrangement
        b.arranged(e.episode_id, a.arrangement_id, a.date, a.volunteer_kind.value, a.volunteer_id)
    elif e.kind == "accompaniment_concluded":
        b.concluded(e.episode_id, e.result.arrangement_id, e.result.outcome.value)
    elif e.kind in ("engagement_confirmed", "client_declined", "episode_closed"):
        status = {"engagement_confirmed": "engaged", "client_declined": "declined"}
        b.ended(e.episode_id, status.get(e.kind, "closed"), e.occurred_on)


def test_a_correction_is_an_edit_of_the_table_alone():
    """Change the date format and flag values in the data: derivation, writing and checks follow."""
    import io

    from fama_adapters.ndtms.csvfile import ExtractWriter
    from fama_core.ndtms import DatasetTable

    raw = TABLE.model_dump()
    raw["file"]["date_format"] = "%Y-%m-%d"
    raw["flag_values"]["values"] = [{"code": "1", "meaning": "yes"}, {"code": "0", "meaning": "no"}]
    corrected = DatasetTable.model_validate(raw)
    ctx = context(interventions=(intervention(reviews=reviews(D(2026, 2, 1))),))
    (r,) = derive(ctx, facilitation((D(2026, 1, 10),)), corrected, as_of=AS_OF).rows
    assert (r.values["SUBMODDT"], r.values["RECMAID"], r.values["RECPEER"]) == (
        "2026-02-01",
        "1",
        "0",
    )
    assert Validator(corrected, today=AS_OF).row("r", r.values) == []
    assert [f.code for f in Validator(TABLE, today=AS_OF).row("r", r.values)].count(
        "FAMA-E030"
    ) == 2
    buf = io.BytesIO()
    ExtractWriter(buf, corrected).write(r)
    assert b'"2026-02-01"' in buf.getvalue()
