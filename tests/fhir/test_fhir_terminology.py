"""fama's FHIR terminology: valid R4, shipped current, and exactly what the mapper can emit."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.structuredefinition import StructureDefinition
from fhir.resources.R4B.valueset import ValueSet
from fhir_strategies import client_states
from hypothesis import given, settings

from fama_adapters.cli import main
from fama_adapters.fhir import tables, terminology
from fama_adapters.fhir.mapping import client_bundle
from fama_adapters.fhir.questionnaire import journal_questionnaire
from fama_core.catalogue import load_catalogue
from fama_core.codes import (
    AccompanimentOutcome,
    AttendanceMode,
    CommitmentOutcome,
    EpisodeStatus,
    GoalKind,
    GoalStatus,
    SessionStage,
    Step,
    StepStatus,
    VolunteerKind,
)
from fama_core.models import (
    AccompanimentArrangement,
    Goal,
    JournalEntry,
    MeetingCommitment,
    MeetingRef,
    Organisation,
    StepRecord,
)
from fama_core.state import (
    AccompanimentState,
    ClientState,
    CommitmentState,
    EpisodeState,
    GoalState,
    SessionSummary,
)

ROOT = Path(__file__).parent.parent.parent
SHIPPED = ROOT / "schemas" / "fhir"
BUNDLE = SHIPPED / "fama-terminology.bundle.json"
MODELS = {
    "CodeSystem": CodeSystem,
    "ValueSet": ValueSet,
    "StructureDefinition": StructureDefinition,
    "Questionnaire": Questionnaire,
}
FAMA_SYSTEMS = set(tables.CODE_SYSTEMS.values())


def _shipped_code_systems(resources):
    """url → {code: display} of every CodeSystem in ``resources``."""
    return {
        r["url"]: {c["code"]: c["display"] for c in r["concept"]}
        for r in resources
        if r["resourceType"] == "CodeSystem"
    }


def _codings(node):
    """Every Coding (a dict with ``system`` and ``code``) anywhere in a JSON document."""
    if isinstance(node, dict):
        if isinstance(node.get("system"), str) and isinstance(node.get("code"), str):
            yield node
        for value in node.values():
            yield from _codings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _codings(value)


# ------------------------------------------------------------------ valid and shipped


def test_every_resource_validates_as_fhir_r4():
    for resource in terminology.terminology_resources():
        MODELS[resource["resourceType"]].model_validate(resource)


def test_the_load_bundle_validates_and_every_entry_is_a_conditional_update_on_url_and_version():
    resources = terminology.terminology_resources()
    bundle = terminology.terminology_bundle(resources)
    Bundle.model_validate(bundle)
    assert bundle["type"] == "transaction"
    assert len(bundle["entry"]) == len(resources)
    for entry, resource in zip(bundle["entry"], resources, strict=True):
        rtype = resource["resourceType"]
        assert entry["request"] == {
            "method": "PUT",
            "url": f"{rtype}?url={resource['url']}&version={resource['version']}",
        }
        assert "id" not in entry["resource"]  # ids are the server's: none clashes with the host's
    assert len({e["fullUrl"] for e in bundle["entry"]}) == len(resources)


def test_every_code_system_is_complete_versioned_and_bound_to_its_value_set():
    resources = terminology.terminology_resources()
    systems = {r["url"]: r for r in resources if r["resourceType"] == "CodeSystem"}
    sets = {r["url"]: r for r in resources if r["resourceType"] == "ValueSet"}
    assert set(systems) == FAMA_SYSTEMS
    assert set(sets) == set(tables.VALUE_SETS.values())
    for key, url in tables.CODE_SYSTEMS.items():
        cs, vs = systems[url], sets[tables.VALUE_SETS[key]]
        assert cs["content"] == "complete"
        assert cs["status"] == vs["status"] == "active"
        assert cs["version"] == vs["version"] == tables.TERMINOLOGY_VERSION
        assert cs["count"] == len(cs["concept"]) > 0
        assert cs["valueSet"] == vs["url"]
        assert vs["compose"]["include"] == [{"system": url, "version": cs["version"]}]
        codes = [c["code"] for c in cs["concept"]]
        assert len(codes) == len(set(codes))
        assert all(c["display"] for c in cs["concept"])


def test_the_checked_in_terminology_is_current():
    out = io.StringIO()
    code = main(
        ["fhir", "terminology", "--check", "--dir", str(SHIPPED), "--bundle", str(BUNDLE)],
        stdout=out,
    )
    assert code == 0, out.getvalue() + " — run `make schemas`"


def test_the_check_names_a_stale_and_an_extra_file(tmp_path):
    args = ["fhir", "terminology", "--dir", str(tmp_path), "--bundle", str(tmp_path / "b.json")]
    assert main(args, stdout=io.StringIO()) == 0
    (tmp_path / "CodeSystem-step.json").write_text("{}")
    (tmp_path / "ValueSet-retired.json").write_text("{}")
    out = io.StringIO()
    assert main([*args, "--check"], stdout=out) == 1
    assert "CodeSystem-step.json" in out.getvalue()
    assert "ValueSet-retired.json" in out.getvalue()


def test_terminology_without_a_destination_is_a_usage_error():
    err = io.StringIO()
    assert main(["fhir", "terminology"], stdout=io.StringIO(), stderr=err) == 2
    assert "--dir" in err.getvalue()


# ------------------------------------------------------------------ what the mapper emits


def test_the_questionnaire_answer_value_set_and_options_resolve():
    resources = terminology.terminology_resources()
    sets = {r["url"] for r in resources if r["resourceType"] == "ValueSet"}
    shipped = _shipped_code_systems(resources)
    questionnaire = journal_questionnaire()
    bound = [i["answerValueSet"] for i in questionnaire["item"] if "answerValueSet" in i]
    assert bound == [tables.VALUE_SETS["organisation"]]
    assert set(bound) <= sets
    for coding in _codings(questionnaire):
        assert coding["code"] in shipped[coding["system"]]


@settings(max_examples=60)
@given(client_states())
def test_every_code_the_mapper_emits_resolves_with_the_shipped_display(state):
    """Organisation codes outside the catalogue are a host's own: they resolve once the host
    writes the terminology with its local organisations, and only then."""
    bundle = client_bundle(state)
    packaged = _shipped_code_systems(terminology.terminology_resources())
    org_system = tables.CODE_SYSTEMS["organisation"]
    local = sorted(
        {
            c["code"]
            for c in _codings(bundle)
            if c["system"] == org_system and c["code"] not in packaged[org_system]
        }
    )
    with_local = _shipped_code_systems(
        terminology.terminology_resources(
            Organisation(
                code=code,
                name="Local group",
                for_whom="Anyone",
                approach="other",
                audience="people_who_use",
            )  # fmt: skip
            for code in local
        )
    )
    for coding in _codings(bundle):
        system = coding["system"]
        if system.startswith(tables.NAMESPACE):
            assert system in FAMA_SYSTEMS, system
        if system not in FAMA_SYSTEMS:
            continue  # HL7's own (goal-achievement, task-code)
        assert coding["code"] in with_local[system]
        if coding["code"] in packaged[system]:
            assert coding.get("display") == packaged[system][coding["code"]]
        else:
            assert system == org_system and "display" not in coding


def _state(
    *,
    status=EpisodeStatus.COMMITTED,
    kind=GoalKind.READ_HANDOUTS,
    stage=SessionStage.INTRODUCTION,
    step=Step.S1_IDENTIFY_NEED,
    step_status=StepStatus.DONE,
    organisation="aa",
    mode=AttendanceMode.ONLINE,
    volunteer=VolunteerKind.GROUP_MEMBER,
    accompaniment=AccompanimentOutcome.ACCOMPANIED,
    commitment=CommitmentOutcome.ATTENDED,
):
    """One episode holding one of every record, its codes as given."""
    day = dt.date(2026, 3, 2)
    meeting = MeetingRef(name="Tuesday group", organisation=organisation, attendance_mode=mode)
    episode = EpisodeState(
        episode_id="e1",
        client_id="c1",
        keyworker_id="k1",
        team_id=None,
        status=status,
        opened_on=day,
        sessions=(
            SessionSummary(
                number=1,
                stage=stage,
                held_on=day,
                keyworker_id="k1",
                steps=(StepRecord(step=step, status=step_status),),
                event_id="s1",
            ),
        ),
        goals=(
            GoalState(
                goal=Goal(goal_id="g1", kind=kind, description="described"),
                status=GoalStatus.AGREED,
                set_on=day,
                set_after_session=1,
            ),
        ),
        journal=(
            JournalEntry(entry_id="j1", meeting=meeting, date=day, attended=True, contacts_made=0),
        ),
        commitments=(
            CommitmentState(
                commitment=MeetingCommitment(commitment_id="m1", meeting=meeting, planned_date=day),
                made_on=day,
                made_in_session=1,
                outcome=commitment,
            ),
        ),
        accompaniments=(
            AccompanimentState(
                arrangement=AccompanimentArrangement(
                    arrangement_id="a1",
                    volunteer_id="v1",
                    volunteer_kind=volunteer,
                    meeting=meeting,
                    date=day,
                ),
                arranged_on=day,
                outcome=accompaniment,
            ),
        ),
    )
    return ClientState(client_id="c1", episodes=(episode,), version=1)


_PLACES = {
    "record": None,  # every state holds an episode, a commitment and an accompaniment
    "episode-status": lambda c: {"status": EpisodeStatus(c)},
    "goal-kind": lambda c: {"kind": GoalKind(c)},
    "session": lambda c: {"stage": SessionStage(c.removeprefix("session-"))},
    "step": lambda c: {"step": Step(c)},
    "step-status": lambda c: {"step_status": StepStatus(c)},
    "organisation": lambda c: {"organisation": c},
    "attendance-mode": lambda c: {"mode": AttendanceMode(c)},
    "volunteer-kind": lambda c: {"volunteer": VolunteerKind(c)},
    "accompaniment-outcome": lambda c: {"accompaniment": AccompanimentOutcome(c)},
    "commitment-outcome": lambda c: {"commitment": CommitmentOutcome(c)},
}


@pytest.mark.parametrize(
    ("key", "code"),
    [(key, c.code) for key in tables.CODE_SYSTEMS for c in terminology.concepts(key)],
)
def test_every_shipped_code_is_one_the_mapper_emits(key, code):
    """No code in a shipped CodeSystem that fama could never write."""
    place = _PLACES[key]
    bundle = client_bundle(_state(**(place(code) if place else {})))
    emitted = {(c["system"], c["code"]) for c in _codings(bundle)}
    assert (tables.CODE_SYSTEMS[key], code) in emitted


def test_every_code_system_holds_exactly_its_source_code_list():
    catalogue = load_catalogue()
    sources = {
        "record": set(tables.RECORD_CODES),
        "episode-status": {s.value for s in EpisodeStatus},
        "goal-kind": {k.value for k in GoalKind},
        "session": {f"session-{s.value}" for s in SessionStage},
        "step": {s.value for s in Step},
        "step-status": {s.value for s in StepStatus},
        "organisation": set(catalogue.organisations),
        "attendance-mode": {m.value for m in AttendanceMode},
        "volunteer-kind": {v.value for v in VolunteerKind},
        "accompaniment-outcome": {o.value for o in AccompanimentOutcome},
        "commitment-outcome": {o.value for o in CommitmentOutcome},
    }
    assert set(sources) == set(tables.CODE_SYSTEMS)
    for key, codes in sources.items():
        assert {c.code for c in terminology.concepts(key)} == codes, key


def test_definitions_come_from_the_sources():
    steps = {c.code: c for c in terminology.concepts("step")}
    entry = load_catalogue().steps[Step.S1_PAST_EXPERIENCE.value]
    assert steps[entry.id.value].definition.startswith(entry.guidance)
    assert "Session one, step 2" in steps[entry.id.value].definition
    statuses = {c.code: c.definition for c in terminology.concepts("episode-status")}
    assert statuses["engaged"] == "Fully engaged with a mutual aid group (end of the episode)."
    assert {c.code: c.display for c in terminology.concepts("goal-kind")}[
        "read_handouts"
    ] == load_catalogue().goal_kinds["read_handouts"].title


# ------------------------------------------------------------------ a host's own organisations


def _write(path, data):
    path.write_text(json.dumps(data), "utf-8")
    return path


def test_local_organisations_join_the_organisation_code_system_with_a_local_version(tmp_path):
    local = _write(
        tmp_path / "local.json",
        [
            {
                "code": "bridge",
                "name": "Bridge Recovery Café",
                "for_whom": "Anyone in recovery",
                "approach": "other",
                "audience": "people_who_use",
            }
        ],
    )
    out_dir = tmp_path / "fhir"
    args = ["fhir", "terminology", "--dir", str(out_dir), "--organisations", str(local)]
    assert main(args, stdout=io.StringIO()) == 0
    cs = json.loads((out_dir / "CodeSystem-organisation.json").read_text("utf-8"))
    vs = json.loads((out_dir / "ValueSet-organisation.json").read_text("utf-8"))
    assert "bridge" in {c["code"] for c in cs["concept"]}
    assert cs["version"].startswith(tables.TERMINOLOGY_VERSION + "+local.")
    assert vs["version"] == cs["version"]
    CodeSystem.model_validate(cs)
    # the other code systems keep fama's version
    step = json.loads((out_dir / "CodeSystem-step.json").read_text("utf-8"))
    assert step["version"] == tables.TERMINOLOGY_VERSION


def test_a_version_with_a_plus_is_escaped_in_the_bundle_request(tmp_path):
    local = Organisation(
        code="bridge", name="Bridge", for_whom="Anyone", approach="other", audience="people_who_use"
    )
    bundle = terminology.terminology_bundle(terminology.terminology_resources([local]))
    urls = [e["request"]["url"] for e in bundle["entry"] if "organisation" in e["request"]["url"]]
    assert urls and all("%2Blocal." in u and "+" not in u for u in urls)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "--organisations: not JSON"),
        ('{"code": "x"}', "--organisations: not a JSON list"),
        ('[{"code": "BAD CODE"}]', "--organisations[0]"),
        (
            '[{"code": "aa", "name": "Again", "for_whom": "x", "approach": "other",'
            ' "audience": "people_who_use"}]',
            "organisations/aa",
        ),
    ],
)
def test_bad_local_organisations_are_a_usage_error_naming_the_entry(tmp_path, content, expected):
    bad = tmp_path / "local.json"
    bad.write_text(content, "utf-8")
    err = io.StringIO()
    code = main(
        ["fhir", "terminology", "--dir", str(tmp_path / "o"), "--organisations", str(bad)],
        stdout=io.StringIO(),
        stderr=err,
    )
    assert code == 2
    assert expected in err.getvalue()
    assert "BAD CODE" not in err.getvalue()  # no input value echoed
    assert not (tmp_path / "o").exists()  # nothing written


def test_a_missing_organisations_file_is_a_usage_error(tmp_path):
    err = io.StringIO()
    code = main(
        ["fhir", "terminology", "--dir", str(tmp_path), "--organisations", str(tmp_path / "no")],
        stdout=io.StringIO(),
        stderr=err,
    )
    assert code == 2
    assert f"cannot use --organisations '{tmp_path / 'no'}': No such file" in err.getvalue()


def test_printing_fama_terminology_imports_no_http_client():
    """The fhir package imports its submodules on first use: no httpx for offline actions."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from fama_adapters.cli import main\n"
        "main(['fhir', 'questionnaire'], stdout=__import__('io').StringIO())\n"
        "from fama_adapters.fhir import journal_questionnaire\n"
        "print('HTTPX', 'httpx' in sys.modules, callable(journal_questionnaire))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("HTTPX False True")


