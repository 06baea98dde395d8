"""The ``hl7v2`` record system: a client's FAMA record out as HL7 v2.5, ADT in.

Outbound, each event that a clinical record should hear about becomes one
message (goal set → PGL^PC6, goal agreed / withdrawn / reviewed → PGL^PC7,
accompaniment arranged → REF^I12, session held → ORU^R01), with a control id
derived from the event id so a resend is recognisable. Inbound, ADT messages
set the treatment context. Notes travel inside the messages (a clinical
transmission) but this module logs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from fama_adapters.hl7v2 import er7
from fama_adapters.hl7v2 import tables as t
from fama_adapters.hl7v2.messages import (
    GoalAction,
    GoalEntry,
    GoalMessage,
    Header,
    ReferralMessage,
    SessionMessage,
    build_goal_message,
    build_referral,
    build_session,
    control_id_for,
    read_adt,
)
from fama_adapters.record_systems import ClientMerge, InboundResult, OutboundDocument
from fama_core.codes import GoalReviewOutcome, GoalStatus, SessionStage
from fama_core.context import TreatmentContext
from fama_core.errors import FieldProblem, InvalidRecord, MappingError
from fama_core.events import (
    AccompanimentArranged,
    Event,
    GoalSet,
    GoalUpdated,
    Session1Held,
    Session2Held,
    Session3Held,
)
from fama_core.state import ClientState

__all__ = [
    "MEDIA_TYPE",
    "FRAMING_BYTE_READ",
    "NOT_UTF8",
    "SAFE_ID",
    "Hl7v2RecordSystem",
    "OutboundMessage",
    "decode_message",
    "has_framing_byte",
    "split_batch",
    "split_batch_bytes",
]

MEDIA_TYPE = "application/hl7-v2"

SAFE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
"""What a control id must look like to be printed: anything else may be free text."""

_REVIEW_STATUS = {
    GoalReviewOutcome.ACHIEVED: GoalStatus.ACHIEVED,
    GoalReviewOutcome.NOT_ACHIEVED: GoalStatus.NOT_ACHIEVED,
    GoalReviewOutcome.WITHDRAWN: GoalStatus.WITHDRAWN,
}


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One outbound message before encoding: which event it comes from and its record."""

    event_id: str
    kind: str
    """``goals``, ``referral`` or ``session``."""
    record: GoalMessage | ReferralMessage | SessionMessage


def split_batch(payload: bytes | str) -> list[str]:
    """Split a payload into messages: MLLP frames, or messages each starting with ``MSH``.

    Bytes must be UTF-8 as a whole; :func:`split_batch_bytes` splits first, so
    one badly encoded message does not take the others with it. A frame or
    message that still carries a framing byte is returned as one piece, for the
    caller to refuse (:func:`has_framing_byte`).
    """
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    return [part.decode("utf-8") for part in split_batch_bytes(data)]


def split_batch_bytes(payload: bytes) -> list[bytes]:
    """Split raw bytes into messages, each still to be decoded.

    MLLP frames are read strictly (HL7 v2.5 appendix C): a frame starts at a VT
    (0x0B) and ends at the first FS (0x1C), optionally followed by CR. A frame
    whose content holds another VT, that never ends, or that is followed by
    bytes beginning no message (its FS may have been inside the message) comes
    back whole, VT included, so that :func:`has_framing_byte` refuses it: its
    boundaries cannot be trusted. Outside frames, messages start with ``MSH`` at a line start; a
    stray FS stays inside its message, which is then refused, as is a message
    that runs into a VT without a segment end.
    """
    parts: list[bytes] = []
    pos, size = 0, len(payload)
    while pos < size:
        start = payload.find(b"\x0b", pos)
        plain = _split_plain(payload[pos : size if start < 0 else start])
        if plain and start > 0 and payload[start - 1 : start] not in (b"\r", b"\n"):
            plain[-1] += b"\x0b"  # a frame starting inside a message: that message is refused
        parts += plain
        if start < 0:
            break
        end = payload.find(b"\x1c", start + 1)
        content = payload[start + 1 : size if end < 0 else end]
        if end < 0:
            parts.append(b"\x0b" + content)
            break
        pos = end + 1 + (payload[end + 1 : end + 2] == b"\r")
        following = payload.find(b"\x0b", pos)
        stray = payload[pos : size if following < 0 else following].lstrip(b"\r\n \t")
        if b"\x0b" in content or (stray and not stray.startswith(b"MSH")):
            # Another start block inside, or bytes after the end block that begin no
            # message: this end block may have been inside the message. Refused whole.
            parts.append(b"\x0b" + content + b"\x1c")
        else:
            parts += _split_plain(content)
    return parts


