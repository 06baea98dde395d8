"""Issue 11 item 1: no free text can end an HL7 message or its MLLP frame and start a forged one.

The attack: a goal description carrying FS CR VT and a whole ADT^A03 (a discharge of another
client). Framed by `fama hl7 send`, the receiver saw two messages and `fama hl7 read` a real
discharge. Checked here against an independent receiver (hl7apy's MLLP server), python-hl7 and
fama's own reader.
"""

from __future__ import annotations

import datetime as dt
import re

import hl7
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.hl7v2 import Hl7v2RecordSystem, er7
from fama_adapters.hl7v2.adapter import split_batch_bytes
from fama_adapters.hl7v2.messages import (
    SessionMessage,
    build_goal_message,
    build_referral,
    build_session,
)
from fama_adapters.hl7v2.mllp import MllpClient, frame
from fama_adapters.hl7v2.testing import loopback_receiver
from fama_core.builders import JourneyBuilder
from fama_core.codes import STEPS_BY_STAGE, GoalKind, SessionStage, StepStatus
from fama_core.errors import MappingError
from fama_core.models import StepRecord
from fama_core.workflow import fold

from .strategies import goal_messages, referrals, sessions
from .test_adapter import adt

FORGED = adt(
    "A03",
    client_id="victim-7",
    treatment_episode_id="tx-victim",
    ended_on=dt.date(2026, 3, 9),
    end_reason="01",
).replace("m-A03", "FORGED-1")
"""A discharge of another client that fama's reader (and a receiver) would take as real."""
_OTHER_DELIMITERS = str.maketrans("|^~\\&", "#$%*!")
ATTACK = (
    "Read the hand-outs\x1c\r\x0b"
    # The forged message declares its own delimiters (MSH-1 '#', MSH-2 '$%*!'), which no
    # escaping of | ^ ~ \\ & touches, and uses VT between its segments instead of CR.
    + "\x0b".join(FORGED.translate(_OTHER_DELIMITERS).split("\r"))
    + "\x1c\r\x0bMSH#$%*!#X"
)
STRUCTURE = re.compile(r"[\x00-\x0c\x0e-\x1f\x7f]")
"""Every C0 control but CR (the segment end), and DEL: none may appear raw in a message."""


def attacked_messages() -> list[str]:
    journey = JourneyBuilder("client-1").open().session1()
    journey.goal(GoalKind.OTHER, description=ATTACK)
    journey.journal()
    journey.session2(commit_to=journey.meeting())
    system = Hl7v2RecordSystem()
    state = fold(journey.events)
    return [system.encode(m) for m in system.messages(state, journey.events)]


def test_a_forged_discharge_in_a_goal_description_reaches_the_receiver_inside_its_note() -> None:
    texts = attacked_messages()
    assert any("FORGED-1" in t for t in texts)  # the text travels, escaped
    assert not any(STRUCTURE.search(t) for t in texts)
    with loopback_receiver() as receiver, MllpClient(receiver.host, receiver.port) as client:
        sent = [client.send(t).control_id for t in texts]
    # The independent receiver saw exactly the messages sent, each accepted: no forged one.
    assert receiver.answers == [(cid, "AA") for cid in sent]
    goal = next(t for t in texts if "PGL^PC6" in t)
    (note,) = [s for s in er7.parse(goal).all("NTE") if "FORGED-1" in s.get(3)]
    assert note.get(3) == ATTACK


def test_reading_the_attacked_stream_finds_no_discharge() -> None:
    stream = b"".join(frame(t) for t in attacked_messages())
    result = Hl7v2RecordSystem().inbound(stream)
    assert result.contexts == ()
    assert not any("FORGED" in str(p) for p in result.problems)
    # The forged message on its own is a discharge the reader takes: the test can fail.
    (forged,) = Hl7v2RecordSystem().inbound(FORGED.encode()).contexts
    assert forged.client_id == "victim-7" and forged.ended_on is not None


EXAMPLES = settings(max_examples=60)


@EXAMPLES
@given(goal_messages | referrals | sessions())
def test_any_free_text_stays_inside_one_message_for_python_hl7(record) -> None:
    _stays_inside_one_message_for_python_hl7(record)


def test_a_note_of_spaces_in_the_last_segment_is_kept_by_fama_and_stripped_by_python_hl7() -> None:
    # Found by the property above: python-hl7 strips the message's trailing white space.
    steps = tuple(
        StepRecord(step=s, status=StepStatus.DONE, note=" ")
        for s in STEPS_BY_STAGE[SessionStage.INTRODUCTION]
    )
    record = SessionMessage(
        client_id="c-1",
        control_id="ctl-1",
        recorded_at=dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC),
        episode_id="ep-1",
        event_id="e-1",
        stage=SessionStage.INTRODUCTION,
        number=1,
        held_on=dt.date(2026, 3, 2),
        keyworker_id="kw-1",
        steps=steps,
    )
    text = er7.encode(build_session(record))
    assert er7.parse(text).all("NTE")[-1].get(3) == " "
    _stays_inside_one_message_for_python_hl7(record)


@settings(max_examples=5)
@given(referrals, st.sampled_from(["\x85", "x\u2028", "x\u3000 "]))
def test_a_note_ending_in_unicode_white_space_is_compared_as_python_hl7_strips_it(
    record, note
) -> None:
    # Review: hypothesis drew a referral whose note is "\x85" (NEL): python-hl7's str.strip()
    # took it off the last segment, and the comparison expected only spaces to go.
    import dataclasses

    _stays_inside_one_message_for_python_hl7(dataclasses.replace(record, note=note))


