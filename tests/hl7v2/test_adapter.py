"""The hl7v2 record system: outbound over the demo caseload, ADT inbound, identity with hl7apy."""

import datetime as dt
import logging
import re
from pathlib import Path

import hl7
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.cli.core_commands import load_journeys
from fama_adapters.hl7v2 import Hl7v2RecordSystem, er7
from fama_adapters.hl7v2.messages import (
    build_adt,
    build_goal_message,
    build_referral,
    build_session,
)
from fama_adapters.hl7v2.reference import build_with_hl7apy
from fama_adapters.plugins import PluginHost
from fama_adapters.record_systems import RecordSystem
from fama_core.context import TreatmentContext
from fama_core.workflow import apply

from .strategies import goal_messages, referrals, sessions
from .test_roundtrip import assert_valid

ROOT = Path(__file__).resolve().parents[2]
WHEN = dt.datetime(2026, 3, 9, 17, 0, tzinfo=dt.UTC)


def demo_caseload():
    for _name, _title, events in load_journeys(ROOT / "examples" / "journeys"):
        state = None
        for event in events:
            state = apply(state, event)
        yield state, events


def test_registers_as_record_system_named_hl7v2():
    systems = PluginHost(entry_points=False).record_systems()
    assert isinstance(systems["hl7v2"], RecordSystem)


def test_demo_caseload_messages_are_valid_and_match_hl7apy_byte_for_byte():
    system = Hl7v2RecordSystem()
    kinds = set()
    for state, events in demo_caseload():
        for message in system.messages(state, events):
            text = system.encode(message)
            assert_valid(text)
            segments = {
                "goals": build_goal_message,
                "referral": build_referral,
                "session": build_session,
            }[message.kind](message.record)
            assert build_with_hl7apy(segments) == text
            kinds.add(text.split("|")[8])
    assert kinds == {"PGL^PC6^PGL_PC6", "PGL^PC7^PGL_PC6", "REF^I12^REF_I12", "ORU^R01^ORU_R01"}


def _plain(record):
    """hl7apy escapes neither backslashes nor control characters: compare on text without them."""
    return re.search(r"\\(\\|[rnt]|x[01][0-9a-f]|x7f)", repr(record)) is None


@settings(max_examples=15)
@given(goal_messages.filter(_plain) | referrals.filter(_plain) | sessions().filter(_plain))
def test_fast_path_is_byte_identical_to_hl7apy_object_api(record):
    build = {"GoalMessage": build_goal_message, "ReferralMessage": build_referral}
    segments = build.get(type(record).__name__, build_session)(record)
    assert er7.encode(segments) == build_with_hl7apy(segments)


def test_outbound_documents_are_named_per_client_and_sequence():
    state, events = next(demo_caseload())
    docs = Hl7v2RecordSystem().outbound(state, events)
    assert docs[0].name == f"{state.client_id}-001-session.hl7"
    assert all(d.media_type == "application/hl7-v2" for d in docs)
    assert all(d.content.startswith(b"MSH|") for d in docs)


def test_resending_the_same_events_gives_the_same_control_ids():
    state, events = next(demo_caseload())
    first = [er7.parse(d.content).control_id for d in Hl7v2RecordSystem().outbound(state, events)]
    again = [er7.parse(d.content).control_id for d in Hl7v2RecordSystem().outbound(state, events)]
    assert first == again and len(set(first)) == len(first)


def adt(trigger, **overrides):
    context = TreatmentContext(
        **{
            "client_id": "c-1",
            "treatment_episode_id": "tx-9",
            "started_on": dt.date(2026, 1, 5),
            **overrides,
        }
    )
    return er7.encode(build_adt(trigger, context, control_id=f"m-{trigger}", recorded_at=WHEN))


@pytest.mark.parametrize("trigger", ["A01", "A04", "A08", "A02"])
def test_admit_register_update_and_transfer_within_set_an_open_context(trigger):
    result = Hl7v2RecordSystem().inbound(adt(trigger).encode())
    assert result.problems == ()
    (context,) = result.contexts
    assert (context.client_id, context.treatment_episode_id) == ("c-1", "tx-9")
    assert context.ended_on is None


def test_discharge_ends_the_context_and_a_transfer_code_marks_it_transferred():
    payload = adt("A03", ended_on=dt.date(2026, 3, 1), end_reason="02", transferred=True)
    (context,) = Hl7v2RecordSystem().inbound(payload.encode()).contexts
    assert context.ended_on == dt.date(2026, 3, 1)
    assert context.transferred and context.end_reason == "02"


def test_discharge_home_is_not_a_transfer():
    payload = adt("A03", ended_on=dt.date(2026, 3, 1), end_reason="01")
    (context,) = Hl7v2RecordSystem().inbound(payload.encode()).contexts
    assert not context.transferred