def _split_plain(data: bytes) -> list[bytes]:
    pieces = re.split(rb"(?:^|\r\n|\r|\n)(?=MSH)", data)
    return [p.strip(b"\r\n") for p in pieces if p.strip(b"\r\n \t")]


def has_framing_byte(raw: bytes | str) -> bool:
    """Whether a message carries an MLLP start (VT) or end (FS) block byte: never legitimate."""
    if isinstance(raw, str):
        return "\x0b" in raw or "\x1c" in raw
    return b"\x0b" in raw or b"\x1c" in raw


def decode_message(raw: bytes) -> str:
    """Decode one message by its MSH-18: ISO 8859-1/-15 as Latin-1, anything else as UTF-8.

    ASCII (the v2.5 default) is a subset of UTF-8. Raises ``UnicodeDecodeError``
    when the bytes do not fit. MSH-18 is read by :func:`~fama_adapters.hl7v2.er7.declared_codec`.
    """
    first = raw.split(b"\r", 1)[0].split(b"\n", 1)[0]
    return raw.decode(er7.declared_codec(first.decode("latin-1")))


FRAMING_BYTE_READ = (
    "carries an MLLP framing byte (VT 0x0B or FS 0x1C) inside the message or frame: "
    "refused whole, since its boundaries cannot be trusted"
)
"""The reason given for a message or frame that carries a framing byte."""

NOT_UTF8 = "not in its character set (fama reads MSH-18 UNICODE UTF-8, ASCII or 8859/1)"
"""The reason given for a message whose bytes are not UTF-8."""


