"""fama's FHIR terminology: a CodeSystem and a ValueSet for every code system fama writes.

With them, a StructureDefinition for each extension fama writes (its parts and their
bindings, from :data:`EXTENSION_DEFINITIONS`).

The FHIR resources fama writes (:mod:`fama_adapters.fhir.mapping`) code their
values in fama's own code systems (:data:`~fama_adapters.fhir.tables.CODE_SYSTEMS`)
and the hand-out 10 Questionnaire binds its group answer to
``ValueSet/organisation``. A server that checks codes needs those resources;
this module builds them from the same tables the mapper codes from:

* the codes are the values of the :mod:`fama_core.codes` enums and the entries of
  the packaged catalogue (:func:`fama_core.catalogue.load_catalogue`), so a code
  added there appears here, and a test fails until ``make schemas`` ships it;
* the display of each code is the one the mapper writes (:func:`displays`);
* the definitions are the catalogue's guidance and the enum members' docstrings,
  where the sources give one.

FHIR release R4 (4.0.1): every resource validates with ``fhir.resources.R4B``.
``fama fhir terminology --dir DIR --bundle FILE`` writes them (checked in under
``schemas/fhir/``); the Bundle is a transaction of conditional updates on
``url`` and ``version``, safe to load twice. See ``docs/fhir.md``.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any, Final
from urllib.parse import quote

from fama_adapters.fhir.questionnaire import journal_questionnaire
from fama_adapters.fhir.tables import (
    CODE_SYSTEMS,
    EXTENSIONS,
    RECORD_CODES,
    SESSION_CODES,
    TERMINOLOGY_VERSION,
    VALUE_SETS,
)
from fama_core.catalogue import Catalogue, load_catalogue
from fama_core.codes import (
    AccompanimentOutcome,
    AttendanceMode,
    CommitmentOutcome,
    EpisodeStatus,
    GoalKind,
    SessionStage,
    StepStatus,
    VolunteerKind,
)
from fama_core.models import Organisation, SourceRef

__all__ = [
    "PUBLISHER",
    "EXTENSION_DEFINITIONS",
    "Concept",
    "ExtensionDefinition",
    "ExtensionPart",
    "code_system",
    "concepts",
    "displays",
    "extension_definition",
    "file_name",
    "terminology_bundle",
    "terminology_resources",
    "value_set",
]

PUBLISHER: Final = "fama"
"""``publisher`` of every resource fama ships."""

_UUID_NAMESPACE = uuid.UUID("6f1b7d2e-4f4e-5a8c-9b0a-fa3a00000002")


@dataclass(frozen=True, slots=True)
class Concept:
    """One code of a fama code system: what a CodeSystem ``concept`` holds."""

    code: str
    display: str
    definition: str | None = None


@dataclass(frozen=True, slots=True)
class _System:
    name: str
    """The resource's computer-friendly ``name`` (``FamaEpisodeStatus``)."""
    title: str
    description: str
    codes: Callable[[Catalogue], tuple[Concept, ...]]


def _label(code: str) -> str:
    """A display for a code the sources name only as an enum member: ``not_done`` → Not done."""
    return code.replace("_", " ").capitalize()


@cache
def _member_docs(enum: type[StrEnum]) -> dict[str, str]:
    """The docstring under each member of ``enum`` in :mod:`fama_core.codes`, by value.

    Python keeps no attribute docstrings at run time, so they are read from the
    source, the one place they are written. No source (a frozen build): none.
    """
    try:
        tree = ast.parse(inspect.getsource(enum))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body if isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, after in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            member = getattr(enum, node.targets[0].id)
            docs[member.value] = " ".join(after.value.value.split())
    return docs


def _enum_concepts(enum: type[StrEnum], definitions: bool) -> tuple[Concept, ...]:
    docs = _member_docs(enum) if definitions else {}
    return tuple(Concept(m.value, _label(m.value), docs.get(m.value)) for m in enum)


def _of_enum(enum: type[StrEnum]) -> Callable[[Catalogue], tuple[Concept, ...]]:
    return lambda _catalogue: _enum_concepts(enum, True)


