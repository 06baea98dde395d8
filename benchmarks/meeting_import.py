"""Import speed of a 5,000-meeting Meeting Guide feed against json.loads + a plain pydantic model.

The baseline validates the same bytes into a minimal pydantic model of the
spec's fields (no day/time/type normalisation, no per-entry error capture);
fama's importer also normalises slots, zones, types and attendance and turns
each bad entry into a positioned error. Both are timed in this run, best of
several repeats; the ratio is printed, never asserted.

    .venv/bin/python benchmarks/meeting_import.py [--meetings 5000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import random
import time

from pydantic import BaseModel, ConfigDict, TypeAdapter

from fama_adapters.meetings import read_meeting_guide_json


class SpecMeeting(BaseModel):
    """The baseline: the spec's common fields, validated as given."""

    model_config = ConfigDict(extra="ignore")
    name: str
    slug: str | int
    day: int | list[int] | None = None
    time: str | None = None
    end_time: str | None = None
    timezone: str | None = None
    types: list[str] = []
    location: str | None = None
    formatted_address: str | None = None
    notes: str | None = None
    updated: str | None = None
    conference_url: str | None = None


def feed(n: int) -> bytes:
    rnd = random.Random(1)
    codes = ["O", "C", "BE", "W", "M", "X", "D", "SP", "ONL", "TC", "S", "B", "ST", "DB"]
    return json.dumps(
        [
            {
                "name": f"Meeting {i}",
                "slug": f"meeting-{i}",
                "day": rnd.randrange(7) if i % 5 else [1, 3, 5],
                "time": f"{rnd.randrange(24):02d}:{rnd.choice((0, 30)):02d}",
                "end_time": f"{rnd.randrange(24):02d}:{rnd.choice((15, 45)):02d}",
                "types": rnd.sample(codes, 4),
                "location": "St Aidan's Church Hall",
                "formatted_address": f"{i} High Street, Northbridge NB1 1AA, UK",
                "notes": "Side door; tea from quarter past.",
                "updated": "2025-06-01 12:00:00",
                **({"conference_url": "https://meet.example.org/x"} if i % 4 == 0 else {}),
            }
            for i in range(n)
        ]
    ).encode()


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = feed(args.meetings)
    adapter = TypeAdapter(list[SpecMeeting])
    baseline = best(lambda: adapter.validate_python(json.loads(data)), args.repeats)
    report = read_meeting_guide_json(data)
    assert len(report.meetings) == args.meetings, report.problems[:3]
    fama = best(lambda: read_meeting_guide_json(data), args.repeats)
    print(f"feed: {args.meetings} meetings, {len(data) / 1e6:.2f} MB; best of {args.repeats}")
    print(f"baseline json.loads + pydantic (spec fields only): {baseline * 1000:8.1f} ms")
    print(f"fama read_meeting_guide_json (normalised):        {fama * 1000:8.1f} ms")
    print(
        f"fama / baseline: {fama / baseline:.1f}x the time; {args.meetings / fama:,.0f} meetings/s"
    )


if __name__ == "__main__":
    main()