def test_merge_a40_reports_which_record_lives_on():
    text = (
        "MSH|^~\\&|PAS|PROV|||20260309170000+0000||ADT^A40^ADT_A39|m-40|P|2.5\r"
        "EVN|A40|20260309170000+0000\r"
        "PID|||c-1^^^FAMA^PI||^^^^^^S\r"
        "MRG|c-0^^^FAMA^PI"
    )
    assert_valid(text)
    (merge,) = Hl7v2RecordSystem().inbound(text.encode()).merges
    assert (merge.merged, merge.survivor, merge.on) == ("c-0", "c-1", dt.date(2026, 3, 9))


def test_a_bad_message_in_a_batch_is_reported_and_the_rest_carry_on(caplog):
    bad = adt("A01").replace("|tx-9", "|")  # no visit number
    payload = "\r".join([adt("A01"), bad, adt("A08")]).encode()
    with caplog.at_level(logging.DEBUG):
        result = Hl7v2RecordSystem().inbound(payload)
    assert len(result.contexts) == 2
    (problem,) = result.problems
    assert problem.record == "message 2 (m-A01)"
    assert problem.problems[0].location == "PV1-19"
    assert caplog.records == []  # nothing logged


def test_mllp_framed_payloads_are_read():
    framed = b"".join(b"\x0b" + adt(t).encode() + b"\x1c\r" for t in ("A01", "A08"))
    assert len(Hl7v2RecordSystem().inbound(framed).contexts) == 2


def test_messages_fama_writes_are_not_read_as_treatment_context():
    state, events = next(demo_caseload())
    doc = Hl7v2RecordSystem().outbound(state, events)[0]
    result = Hl7v2RecordSystem().inbound(doc.content)
    assert result.contexts == () and result.problems[0].problems[0].location == "MSH-9"


@pytest.mark.parametrize(
    ("field", "secret"),
    [
        ("|tx-9|", "|my sponsor Jo 07700 900123|"),  # PV1-19, read and invalid as an id
        ("|20260105", "|2026 Jo 07700 900123"),  # PV1-44, read and invalid as a date
    ],
)
def test_errors_never_carry_the_values_they_refuse(field, secret):
    """The secret sits in a field fama reads and refuses, so the test can fail."""
    bad = adt("A01").replace(field, secret, 1)
    result = Hl7v2RecordSystem().inbound(bad.encode())
    assert result.problems, "the value must be refused"
    assert "07700" not in str(result.problems[0]) and "Jo" not in str(result.problems[0])


def test_outbound_logs_nothing_and_carries_notes_only_inside_messages(caplog):
    with caplog.at_level(logging.DEBUG):
        for state, events in demo_caseload():
            Hl7v2RecordSystem().outbound(state, events)
    assert caplog.records == []


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_result_never_an_exception(payload):
    result = Hl7v2RecordSystem().inbound(payload)
    assert len(result.contexts) + len(result.merges) <= payload.count(b"MSH")


@settings(max_examples=200)
@given(
    st.sampled_from(["A01", "A08", "A03"]),
    st.lists(st.tuples(st.integers(0, 400), st.sampled_from(list("|^~\\&\r\nX0 MSH"))),
             max_size=6),
)  # fmt: skip
def test_damaged_adt_is_read_or_reported_never_raised(trigger, damage):
    text = adt(trigger, ended_on=dt.date(2026, 3, 1)) if trigger == "A03" else adt(trigger)
    for at, char in damage:
        text = text[:at] + char + text[at:]
    result = Hl7v2RecordSystem().inbound(text.encode())
    assert len(result.contexts) + len(result.problems) + len(result.merges) >= 1


def test_one_badly_encoded_message_does_not_take_the_batch_with_it():
    """Review finding: one non-UTF-8 byte rejected every message in the payload."""
    bad = adt("A01").replace("PV1|1|O", "NTE|1||caf\u00e9\rPV1|1|O").encode("latin-1")
    payload = bad + b"\r" + adt("A08").encode()
    result = Hl7v2RecordSystem().inbound(payload)
    assert len(result.contexts) == 1
    assert [p.record for p in result.problems] == ["message 1"]
    assert "not in its character set" in str(result.problems[0])


def test_without_a_configured_authority_several_pid_3_identifiers_are_refused():
    """Review finding: the first PID-3 (perhaps an NHS number) became the client key."""
    several = adt("A01").replace("PID|||c-1^^^FAMA^PI|", "PID|||9434765919^^^NHS^NH~c-1^^^FAMA^PI|")
    result = Hl7v2RecordSystem().inbound(several.encode())
    assert result.contexts == ()
    assert "PID-3: several identifiers" in str(result.problems[0])
    assert "9434765919" not in str(result.problems[0])
    chosen = Hl7v2RecordSystem(authority="FAMA").inbound(several.encode())
    assert [c.client_id for c in chosen.contexts] == ["c-1"]


