"""HL7 v2 outbound: messages per second, fama's fast path against hl7apy's object API.

The message mix is the demo caseload's (examples/journeys): every PGL, REF^I12
and ORU^R01 message `make demo` writes. Both paths start from the same records;
the fast path builds segments and encodes them in one pass, the baseline
assigns every value through hl7apy's object model (STRICT) and serialises with
hl7apy. Output is asserted byte-identical and hl7apy-valid before timing.
Run: .venv/bin/python benchmarks/hl7_out.py
"""

from __future__ import annotations

import time
from pathlib import Path

import hl7
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from fama_adapters.cli.core_commands import load_journeys
from fama_adapters.hl7v2 import GoalMessage, Hl7v2RecordSystem, ReferralMessage, er7
from fama_adapters.hl7v2.messages import build_goal_message, build_referral, build_session
from fama_adapters.hl7v2.reference import build_with_hl7apy
from fama_core.workflow import apply

ROOT = Path(__file__).resolve().parent.parent


def _records():
    system = Hl7v2RecordSystem()
    records = []
    for _name, _title, events in load_journeys(ROOT / "examples" / "journeys"):
        state = None
        for event in events:
            state = apply(state, event)
        records += [m.record for m in system.messages(state, events)]
    return records


def _segments(record):
    if isinstance(record, GoalMessage):
        return build_goal_message(record)
    if isinstance(record, ReferralMessage):
        return build_referral(record)
    return build_session(record)


def fast(records):
    return [er7.encode(_segments(r)) for r in records]


def baseline(records):
    return [build_with_hl7apy(_segments(r)) for r in records]


def baseline_tolerant(records):
    return [build_with_hl7apy(_segments(r), strict=False) for r in records]


def _rate(fn, records, budget):
    """Messages per second: repeat the whole mix until ``budget`` seconds have passed."""
    count, start = 0, time.perf_counter()
    while True:
        fn(records)
        count += len(records)
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            return count / elapsed


def main():
    records = _records()
    ours, theirs = fast(records), baseline(records)
    assert ours == theirs, "fast path and hl7apy differ"
    assert ours == baseline_tolerant(records), "fast path and hl7apy (tolerant) differ"
    for text in ours:
        parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True).validate()
        hl7.parse(text)
    kinds = {}
    for text in ours:
        kind = text.split("|", 9)[8]
        kinds[kind] = kinds.get(kind, 0) + 1
    print(
        f"message mix: {len(records)} messages " + ", ".join(f"{k} {v}" for k, v in kinds.items())
    )
    print("output: byte-identical, hl7apy STRICT-valid, parsed by hl7")
    base = _rate(baseline, records, 5.0)
    tolerant = _rate(baseline_tolerant, records, 5.0)
    ours_rate = _rate(fast, records, 5.0)
    print(f"hl7apy object API, STRICT   : {base:9,.0f} messages/s ({1000 / base:.2f} ms a message)")
    print(f"hl7apy object API, TOLERANT : {tolerant:9,.0f} messages/s ({1000 / tolerant:.2f} ms)")
    print(f"fama fast path              : {ours_rate:9,.0f} messages/s ({1e6 / ours_rate:.1f} µs)")
    print(f"ratio to STRICT             : {ours_rate / base:.1f}x")
    print(f"ratio to TOLERANT           : {ours_rate / tolerant:.1f}x")


if __name__ == "__main__":
    main()