@dataclass
class Hl7v2RecordSystem:
    """HL7 v2.5 over the :class:`~fama_adapters.record_systems.RecordSystem` contract."""

    header: Header = field(default_factory=Header)
    authority: str | None = None
    """Read the client id from the PID-3 repetition of this assigning authority (None: first)."""
    transfer_codes: frozenset[str] = t.TRANSFER_DISPOSITIONS
    disposition_codes: frozenset[str] | None = None
    """The host's table 0112 (PV1-36 codes); None checks only that each is a code."""
    name: str = "hl7v2"
    description: str = "HL7 v2.5: goals PGL, referral REF^I12, sessions ORU^R01; ADT in"

    # ------------------------------------------------------------ outbound

    def messages(self, state: ClientState, events: Sequence[Event]) -> Iterator[OutboundMessage]:
        """The outbound records for ``events`` of one client, in event order.

        ``events`` may be only the client's new events: goals set earlier are
        known from ``state``, so their later updates and reviews are still sent.
        """
        goals: dict[str, GoalEntry] = {
            g.goal.goal_id: GoalEntry(
                goal=g.goal,
                episode_id=ep.episode_id,
                status=g.goal.status,
                set_on=g.set_on,
                status_on=g.set_on,
            )
            for ep in state.episodes
            for g in ep.goals
        }
        for ev in events:
            if ev.client_id != state.client_id:
                raise MappingError("events of another client were passed with this state")
            if isinstance(ev, GoalSet):
                entry = GoalEntry(
                    goal=ev.goal,
                    episode_id=ev.episode_id,
                    status=ev.goal.status,
                    set_on=ev.occurred_on,
                    status_on=ev.occurred_on,
                )
                goals[ev.goal.goal_id] = entry
                yield self._goal_message(ev, GoalAction.ADD, (entry,), ev.event_id)
            elif isinstance(ev, GoalUpdated):
                if ev.goal_id not in goals:
                    raise MappingError(f"goal {ev.goal_id} is in neither the events nor the state")
                entry = replace(goals[ev.goal_id], status=ev.status, status_on=ev.occurred_on)
                goals[ev.goal_id] = entry
                yield self._goal_message(ev, GoalAction.UPDATE, (entry,), ev.event_id)
            elif isinstance(ev, Session1Held | Session2Held | Session3Held):
                yield OutboundMessage(ev.event_id, "session", self._session(ev, state))
                reviewed = []
                for review in getattr(ev, "goal_reviews", ()):
                    if review.goal_id not in goals:
                        raise MappingError(
                            f"goal {review.goal_id} is in neither the events nor the state"
                        )
                    old = goals[review.goal_id]
                    entry = replace(
                        old,
                        status=_REVIEW_STATUS.get(review.outcome, old.status),
                        status_on=ev.occurred_on,
                        last_review=review.outcome,
                    )
                    goals[review.goal_id] = entry
                    reviewed.append(entry)
                if reviewed:
                    yield self._goal_message(
                        ev, GoalAction.UPDATE, tuple(reviewed), ev.event_id + ".goals"
                    )
            elif isinstance(ev, AccompanimentArranged):
                record = ReferralMessage(
                    client_id=ev.client_id,
                    control_id=control_id_for(ev.event_id),
                    recorded_at=ev.recorded_at,
                    keyworker_id=ev.keyworker_id,
                    arrangement=ev.arrangement,
                )
                yield OutboundMessage(ev.event_id, "referral", record)

    def _goal_message(
        self, ev: Event, action: GoalAction, entries: tuple[GoalEntry, ...], key: str
    ) -> OutboundMessage:
        record = GoalMessage(
            action=action,
            client_id=ev.client_id,
            control_id=control_id_for(key),
            recorded_at=ev.recorded_at,
            goals=entries,
        )
        return OutboundMessage(ev.event_id, "goals", record)

    def _session(
        self, ev: Session1Held | Session2Held | Session3Held, state: ClientState
    ) -> SessionMessage:
        number = 0
        for episode in state.episodes:
            for s in episode.sessions:
                if s.event_id == ev.event_id:
                    number = s.number
        stage = {"session_1_held": "1", "session_2_held": "2", "session_3_held": "3"}[ev.kind]
        return SessionMessage(
            client_id=ev.client_id,
            control_id=control_id_for(ev.event_id),
            recorded_at=ev.recorded_at,
            episode_id=ev.episode_id,
            event_id=ev.event_id,
            stage=SessionStage(stage),
            number=number,
            held_on=ev.occurred_on,
            keyworker_id=ev.keyworker_id,
            steps=ev.steps,
        )

    def encode(self, message: OutboundMessage) -> str:
        """The ER7 text of one outbound message (segments separated by CR)."""
        record = message.record
        if isinstance(record, GoalMessage):
            return er7.encode(build_goal_message(record, self.header))
        if isinstance(record, ReferralMessage):
            return er7.encode(build_referral(record, self.header))
        return er7.encode(build_session(record, self.header))

    def outbound(self, state: ClientState, events: Sequence[Event]) -> list[OutboundDocument]:
        """One document per message, named ``<client>-<nnn>-<kind>.hl7``."""
        return [
            OutboundDocument(
                name=f"{state.client_id}-{n:03d}-{m.kind}.hl7",
                media_type=MEDIA_TYPE,
                content=self.encode(m).encode("utf-8"),
            )
            for n, m in enumerate(self.messages(state, events), 1)
        ]

    # ------------------------------------------------------------ inbound

    def inbound(self, payload: bytes) -> InboundResult:
        """Read ADT messages (one, a batch, or MLLP frames); a bad message is listed, not raised."""
        contexts: list[TreatmentContext] = []
        merges: list[ClientMerge] = []
        problems: list[InvalidRecord] = []
        for n, raw in enumerate(split_batch_bytes(payload), 1):
            record = f"message {n}"
            if has_framing_byte(raw):  # a forged frame boundary: nothing in it is trusted
                problem = FieldProblem("", "hl7v2-framing", FRAMING_BYTE_READ)
                problems.append(InvalidRecord(record=record, kind="HL7 v2", problems=[problem]))
                continue
            try:
                text = decode_message(raw)
            except UnicodeDecodeError:  # this message only; the rest of the batch carries on
                problem = FieldProblem("", "hl7v2", NOT_UTF8)
                problems.append(InvalidRecord(record=record, kind="HL7 v2", problems=[problem]))
                continue
            try:
                msg = er7.parse(text)
                if SAFE_ID.fullmatch(msg.control_id):  # an id only: never echo free text
                    record = f"message {n} ({msg.control_id})"
                adt = read_adt(
                    msg,
                    authority=self.authority,
                    transfer_codes=self.transfer_codes,
                    disposition_codes=self.disposition_codes,
                )
            except MappingError as exc:
                location, _, reason = str(exc).partition(": ")
                if not reason:
                    location, reason = "", location
                problems.append(
                    InvalidRecord(
                        record=record,
                        kind="HL7 v2 ADT",
                        problems=[FieldProblem(location, "hl7v2", reason)],
                    )
                )
                continue
            if adt.context is not None:
                contexts.append(adt.context)
            if adt.merge is not None:
                merges.append(adt.merge)
        return InboundResult(
            contexts=tuple(contexts), problems=tuple(problems), merges=tuple(merges)
        )