def test_the_bundle_loads_into_a_server_once_and_a_local_edition_sits_beside_it():
    """Loaded through fama's own client into the loopback server, as a vendor would post it."""
    import httpx

    from fama_adapters.fhir.client import FhirClient
    from fama_adapters.fhir.testing import FakeFhirServer

    fama_only = terminology.terminology_bundle(terminology.terminology_resources())
    local = Organisation(
        code="bridge", name="Bridge", for_whom="Anyone", approach="other", audience="people_who_use"
    )
    with_local = terminology.terminology_bundle(terminology.terminology_resources([local]))
    with FakeFhirServer() as server, httpx.Client(timeout=10.0) as http:
        client = FhirClient(server.base_url, http)
        first = client.submit(fama_only)
        again = client.submit(fama_only)
        held = server.count()
        edition = client.submit(with_local)
        held_after = {(r["resourceType"], r["url"], r["version"]) for r in server.resources()}
    n = len(fama_only["entry"])
    assert (first.created, again.created, held) == (n, 0, n)
    assert edition.created == 2  # the organisation CodeSystem and ValueSet of the local edition
    org = tables.CODE_SYSTEMS["organisation"]
    versions = sorted(v for t, u, v in held_after if t == "CodeSystem" and u == org)
    assert versions[0] == tables.TERMINOLOGY_VERSION
    assert versions[1].startswith(tables.TERMINOLOGY_VERSION + "+local.")