def _stays_inside_one_message_for_python_hl7(record: object) -> None:
    build = {"GoalMessage": build_goal_message, "ReferralMessage": build_referral}
    text = er7.encode(build.get(type(record).__name__, build_session)(record))
    assert STRUCTURE.search(text) is None
    assert len(split_batch_bytes(frame(text))) == 1
    parsed = hl7.parse(text)
    assert [str(s[0]) for s in parsed] == [s.id for s in er7.parse(text).segments]
    ours = er7.parse(text).all("NTE")
    theirs = [s for s in parsed if str(s[0]) == "NTE"]
    last = parsed[-1]
    for mine, other in zip(ours, theirs, strict=True):
        raw = str(other[3]) if len(other) > 3 else ""
        expected = mine.get(3)
        if other is last:
            # python-hl7 strips the whole message text (str.strip: any Unicode white space)
            # before splitting it, so trailing white space fama writes raw in the last segment
            # never reaches it: spaces, and a C1 NEL (\x85) or other Unicode space a record
            # built in Python holds (C0 controls are escaped as \\Xhh\\ and kept; notes read
            # through the models have odd spaces and breaks made plain already).
            while expected[-1:].isspace() and er7.escape(expected[-1]) == expected[-1]:
                expected = expected[:-1]  # raw white space only: an escaped one stays
        assert parsed.unescape(raw) == expected


@given(st.text(st.characters(codec="utf-8"), max_size=80))
def test_escape_round_trips_any_text_and_leaves_no_control(text: str) -> None:
    escaped = er7.escape(text)
    assert STRUCTURE.search(escaped) is None and "\r" not in escaped
    assert er7.unescape(escaped) == text


# ------------------------------------------------------------------ the sender


@pytest.mark.parametrize("byte", ["\x0b", "\x1c"])
def test_the_sender_refuses_to_frame_a_message_carrying_a_framing_byte(byte: str) -> None:
    message = adt("A01").replace("tx-9", f"tx{byte}9")
    with pytest.raises(MappingError, match="framing byte"):
        frame(message)
    with MllpClient("127.0.0.1", 9, timeout=0.5, retries=0) as client:
        with pytest.raises(MappingError, match="framing byte"):  # before any connection
            client.send(message)


# ------------------------------------------------------------------ the reader


def _vt(text: str) -> bytes:
    return b"\x0b" + text.encode()


@pytest.mark.parametrize(
    ("payload", "kept"),
    [
        # a frame with a start block inside: its start cannot be trusted, refused whole
        (_vt(adt("A01")) + _vt(adt("A03")) + b"\x1c\r" + frame(adt("A08")), ["A08"]),
        # a frame that never ends
        (frame(adt("A01")) + _vt(adt("A03")), ["A01"]),
        # a stray end block inside a plain message (a CR and MSH after it start another)
        (adt("A03").replace("tx-9", "tx\x1c-9").encode() + b"\r" + adt("A08").encode(), ["A08"]),
        # a start block inside a plain message: what runs into it and the frame it starts
        (adt("A01").replace("c-1", "c-1\x0b").encode() + b"\r" + adt("A08").encode(), []),
    ],
    ids=["vt-inside-frame", "unterminated", "fs-inside-plain", "vt-inside-plain"],
)
def test_the_reader_refuses_a_frame_or_message_carrying_a_framing_byte(
    payload: bytes, kept: list[str]
) -> None:
    result = Hl7v2RecordSystem().inbound(payload)
    problems = [p for p in result.problems if "framing byte" in str(p)]
    assert 1 <= len(problems) <= 2
    assert len(result.contexts) == len(kept)


@settings(max_examples=40)
@given(
    st.lists(st.sampled_from(["A01", "A04", "A08", "A02"]), min_size=1, max_size=5),
    st.data(),
)
def test_one_poisoned_frame_loses_only_itself(triggers: list[str], data: st.DataObject) -> None:
    frames = [frame(adt(t, client_id=f"c-{n}")) for n, t in enumerate(triggers)]
    victim = data.draw(st.integers(0, len(frames) - 1))
    body = frames[victim][1:-2]
    cut = data.draw(st.integers(1, len(body) - 1))
    byte = data.draw(st.sampled_from([b"\x0b", b"\x1c"]))
    frames[victim] = b"\x0b" + body[:cut] + byte + body[cut:] + b"\x1c\r"
    result = Hl7v2RecordSystem().inbound(b"".join(frames))
    clients = {c.client_id for c in result.contexts}
    others = {f"c-{n}" for n in range(len(frames)) if n != victim}
    # With FS the rest of the poisoned frame becomes stray bytes: refused, never a message.
    assert others <= clients <= others | {f"c-{victim}"}
    assert f"c-{victim}" not in clients
    assert result.problems


def test_clean_frames_and_plain_files_still_read() -> None:
    stream = frame(adt("A01")) + b"\r\n" + frame(adt("A08"))
    assert len(Hl7v2RecordSystem().inbound(stream).contexts) == 2
    plain = (adt("A01") + "\r" + adt("A03", ended_on=dt.date(2026, 3, 1))).encode()
    assert len(Hl7v2RecordSystem().inbound(plain).contexts) == 2
