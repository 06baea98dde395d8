"""Every HL7 v2.5 mapping of the adapter, declared once as data.

The readers look fields up here (:meth:`MappingTable.at`), ``docs/hl7v2.md``
is generated from here (:func:`mapping_markdown`, checked current by a test),
and the round-trip tests prove the writers put each value where its row says.
Code tables cite the HL7 table they fill (``HL70287`` …); fama's own codes use
the coding system ``L`` (local), as HL7 v2.5 table 0396 provides.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from fama_core.codes import GoalReviewOutcome, GoalStatus, SessionStage, StepStatus

__all__ = [
    "ADT_EVENTS",
    "ADT_MAP",
    "CODING_SYSTEM",
    "GOAL_ACTIONS",
    "GOAL_LIFECYCLE",
    "GOAL_MAP",
    "GOAL_REVIEW",
    "HEADER_MAP",
    "MEETING_MAP",
    "MESSAGE_CHOICES",
    "REFERRAL_MAP",
    "SESSION_MAP",
    "SESSION_STAGES",
    "STEP_STATUS",
    "DISPOSITION_CODE",
    "TRANSFER_DISPOSITIONS",
    "CodeRow",
    "FieldRow",
    "MappingTable",
    "mapping_markdown",
    "render_into",
]

CODING_SYSTEM = "L"
"""HL7 table 0396 "local general code": the coding system of fama's own codes."""


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One fama value and where it travels in HL7."""

    fama: str
    """The fama name (``goal.goal_id``)."""
    segment: str
    field: int
    component: int = 1
    datatype: str = "ST"
    note: str = ""

    @property
    def location(self) -> str:
        """``GOL-4.1`` style location."""
        return f"{self.segment}-{self.field}.{self.component}"


@dataclass(frozen=True, slots=True)
class MappingTable:
    """A titled list of :class:`FieldRow`, looked up by fama name."""

    title: str
    rows: tuple[FieldRow, ...]

    def at(self, fama: str) -> FieldRow:
        """The row for a fama name; a ``KeyError`` names a programming error."""
        for row in self.rows:
            if row.fama == fama:
                return row
        raise KeyError(fama)

    def __iter__(self) -> Iterator[FieldRow]:
        return iter(self.rows)


@dataclass(frozen=True, slots=True)
class CodeRow:
    """One code of a code table: fama's value, the HL7 code and its label."""

    fama: str
    code: str
    label: str


# ------------------------------------------------------------------ message choice

MESSAGE_CHOICES: tuple[tuple[str, str, str], ...] = (
    (
        "goal set (hand-out 7)",
        "PGL^PC6^PGL_PC6",
        "Patient goal message, event PC6 goal add; GOL-1 action code AD (table 0287).",
    ),
    (
        "goal agreed / withdrawn / reviewed",
        "PGL^PC7^PGL_PC6",
        "PC7 goal update; GOL-1 UP. A withdrawn goal is an update (life cycle status), "
        "not a delete: fama never erases a goal.",
    ),
    (
        "goal sent in error (host's call)",
        "PGL^PC8^PGL_PC6",
        "PC8 goal delete; GOL-1 DE. Built on request only (GoalAction.DELETE).",
    ),
    (
        "peer accompaniment arranged (appendix 1)",
        "REF^I12^REF_I12",
        "Patient referral: RF1 (the arrangement), PRD (keyworker refers, volunteer referred to), "
        "PID, the meeting as OBR/OBX, NTE.",
    ),
    (
        "session held (sessions 1-3)",
        "ORU^R01^ORU_R01",
        "Unsolicited observation result: each step an OBX (CWE done / not done / n.a.) "
        "with its note in NTE. Chosen over MDM^T02 because a session is coded "
        "observations, not a transcribed document.",
    ),
    (
        "treatment context (inbound)",
        "ADT^A01/A04/A08/A02/A03/A40",
        "Admit / register / update / transfer / discharge / merge set the treatment episode.",
    ),
)
"""Which HL7 v2.5 message carries which fama record, and why."""

# ------------------------------------------------------------------ field tables

