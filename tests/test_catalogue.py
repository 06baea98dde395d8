"""The catalogue matches the code lists and cites its sources."""

from __future__ import annotations

import pytest

from fama_core.catalogue import Catalogue, load_catalogue
from fama_core.codes import Handout, OrganisationApproach, SessionStage, Step
from fama_core.errors import CatalogueError
from fama_core.models import Organisation


def test_every_handout_and_step_is_catalogued_with_a_source():
    cat = load_catalogue()
    assert set(cat.handouts) == {h.value for h in Handout}
    assert set(cat.steps) == {s.value for s in Step}
    for entry in [*cat.handouts.values(), *cat.steps.values(), *cat.obstacles.values()]:
        assert entry.source.document == "fama-three-essential-stages"


def test_steps_of_a_session_are_in_the_guides_order():
    steps = [s.id for s in load_catalogue().steps_of(SessionStage.REVIEW)]
    assert steps == [
        Step.S3_CHECK_IN,
        Step.S3_PROBLEMS_AND_SOLUTIONS,
        Step.S3_ENCOURAGEMENT,
        Step.S3_GROUP_PARTICIPATION,
        Step.S3_GOALS,
    ]


def test_organisations_of_both_annexes_with_their_approach_and_no_helplines():
    cat = load_catalogue()
    assert set(cat.organisations) == {
        "smart",
        "aa",
        "ca",
        "daa",
        "ma",
        "na",
        "alateen",
        "al-anon",
        "fa",
    }
    assert cat.organisation("smart").approach is OrganisationApproach.SECULAR
    assert cat.organisation("na").approach is OrganisationApproach.TWELVE_STEP
    assert "helpline" not in Organisation.model_fields
    families = {c for c, o in cat.organisations.items() if o.audience == "families_and_friends"}
    assert families == {"alateen", "al-anon", "fa"}


def test_a_host_adds_local_organisations_but_cannot_reuse_a_code():
    cat = load_catalogue()
    local = Organisation(
        code="rco-leeds",
        name="Leeds Recovery Community",
        for_whom="anyone",
        approach="other",
        audience="people_who_use",
        local=True,
    )
    assert "rco-leeds" in cat.with_organisations([local]).organisations
    clash = local.model_copy(update={"code": "aa"})
    with pytest.raises(CatalogueError, match="organisations/aa: listed twice"):
        cat.with_organisations([clash])


def test_unknown_organisation_is_a_clear_error():
    with pytest.raises(CatalogueError, match="organisations/zz: unknown organisation"):
        load_catalogue().organisation("zz")


def test_a_catalogue_missing_a_step_is_refused():
    cat = load_catalogue()
    with pytest.raises(CatalogueError, match="no entry for s3.goals"):
        Catalogue(
            handouts=cat.handouts.values(),
            steps=[s for s in cat.steps.values() if s.id is not Step.S3_GOALS],
            obstacles=cat.obstacles.values(),
            goal_kinds=cat.goal_kinds.values(),
            organisations=cat.organisations.values(),
        )
