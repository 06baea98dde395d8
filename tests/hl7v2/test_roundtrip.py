"""fama → HL7 v2.5 → fama is lossless for what each message carries, and every
message is valid for two independent implementations (hl7apy STRICT, python-hl7)."""

import hl7
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.hl7v2 import er7
from fama_adapters.hl7v2.messages import (
    build_adt,
    build_goal_message,
    build_referral,
    build_session,
    read_adt,
    read_goal_message,
    read_referral,
    read_session,
)
from fama_core.errors import MappingError

from .strategies import contexts, goal_messages, referrals, sessions, stamps

EXAMPLES = settings(max_examples=40)


def assert_valid(text: str) -> None:
    """hl7apy at STRICT validation and the independent hl7 package both accept it."""
    assert "\n" not in text
    parsed = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    parsed.validate()
    independent = hl7.parse(text)
    # python-hl7 strips whitespace at the very end of a message; otherwise it is the same text.
    assert str(independent).rstrip() == text.rstrip()
    # python-hl7 sees the same escaped notes and unescapes them to the same text as fama.
    ours = er7.parse(text)
    theirs_nte = [s for s in independent if str(s[0]) == "NTE"]
    for theirs, mine in zip(theirs_nte, ours.all("NTE"), strict=True):
        raw = str(theirs[3]) if len(theirs) > 3 else ""
        mine_raw = mine.raw(3).rstrip() if mine is ours.segments[-1] else mine.raw(3)
        assert raw == mine_raw
        assert independent.unescape(raw) == er7.unescape(raw)


@EXAMPLES
@given(goal_messages)
def test_goal_message_round_trips_and_validates(record):
    text = er7.encode(build_goal_message(record))
    assert_valid(text)
    assert read_goal_message(er7.parse(text)) == record


@EXAMPLES
@given(referrals)
def test_referral_round_trips_and_validates(record):
    text = er7.encode(build_referral(record))
    assert_valid(text)
    assert read_referral(er7.parse(text)) == record


@EXAMPLES
@given(sessions())
def test_session_round_trips_and_validates(record):
    text = er7.encode(build_session(record))
    assert_valid(text)
    assert read_session(er7.parse(text)) == record


@EXAMPLES
@given(contexts(), stamps, st.sampled_from(["A01", "A04", "A08", "A02"]))
def test_adt_context_round_trips(context, when, trigger):
    if context.ended_on is not None:
        trigger = "A03"
    text = er7.encode(build_adt(trigger, context, control_id="c1", recorded_at=when))
    assert_valid(text)
    assert read_adt(er7.parse(text)).context == context


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [("a|b", "a\\F\\b"), ("a^b", "a\\S\\b"), ("a&b", "a\\T\\b"), ("a~b", "a\\R\\b"),
     ("a\\b", "a\\E\\b"), ("a\rb", "a\\X0D\\b"), ("a\nb", "a\\X0A\\b")],
)  # fmt: skip
def test_escape_sequences_follow_hl7_v2_5_section_2_7(raw, escaped):
    assert er7.escape(raw) == escaped
    assert er7.unescape(escaped) == raw


@given(st.text())
def test_unescape_inverts_escape_for_any_text(raw):
    assert er7.unescape(er7.escape(raw)) == raw


@EXAMPLES
@given(goal_messages)
def test_a_pgl_whose_trigger_disagrees_with_gol_1_is_refused(record):
    """Review finding: a PGL^PC6 carrying GOL-1 DE was read as a delete."""
    text = er7.encode(build_goal_message(record))
    good = text.split("|", 9)[8]  # MSH-9, e.g. PGL^PC7^PGL_PC6
    trigger = good.split("^")[1]
    other = {"PC6": "PC8", "PC7": "PC6", "PC8": "PC7"}[trigger]
    wrong = text.replace(good, good.replace(trigger, other, 1), 1)
    with pytest.raises(MappingError, match="MSH-9.2"):
        read_goal_message(er7.parse(wrong))