def _records(_catalogue: Catalogue) -> tuple[Concept, ...]:
    return tuple(Concept(code, d, definition) for code, (d, definition) in RECORD_CODES.items())


def _sessions(_catalogue: Catalogue) -> tuple[Concept, ...]:
    docs = _member_docs(SessionStage)
    return tuple(
        Concept(f"session-{s.value}", SESSION_CODES[s], docs.get(s.value)) for s in SessionStage
    )


def _goal_kinds(catalogue: Catalogue) -> tuple[Concept, ...]:
    docs = _member_docs(GoalKind)
    return tuple(
        Concept(k.value, catalogue.goal_kinds[k.value].title, docs.get(k.value)) for k in GoalKind
    )


_DOCUMENTS: Final = {
    "fama-three-essential-stages": "the guide",
    "improving-access-to-mutual-aid-commissioners": "the commissioners' guide",
}


def _cite(source: SourceRef | None) -> str:
    if source is None:
        return "the host's local list"
    where = f"{_DOCUMENTS.get(source.document, source.document)}, {source.section}"
    return where + (f", p. {source.page}" if source.page else "")


def _steps(catalogue: Catalogue) -> tuple[Concept, ...]:
    return tuple(
        Concept(s.id.value, s.title, f"{s.guidance} ({_cite(s.source)})")
        for s in catalogue.steps.values()
    )


def _organisation_definition(org: Organisation) -> str:
    approach = {"twelve_step": "A 12-step", "secular": "A secular"}.get(org.approach.value, "A")
    audience = (
        "people who use drugs or alcohol"
        if org.audience.value == "people_who_use"
        else "families and friends"
    )
    return (
        f"{approach} mutual aid organisation for {audience}. Who it is for: {org.for_whom}. "
        f"({_cite(org.source)})"
    )


def _organisations(catalogue: Catalogue) -> tuple[Concept, ...]:
    return tuple(
        Concept(o.code, o.name, _organisation_definition(o))
        for o in catalogue.organisations.values()
    )


_SYSTEMS: Final[dict[str, _System]] = {
    "record": _System(
        "FamaRecord",
        "fama record kinds",
        "Which FAMA record a FHIR resource carries (CarePlan.category, "
        "CarePlan.activity.detail.code, ServiceRequest.code).",
        _records,
    ),
    "episode-status": _System(
        "FamaEpisodeStatus",
        "FAMA episode status",
        "Where a client's FAMA episode stands (fama's reading of the guide's model, p. 6); "
        "the CarePlan's episode-status extension.",
        _of_enum(EpisodeStatus),
    ),
    "goal-kind": _System(
        "FamaGoalKind",
        "FAMA care-planned goal kinds",
        "Kinds of care-planned goal named by the guide (sessions 1-3, hand-out 7); "
        "Goal.description.",
        _goal_kinds,
    ),
    "session": _System(
        "FamaSession",
        "FAMA sessions",
        "The three FAMA sessions (the guide, the three-stage FAMA model, p. 6); Procedure.code.",
        _sessions,
    ),
    "step": _System(
        "FamaSessionStep",
        "FAMA session steps",
        "The steps of each FAMA session, as the guide numbers them (pp. 6-11); "
        "the Procedure's session-step extension.",
        _steps,
    ),
    "step-status": _System(
        "FamaStepStatus",
        "FAMA step status",
        "How a step of a session went (fama's decision); the session-step extension.",
        _of_enum(StepStatus),
    ),
    "organisation": _System(
        "FamaMutualAidOrganisation",
        "Mutual aid organisations",
        "Mutual aid organisations of the commissioners' guide (PHE, 2014), annex 1 (for people "
        "who use drugs or alcohol) and annex 2 (for families); the meeting extension and the "
        "journal's group answer. A host's own organisations are added by writing the "
        "terminology with its local list.",
        _organisations,
    ),
    "attendance-mode": _System(
        "FamaAttendanceMode",
        "Meeting attendance mode",
        "How a meeting is attended (the Meeting Guide attendance_option, as real feeds carry "
        "it); the meeting extension and the journal.",
        _of_enum(AttendanceMode),
    ),
    "volunteer-kind": _System(
        "FamaVolunteerKind",
        "Peer accompaniment volunteer kinds",
        "Who accompanies a client to a meeting (the guide, appendix 1; the commissioners' "
        "guide, p. 4); ServiceRequest.performerType.",
        _of_enum(VolunteerKind),
    ),
    "accompaniment-outcome": _System(
        "FamaAccompanimentOutcome",
        "Peer accompaniment outcomes",
        "What became of an accompaniment arrangement (fama's decision, after the HL7 Gravity "
        "Task states); Task.statusReason.",
        _of_enum(AccompanimentOutcome),
    ),
    "commitment-outcome": _System(
        "FamaCommitmentOutcome",
        "Commitment outcomes",
        "Whether the client kept a commitment to attend (the guide, session 2 step 1, session 3 "
        "step 1); CarePlan.activity.detail.statusReason.",
        _of_enum(CommitmentOutcome),
    ),
}