HEADER_MAP = MappingTable(
    "Message header and patient (every outbound message)",
    (
        FieldRow("sending application", "MSH", 3, 1, "HD", "Adapter setting, default FAMA."),
        FieldRow("sending facility", "MSH", 4, 1, "HD", "Adapter setting (the provider)."),
        FieldRow("receiving application", "MSH", 5, 1, "HD", "Adapter setting."),
        FieldRow("receiving facility", "MSH", 6, 1, "HD", "Adapter setting."),
        FieldRow("event.recorded_at", "MSH", 7, 1, "TS", "With its UTC offset."),
        FieldRow("message type", "MSH", 9, 1, "MSG", "MSH-9.3 (structure) always written."),
        FieldRow(
            "control id", "MSH", 10, 1, "ST", "From the event id: a resend reuses it (idempotent)."
        ),
        FieldRow("processing id", "MSH", 11, 1, "PT", "P (production) unless configured."),
        FieldRow("version", "MSH", 12, 1, "VID", "2.5"),
        FieldRow("client_id", "PID", 3, 1, "CX", "Pseudonymous key; CX-4 authority, CX-5 PI."),
        FieldRow(
            "(no name)",
            "PID",
            5,
            7,
            "XPN",
            "Name type S (coded pseudo-name): fama holds no names.",
        ),
    ),
)

GOAL_MAP = MappingTable(
    "Goals: PGL_PC6 goal group (GOL, NTE, OBX)",
    (
        FieldRow("action", "GOL", 1, 1, "ID", "Table 0287: AD add, UP update, DE delete."),
        FieldRow("action date", "GOL", 2, 1, "TS", "The event's recorded_at."),
        FieldRow("goal.kind", "GOL", 3, 1, "CE", "Goal kind code; CE-2 its label, CE-3 L."),
        FieldRow("goal.goal_id", "GOL", 4, 1, "EI", "Goal instance id."),
        FieldRow("episode_id", "GOL", 5, 1, "EI", "The FAMA episode (episode of care)."),
        FieldRow("set_on", "GOL", 7, 1, "TS", "Goal established date."),
        FieldRow("goal.target_date", "GOL", 8, 1, "TS", "Expected goal achieve date."),
        FieldRow("last review outcome", "GOL", 11, 1, "CE", "Current goal review status."),
        FieldRow("status", "GOL", 18, 1, "CE", "Goal life cycle status (table 0284, local)."),
        FieldRow("status date", "GOL", 19, 1, "TS", "Life cycle status date."),
        FieldRow("goal.description", "NTE", 3, 1, "FT", "One NTE after the GOL; escaped."),
        FieldRow("goal.meeting", "OBX", 5, 1, "CWE", "Meeting rows, see the meeting table."),
    ),
)

MEETING_MAP = MappingTable(
    "A meeting (goal, accompaniment): OBX rows, OBX-3 names the item",
    (
        FieldRow("meeting.meeting_id", "OBX", 5, 1, "CWE", "OBX-3 = meeting; empty if none."),
        FieldRow("meeting.name", "NTE", 3, 1, "FT", "NTE after the meeting OBX (up to 200)."),
        FieldRow("meeting.organisation", "OBX", 5, 1, "CWE", "OBX-3 = organisation."),
        FieldRow("meeting.attendance_mode", "OBX", 5, 1, "CWE", "OBX-3 = attendance_mode."),
    ),
)

REFERRAL_MAP = MappingTable(
    "Peer accompaniment: REF_I12",
    (
        FieldRow("status", "RF1", 1, 1, "CE", "P pending (table 0283)."),
        FieldRow("priority", "RF1", 2, 1, "CE", "R routine (table 0280)."),
        FieldRow("type", "RF1", 3, 1, "CE", "peer_accompaniment (local)."),
        FieldRow("arrangement.arrangement_id", "RF1", 6, 1, "EI", "Originating referral id."),
        FieldRow("arrangement.date", "RF1", 7, 1, "TS", "Effective date: the meeting date."),
        FieldRow("arrangement.commitment_id", "RF1", 11, 1, "EI", "External referral id."),
        FieldRow("keyworker_id", "PRD", 7, 1, "PLN", "PRD-1 RP (referring provider)."),
        FieldRow("arrangement.volunteer_id", "PRD", 7, 1, "PLN", "PRD-1 RT (referred to)."),
        FieldRow("arrangement.volunteer_kind", "PRD", 1, 4, "CE", "RT row, CE-4 (local)."),
        FieldRow("arrangement.meeting", "OBX", 5, 1, "CWE", "Meeting rows under one OBR."),
        FieldRow("note", "NTE", 3, 1, "FT", "Referral note: the NTE after PV1, escaped."),
    ),
)