def test_a_merge_reads_mrg_1_with_the_same_authority():
    merge = (
        adt("A01")
        .replace("ADT^A01^ADT_A01", "ADT^A40^ADT_A39")
        .replace("PV1|", "MRG|9434765919^^^NHS^NH~c-0^^^FAMA^PI\rPV1|", 1)
    )
    (done,) = Hl7v2RecordSystem(authority="FAMA").inbound(merge.encode()).merges
    assert (done.merged, done.survivor) == ("c-0", "c-1")
    refused = Hl7v2RecordSystem().inbound(merge.encode())
    assert refused.merges == () and "MRG-1: several identifiers" in str(refused.problems[0])


def test_outbound_messages_declare_utf8_and_latin_1_inbound_is_read_by_its_msh_18():
    """Review finding: no MSH-18, so receivers read fama's UTF-8 as the ASCII default."""
    message = adt("A01")
    assert er7.parse(message).msh.get(18) == "UNICODE UTF-8"
    latin = message.replace("UNICODE UTF-8", "8859/1").replace(
        "PV1|1|O", "NTE|1||caf\u00e9\rPV1|1|O"
    )
    result = Hl7v2RecordSystem().inbound(latin.encode("latin-1"))
    assert result.problems == () and len(result.contexts) == 1


# ------------------------------------------------------------------ PV1-36 (discharge disposition)

HOSTILE_DISPOSITIONS = [
    "<img src=x onerror=alert(1)>",
    "\u202etransferred",  # a right-to-left override: looks like a code, prints reversed
    "02 OR 1=1",
    "x" * 21,
    "Jo 07700 900123",
    "<b>",
]


def discharge_with_disposition(value: str) -> str:
    """An A03 whose PV1-36 carries ``value``, ER7-escaped as a sender would write it."""
    text = adt("A03", ended_on=dt.date(2026, 3, 1), end_reason="02")
    pv1 = next(s for s in text.split("\r") if s.startswith("PV1|"))
    fields = pv1.split("|")
    assert fields[36] == "02"
    fields[36] = er7.escape(value)
    return text.replace(pv1, "|".join(fields))


@pytest.mark.parametrize("value", HOSTILE_DISPOSITIONS)
def test_a_disposition_that_is_not_a_code_is_refused_at_pv1_36_unshown(value):
    result = Hl7v2RecordSystem().inbound(discharge_with_disposition(value).encode())
    assert result.contexts == ()
    (problem,) = result.problems
    assert problem.problems[0].location == "PV1-36"
    assert "table 0112" in str(problem)
    assert value not in str(problem) and "07700" not in str(problem) and "<" not in str(problem)


@pytest.mark.parametrize("value", ["01", "02", "transferred", "DIS-HOME.1"])
def test_a_disposition_code_is_read(value):
    (context,) = Hl7v2RecordSystem().inbound(discharge_with_disposition(value).encode()).contexts
    assert context.end_reason == value


def test_a_configured_table_0112_refuses_other_codes():
    system = Hl7v2RecordSystem(disposition_codes=frozenset({"01", "02"}))
    assert system.inbound(discharge_with_disposition("02").encode()).contexts
    result = system.inbound(discharge_with_disposition("09").encode())
    assert result.contexts == ()
    assert result.problems[0].problems[0].location == "PV1-36"
    assert "configured table 0112" in str(result.problems[0])


@settings(max_examples=200)
@given(st.text(max_size=40))
def test_whatever_pv1_36_holds_only_a_code_is_kept_and_nothing_else_is_shown(value):
    result = Hl7v2RecordSystem().inbound(discharge_with_disposition(value).encode())
    for context in result.contexts:
        assert context.end_reason is None or re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,19}",
                                                          context.end_reason)  # fmt: skip
    for problem in result.problems:
        if len(value) >= 3:
            assert value not in str(problem)


# ------------------------------------------------------------------ PV1-39 / MSH-4 (agency code)

HOSTILE_AGENCIES = [
    "<img src=x onerror=alert(1)>",
    "\u202eAG1",  # a right-to-left override before a code
    "AG 001",
    "AG-001",  # "-" separates the parts of an NDTMS extract's file name
    "../../etc",
    "X" * 17,
    "Jo 07700 900123",
    "ÄG1",
]