def concepts(key: str, catalogue: Catalogue | None = None) -> tuple[Concept, ...]:
    """Every code of fama's code system ``key`` (a key of ``CODE_SYSTEMS``), in source order.

    ``catalogue`` defaults to the packaged one; pass one extended with
    :meth:`~fama_core.catalogue.Catalogue.with_organisations` to include a host's
    local organisations. :class:`KeyError` for an unknown key.
    """
    return _SYSTEMS[key].codes(catalogue or load_catalogue())


@cache
def displays(key: str) -> Mapping[str, str]:
    """Code → display of fama's code system ``key`` (packaged catalogue): what the mapper writes.

    Built without the definitions, so mapping a record never reads source files.
    """
    catalogue = load_catalogue()
    if key in ("record", "session", "goal-kind", "step", "organisation"):
        return {c.code: c.display for c in _SYSTEMS[key].codes(catalogue)}
    enum = {
        "episode-status": EpisodeStatus,
        "step-status": StepStatus,
        "attendance-mode": AttendanceMode,
        "volunteer-kind": VolunteerKind,
        "accompaniment-outcome": AccompanimentOutcome,
        "commitment-outcome": CommitmentOutcome,
    }[key]
    return {m.value: _label(m.value) for m in enum}


def _version(key: str, catalogue: Catalogue) -> str:
    """:data:`TERMINOLOGY_VERSION`, with a ``+local.<hash>`` suffix for a host's organisations."""
    if key != "organisation":
        return TERMINOLOGY_VERSION
    local = sorted(o.code for o in catalogue.organisations.values() if o.local)
    if not local:
        return TERMINOLOGY_VERSION
    digest = hashlib.sha256("\n".join(local).encode()).hexdigest()[:8]
    return f"{TERMINOLOGY_VERSION}+local.{digest}"


def _resource_id(key: str) -> str:
    return f"fama-{key}"


