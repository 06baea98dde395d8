"""FHIR benchmark: transaction bundles per second for the demo caseload.

fama builds each bundle as plain dicts and serialises it with ``json``. The
baseline, in the same run, produces the same bundle through ``fhir.resources``'
R4B object model (construct the Bundle model from the same content, then its
own JSON serialiser), which is what building with that library costs. Both
outputs are checked to be the same FHIR content before timing.

Usage: python benchmarks/fhir_out.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle

from fama_adapters.cli.core_commands import load_journeys
from fama_adapters.fhir.mapping import client_bundle
from fama_core.workflow import fold

ROOT = Path(__file__).parent.parent


def fama_once(caseload) -> int:
    size = 0
    for state, events in caseload:
        size += len(json.dumps(client_bundle(state, events), ensure_ascii=False))
    return size


def baseline_once(caseload) -> int:
    size = 0
    for state, events in caseload:
        model = Bundle.model_validate(client_bundle(state, events))
        size += len(model.model_dump_json(exclude_none=True))
    return size


def rate(fn, caseload, seconds: float) -> float:
    fn(caseload)  # warm up
    runs, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        fn(caseload)
        runs += 1
    return runs * len(caseload) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    args = parser.parse_args()
    caseload = [
        (fold(events), events) for _n, _t, events in load_journeys(ROOT / "examples" / "journeys")
    ]
    for state, events in caseload:
        ours = client_bundle(state, events)
        theirs = json.loads(Bundle.model_validate(ours).model_dump_json(exclude_none=True))
        assert theirs == ours, f"{state.client_id}: outputs differ"
    entries = sum(len(client_bundle(s, e)["entry"]) for s, e in caseload)
    print(f"demo caseload: {len(caseload)} bundles, {entries} resources; same content: yes")
    fama = rate(fama_once, caseload, args.seconds)
    base = rate(baseline_once, caseload, args.seconds)
    print(f"fama (dicts + json):           {fama:10.0f} bundles/s")
    print(f"fhir.resources R4B (baseline): {base:10.0f} bundles/s")
    print(f"ratio: {fama / base:.1f}x")


if __name__ == "__main__":
    main()