def with_agency(pv1_39: str, msh_4: str = "") -> str:
    """An A01 whose PV1-39 and MSH-4 carry the values given, ER7-escaped as a sender writes
    them; python-hl7 (an independent parser) reads them back at those positions."""
    text = adt("A01")
    segments = text.split("\r")
    msh = segments[0].split("|")
    msh[3] = er7.escape(msh_4)  # "MSH", MSH-2 (encoding characters), MSH-3, MSH-4 …
    pv1_at = next(i for i, s in enumerate(segments) if s.startswith("PV1|"))
    pv1 = segments[pv1_at].split("|")
    pv1[39] = er7.escape(pv1_39)
    segments[0], segments[pv1_at] = "|".join(msh), "|".join(pv1)
    built = "\r".join(segments)
    theirs = hl7.parse(built)
    assert theirs.unescape(str(theirs.segment("MSH")[4])) == msh_4
    assert theirs.unescape(str(theirs.segment("PV1")[39])) == pv1_39
    return built


@pytest.mark.parametrize("value", HOSTILE_AGENCIES)
@pytest.mark.parametrize("field", ["PV1-39", "MSH-4"])
def test_an_agency_that_is_not_a_code_is_refused_at_its_field_unshown(field, value):
    message = with_agency(value) if field == "PV1-39" else with_agency("", msh_4=value)
    result = Hl7v2RecordSystem().inbound(message.encode())
    assert result.contexts == ()
    (problem,) = result.problems
    assert problem.problems[0].location == field
    assert "1 to 16 letters or digits" in str(problem)
    assert value not in str(problem) and "07700" not in str(problem) and "<" not in str(problem)
    assert "\u202e" not in str(problem)


@pytest.mark.parametrize(
    ("pv1_39", "msh_4", "agency"),
    [
        ("AG001", "", "AG001"),  # the project's own examples
        ("RXT", "", "RXT"),  # ODS codes: a trust, a site, a GP practice
        ("RXT01", "NTN", "RXT01"),
        ("", "Y02501", "Y02501"),
        ("ag1", "", "ag1"),
        (" RXT  ", "", "RXT"),  # padded by a fixed-width sender
        ("", "", None),
        ("AG1", "Sending Facility Name", "AG1"),  # MSH-4 is read only when PV1-39 is empty
    ],
)
def test_an_agency_code_is_read_from_pv1_39_else_msh_4(pv1_39, msh_4, agency):
    result = Hl7v2RecordSystem().inbound(with_agency(pv1_39, msh_4).encode())
    assert result.problems == ()
    (context,) = result.contexts
    assert context.agency_code == agency


def test_msh_4_is_its_namespace_id_as_the_hd_type_gives_it():
    hd = with_agency("", "RXT").replace("|RXT|", "|RXT^2.16.840.1^ISO|", 1)
    assert str(hl7.parse(hd).segment("MSH")[4][0][0]) == "RXT"  # repetition 1, component 1
    (context,) = Hl7v2RecordSystem().inbound(hd.encode()).contexts
    assert context.agency_code == "RXT"


@settings(max_examples=200)
@given(st.text(max_size=40), st.booleans())
def test_whatever_the_agency_field_holds_only_a_code_is_kept_and_nothing_else_is_shown(value, pv1):
    message = with_agency(value) if pv1 else with_agency("", msh_4=value)
    result = Hl7v2RecordSystem().inbound(message.encode())
    for context in result.contexts:
        code = context.agency_code
        assert code is None or re.fullmatch(r"[A-Za-z0-9]{1,16}", code)
        assert context.agency_code in (None, value.strip(" "))
    for problem in result.problems:
        if len(value) >= 3:
            assert value not in str(problem)
    assert len(result.contexts) + len(result.problems) == 1


@pytest.mark.parametrize(
    "pid_3", ["9434765919^^^NHS^NH", "9434765919^^^NHS", "9434765919^^^^NH", "9434765919^^^nhs^nh"]
)
@pytest.mark.parametrize("authority", [None, "NHS"])
def test_an_nhs_number_never_becomes_the_client_key(pid_3, authority):
    """Red team: a lone PID-3 marked as an NHS number was taken as the pseudonymous key."""
    alone = adt("A01").replace("PID|||c-1^^^FAMA^PI|", f"PID|||{pid_3}|")
    result = Hl7v2RecordSystem(authority=authority).inbound(alone.encode())
    assert result.contexts == ()
    (problem,) = result.problems
    assert "PID-3: " in str(problem) and "9434765919" not in str(problem)
    if authority is None or "^NHS^" in pid_3:  # else no repetition has the authority at all
        assert "PID-3: the identifier is marked as an NHS number" in str(problem)


def test_an_nhs_number_never_becomes_the_survivor_or_the_merged_record():
    merge = adt("A01").replace("ADT^A01^ADT_A01", "ADT^A40^ADT_A39") + "\rMRG|9434765919^^^NHS^NH"
    result = Hl7v2RecordSystem().inbound(merge.encode())
    assert result.merges == ()
    assert "MRG-1: the identifier is marked as an NHS number" in str(result.problems[0])