SESSION_MAP = MappingTable(
    "Sessions: ORU_R01",
    (
        FieldRow("keyworker_id", "PV1", 7, 1, "XCN", "Attending provider: the keyworker."),
        FieldRow("event_id", "OBR", 3, 1, "EI", "Filler order number: the session record."),
        FieldRow("stage", "OBR", 4, 1, "CE", "fama-session-1/2/3 (local)."),
        FieldRow("held_on", "OBR", 7, 1, "TS", "Observation date."),
        FieldRow("episode_id", "OBR", 20, 1, "ST", "Filler field 1: the FAMA episode."),
        FieldRow("number", "OBR", 21, 1, "ST", "Filler field 2: session number in the episode."),
        FieldRow("step.step", "OBX", 3, 1, "CWE", "The step code; CWE-2 its label."),
        FieldRow("step.status", "OBX", 5, 1, "CWE", "done / not_done / not_applicable."),
        FieldRow("step.note", "NTE", 3, 1, "FT", "NTE after the step's OBX, escaped."),
    ),
)

ADT_MAP = MappingTable(
    "Treatment context from ADT (inbound)",
    (
        FieldRow(
            "client_id",
            "PID",
            3,
            1,
            "CX",
            "The configured authority; without one, the only repetition.",
        ),
        FieldRow("treatment_episode_id", "PV1", 19, 1, "CX", "Visit number."),
        FieldRow(
            "agency_code",
            "PV1",
            39,
            1,
            "IS",
            "Servicing facility; else MSH-4.1. 1 to 16 letters or digits, else refused.",
        ),
        FieldRow("started_on", "PV1", 44, 1, "TS", "Admit date; else EVN-6, else EVN-2."),
        FieldRow("ended_on", "PV1", 45, 1, "TS", "Discharge date (A03); else EVN-6 / EVN-2."),
        FieldRow("end_reason", "PV1", 36, 1, "IS", "Discharge disposition (table 0112)."),
        FieldRow("transferred", "PV1", 36, 1, "IS", "A03 whose disposition is a transfer code."),
        FieldRow("merged_into", "PID", 3, 1, "CX", "A40: PID-3 survives, MRG-1 is merged."),
        FieldRow("(merged id)", "MRG", 1, 1, "CX", "A40: the record that was merged away."),
    ),
)

# ------------------------------------------------------------------ code tables

GOAL_ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("add", "AD", "PC6"),
    ("update", "UP", "PC7"),
    ("delete", "DE", "PC8"),
)
"""fama goal action, HL7 table 0287 action code, PGL trigger event."""

GOAL_LIFECYCLE: tuple[CodeRow, ...] = tuple(
    CodeRow(s.value, s.value, s.value.replace("_", " ")) for s in GoalStatus
)
"""Goal life cycle status (GOL-18). Table 0284 is user-defined: fama's codes, system L."""

GOAL_REVIEW: tuple[CodeRow, ...] = tuple(
    CodeRow(o.value, o.value, o.value.replace("_", " ")) for o in GoalReviewOutcome
)
"""Current goal review status (GOL-11): the last review's outcome, system L."""

STEP_STATUS: tuple[CodeRow, ...] = tuple(
    CodeRow(s.value, s.value, s.value.replace("_", " ")) for s in StepStatus
)
"""A session step's status (OBX-5, CWE), system L."""

SESSION_STAGES: tuple[CodeRow, ...] = tuple(
    CodeRow(s.value, f"fama-session-{s.value}", f"FAMA session {s.value}") for s in SessionStage
)
"""The session as the observation battery (OBR-4), system L."""