def code_system(key: str, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """The CodeSystem of fama's code system ``key``: ``content`` complete, every code."""
    catalogue = catalogue or load_catalogue()
    system = _SYSTEMS[key]
    concept: list[dict[str, Any]] = []
    for c in concepts(key, catalogue):
        entry: dict[str, Any] = {"code": c.code, "display": c.display}
        if c.definition:
            entry["definition"] = c.definition
        concept.append(entry)
    return {
        "resourceType": "CodeSystem",
        "id": _resource_id(key),
        "url": CODE_SYSTEMS[key],
        "version": _version(key, catalogue),
        "name": system.name,
        "title": system.title,
        "status": "active",
        "experimental": False,
        "publisher": PUBLISHER,
        "description": system.description,
        "caseSensitive": True,
        "valueSet": VALUE_SETS[key],
        "content": "complete",
        "count": len(concept),
        "concept": concept,
    }


def value_set(key: str, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """The ValueSet of every code of fama's code system ``key`` (its binding)."""
    catalogue = catalogue or load_catalogue()
    system = _SYSTEMS[key]
    version = _version(key, catalogue)
    return {
        "resourceType": "ValueSet",
        "id": _resource_id(key),
        "url": VALUE_SETS[key],
        "version": version,
        "name": system.name,
        "title": system.title,
        "status": "active",
        "experimental": False,
        "publisher": PUBLISHER,
        "description": f"Every code of {CODE_SYSTEMS[key]}. {system.description}",
        "immutable": True,
        "compose": {"include": [{"system": CODE_SYSTEMS[key], "version": version}]},
    }


@dataclass(frozen=True, slots=True)
class ExtensionPart:
    """One value of a fama extension: its ``url`` (a sub-extension's, or ``""`` for a simple
    extension's own value), the FHIR type of its ``value[x]``, and its cardinality."""

    url: str
    type: str
    """``string``, ``boolean`` or ``Coding``."""
    required: bool
    short: str
    binding: str | None = None
    """The code system key whose ValueSet binds a ``Coding`` value."""
    strength: str = "required"
    """``required``, or ``extensible`` where a host may add codes (organisations)."""


@dataclass(frozen=True, slots=True)
class ExtensionDefinition:
    """A fama extension as its StructureDefinition declares it (keys of ``EXTENSIONS``)."""

    key: str
    name: str
    title: str
    description: str
    contexts: tuple[str, ...]
    repeats: bool
    parts: tuple[ExtensionPart, ...]


_MEETING_PARTS = (
    ExtensionPart("name", "string", True, "The meeting's name"),
    ExtensionPart(
        "organisation", "Coding", True, "The mutual aid organisation", "organisation", "extensible"
    ),
    ExtensionPart("id", "string", False, "The meeting's id in the host's meeting directory"),
    ExtensionPart(
        "attendanceMode", "Coding", False, "In person, online or hybrid", "attendance-mode"
    ),
)

EXTENSION_DEFINITIONS: Final[tuple[ExtensionDefinition, ...]] = (
    ExtensionDefinition(
        "episode-status",
        "FamaEpisodeStatusExtension",
        "FAMA episode status",
        "The exact status of the FAMA episode a CarePlan carries (CarePlan.status revoked "
        "covers both declined and closed).",
        ("CarePlan",),
        False,
        (ExtensionPart("", "Coding", True, "The episode's status", "episode-status"),),
    ),
    ExtensionDefinition(
        "meeting",
        "FamaMeetingExtension",
        "Mutual aid meeting",
        "The mutual aid meeting a goal, a commitment or a peer accompaniment names.",
        ("Goal", "ServiceRequest", "CarePlan.activity.detail"),
        False,
        _MEETING_PARTS,
    ),
    ExtensionDefinition(
        "commitment",
        "FamaCommitmentExtension",
        "Commitment to attend a meeting",
        "fama's id of a commitment to attend a meeting (the guide, session two, step 5), and "
        "whether the client asked to be accompanied.",
        ("CarePlan.activity.detail",),
        False,
        (
            ExtensionPart("id", "string", True, "fama's id of the commitment"),
            ExtensionPart(
                "accompanimentRequested", "boolean", True, "Whether accompaniment was asked for"
            ),
        ),
    ),
    ExtensionDefinition(
        "session-step",
        "FamaSessionStepExtension",
        "FAMA session step",
        "One step of a FAMA session and how it went (the guide, pp. 6-11), one per step.",
        ("Procedure",),
        True,
        (
            ExtensionPart("step", "Coding", True, "The step", "step"),
            ExtensionPart(
                "status", "Coding", True, "Done, not done or not applicable", "step-status"
            ),
            ExtensionPart("note", "string", False, "The keyworker's note"),
        ),
    ),
)
"""Every extension fama writes, declared once: its StructureDefinition is generated from
here, and a test checks every extension the mapper writes against it."""

_EXTENSION_BASE = "http://hl7.org/fhir/StructureDefinition/Extension"


def extension_definition(ext: ExtensionDefinition) -> dict[str, Any]:
    """The StructureDefinition (R4, a constraint on Extension) of one fama extension."""
    url = EXTENSIONS[ext.key]
    elements: list[dict[str, Any]] = [
        {
            "id": "Extension",
            "path": "Extension",
            "short": ext.title,
            "definition": ext.description,
            "min": 0,
            "max": "*" if ext.repeats else "1",
        }
    ]
    if len(ext.parts) == 1 and not ext.parts[0].url:
        part = ext.parts[0]
        elements += [
            {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
            {
                "id": "Extension.value[x]",
                "path": "Extension.value[x]",
                "short": part.short,
                "min": 1,
                "type": [{"code": part.type}],
                "binding": {"strength": part.strength, "valueSet": VALUE_SETS[str(part.binding)]},
            },
        ]
    else:
        elements.append(
            {
                "id": "Extension.extension",
                "path": "Extension.extension",
                "slicing": {
                    "discriminator": [{"type": "value", "path": "url"}],
                    "rules": "closed",
                },
            }
        )
        for part in ext.parts:
            slice_id = f"Extension.extension:{part.url}"
            value: dict[str, Any] = {
                "id": f"{slice_id}.value[x]",
                "path": "Extension.extension.value[x]",
                "min": 1,
                "type": [{"code": part.type}],
            }
            if part.binding is not None:
                value["binding"] = {
                    "strength": part.strength,
                    "valueSet": VALUE_SETS[part.binding],
                }
            elements += [
                {
                    "id": slice_id,
                    "path": "Extension.extension",
                    "sliceName": part.url,
                    "short": part.short,
                    "min": 1 if part.required else 0,
                    "max": "1",
                },
                {
                    "id": f"{slice_id}.extension",
                    "path": "Extension.extension.extension",
                    "max": "0",
                },
                {"id": f"{slice_id}.url", "path": "Extension.extension.url", "fixedUri": part.url},
                value,
            ]
        elements += [
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "max": "0"},
        ]
    return {
        "resourceType": "StructureDefinition",
        "id": _resource_id(f"ext-{ext.key}"),
        "url": url,
        "version": TERMINOLOGY_VERSION,
        "name": ext.name,
        "title": ext.title,
        "status": "active",
        "experimental": False,
        "publisher": PUBLISHER,
        "description": ext.description,
        "fhirVersion": "4.0.1",
        "kind": "complex-type",
        "abstract": False,
        "context": [{"type": "element", "expression": c} for c in ext.contexts],
        "type": "Extension",
        "baseDefinition": _EXTENSION_BASE,
        "derivation": "constraint",
        "differential": {"element": elements},
    }


def terminology_resources(
    local_organisations: Iterable[Organisation] = (),
) -> list[dict[str, Any]]:
    """Every CodeSystem, every ValueSet, the StructureDefinition of every extension fama writes,
    then the hand-out 10 Questionnaire that binds a ValueSet.

    ``local_organisations`` (a host's own, ``local=True``) join the organisation
    CodeSystem; a code that repeats a packaged one is a
    :class:`~fama_core.errors.CatalogueError`.
    """
    catalogue = load_catalogue()
    local = tuple(local_organisations)
    if local:
        marked = (o.model_copy(update={"local": True}) for o in local)
        catalogue = catalogue.with_organisations(marked)
    out = [code_system(key, catalogue) for key in CODE_SYSTEMS]
    out += [value_set(key, catalogue) for key in CODE_SYSTEMS]
    out += [extension_definition(ext) for ext in EXTENSION_DEFINITIONS]
    out.append(journal_questionnaire())
    return out


def file_name(resource: Mapping[str, Any]) -> str:
    """Where ``--dir`` writes a resource: ``CodeSystem-episode-status.json`` (FHIR IG style)."""
    rid = str(resource["id"]).removeprefix("fama-").removeprefix("ext-")
    return f"{resource['resourceType']}-{rid}.json"


def terminology_bundle(resources: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A transaction Bundle loading ``resources`` into a FHIR server, safe to load twice.

    Each entry is a conditional update on the canonical ``url`` and ``version``
    (``PUT CodeSystem?url=…&version=…``): it creates the resource once and
    replaces it after, and a new version sits beside the old one, which
    QuestionnaireResponses citing the old version still need. The server
    assigns ids, so fama's never clash with the host's.
    """
    entries = []
    for resource in resources:
        body = {k: v for k, v in resource.items() if k != "id"}
        rtype, url, version = body["resourceType"], body["url"], body["version"]
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, f'{url}|{version}')}",
                "resource": body,
                "request": {
                    "method": "PUT",
                    "url": f"{rtype}?url={quote(url, safe=':/')}&version={quote(version, safe='')}",
                },
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