# ------------------------------------------------------------------ extension definitions

_VALUE_KEY = {"string": "valueString", "boolean": "valueBoolean", "Coding": "valueCoding"}


def test_every_extension_fama_defines_has_a_valid_structure_definition():
    defined = {e.key for e in terminology.EXTENSION_DEFINITIONS}
    assert defined == set(tables.EXTENSIONS)
    for ext in terminology.EXTENSION_DEFINITIONS:
        sd = terminology.extension_definition(ext)
        StructureDefinition.model_validate(sd)
        assert sd["url"] == tables.EXTENSIONS[ext.key]
        for element in sd["differential"]["element"]:
            binding = element.get("binding")
            if binding:
                assert binding["valueSet"] in set(tables.VALUE_SETS.values())


def _extensions_in(node, where):
    """(element path, element, extension) for every fama extension in a resource."""
    if isinstance(node, dict):
        for ext in node.get("extension", []):
            if ext.get("url", "").startswith(tables.NAMESPACE):
                yield where, id(node), ext
        for key, value in node.items():
            if key != "extension":
                yield from _extensions_in(value, f"{where}.{key}")
    elif isinstance(node, list):
        for value in node:
            yield from _extensions_in(value, where)


@settings(max_examples=60)
@given(client_states())
def test_every_extension_the_mapper_writes_fits_its_structure_definition(state):
    definitions = {tables.EXTENSIONS[e.key]: e for e in terminology.EXTENSION_DEFINITIONS}
    packaged = _shipped_code_systems(terminology.terminology_resources())
    for entry in client_bundle(state)["entry"]:
        resource = entry["resource"]
        counts: dict[tuple[int, str], int] = {}  # per element carrying extensions
        for where, element, ext in _extensions_in(resource, resource["resourceType"]):
            definition = definitions[ext["url"]]
            assert where in definition.contexts, (ext["url"], where)
            counts[(element, ext["url"])] = counts.get((element, ext["url"]), 0) + 1
            simple = len(definition.parts) == 1 and not definition.parts[0].url
            values = [ext] if simple else ext["extension"]
            parts = {p.url: p for p in definition.parts}
            seen = []
            for value in values:
                part = parts["" if simple else value["url"]]
                seen.append(part.url)
                (key,) = [k for k in value if k.startswith("value")]
                assert key == _VALUE_KEY[part.type]
                if part.binding is not None and part.strength == "required":
                    system = tables.CODE_SYSTEMS[part.binding]
                    assert value[key]["system"] == system
                    assert value[key]["code"] in packaged[system]
            assert len(seen) == len(set(seen))  # every part at most once
            assert {p.url for p in definition.parts if p.required} <= set(seen)
        for (_element, url), n in counts.items():
            assert n == 1 or definitions[url].repeats