ADT_EVENTS: tuple[tuple[str, str, str], ...] = (
    ("A01", "ADT_A01", "admit: the treatment episode starts (context with started_on)"),
    ("A04", "ADT_A01", "register: as admit, for community services without admission"),
    ("A08", "ADT_A01", "update: the context is replaced by the message's values"),
    ("A02", "ADT_A02", "transfer within the provider: the episode goes on (context updated)"),
    ("A03", "ADT_A03", "discharge: ended_on, end_reason; transferred when a transfer code"),
    ("A40", "ADT_A39", "merge: the MRG-1 client is merged into the PID-3 client"),
)
"""ADT trigger events fama reads, the structure each uses, and what it does."""

DISPOSITION_CODE: re.Pattern[str] = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,19}")
"""What a PV1-36 discharge disposition (IS, table 0112) may be: a code of 1 to 20 ASCII
letters, digits, ``.``, ``_`` or ``-``, starting with a letter or digit.

Table 0112 is user-defined, so fama cannot list every host's codes; it checks their form, and
a host that configures its table (``disposition_codes``) has each code checked against it. Any
other value (markup, spaces, bidirectional controls, long text) is refused at PV1-36 without
being shown: the code is printed by ``fama hl7 read`` and written into NDTMS extracts.
"""

TRANSFER_DISPOSITIONS: frozenset[str] = frozenset({"02", "03", "04", "05", "transferred"})
"""PV1-36 codes meaning 'transferred to another service' by default.

Table 0112 is user-defined; 02-05 are its suggested 'discharged/transferred to
another facility' values, ``transferred`` a readable code. Hosts configure their own.
"""


# ------------------------------------------------------------------ docs


def _md_table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def mapping_markdown() -> str:
    """The mapping tables as Markdown, the generated part of ``docs/hl7v2.md``."""
    parts = ["### Which message carries what\n\n"]
    parts.append(
        _md_table(("fama record", "HL7 v2.5 message", "why"), [tuple(r) for r in MESSAGE_CHOICES])
    )
    for table in (HEADER_MAP, GOAL_MAP, MEETING_MAP, REFERRAL_MAP, SESSION_MAP, ADT_MAP):
        parts.append(f"\n### {table.title}\n\n")
        parts.append(
            _md_table(
                ("fama", "HL7", "type", "note"),
                [(r.fama, r.location, r.datatype, r.note) for r in table],
            )
        )
    parts.append("\n### Goal actions (table 0287)\n\n")
    parts.append(_md_table(("fama", "GOL-1", "PGL event"), [tuple(r) for r in GOAL_ACTIONS]))
    for title, codes in (
        ("Goal life cycle status (GOL-18)", GOAL_LIFECYCLE),
        ("Goal review status (GOL-11)", GOAL_REVIEW),
        ("Step status (OBX-5)", STEP_STATUS),
        ("Session (OBR-4)", SESSION_STAGES),
    ):
        parts.append(f"\n### {title}\n\n")
        parts.append(
            _md_table(("fama", "code", "label"), [(c.fama, c.code, c.label) for c in codes])
        )
    parts.append("\n### ADT events read\n\n")
    parts.append(_md_table(("event", "structure", "effect"), [tuple(r) for r in ADT_EVENTS]))
    parts.append(
        "\nTransfer dispositions (PV1-36) by default: "
        + ", ".join(f"`{c}`" for c in sorted(TRANSFER_DISPOSITIONS))
        + ".\n"
    )
    return "".join(parts)


BEGIN_MARK = "<!-- BEGIN GENERATED: fama_adapters.hl7v2.tables.mapping_markdown -->\n"
END_MARK = "<!-- END GENERATED -->\n"


def render_into(document: str) -> str:
    """``document`` with the text between the generated-block marks replaced by the tables."""
    head, _, rest = document.partition(BEGIN_MARK)
    _, _, tail = rest.partition(END_MARK)
    return head + BEGIN_MARK + mapping_markdown() + END_MARK + tail
