"""Meeting import: speed of 5,000-meeting Meeting Guide and BMLT feeds, peak memory at scale.

Speed: the baseline validates the same bytes into a minimal pydantic model of
the format's fields (no day/time/type normalisation, no per-entry error
capture); fama's importer also normalises slots, zones, types and attendance
and turns each bad entry into a positioned error. Both are timed in this run,
best of several repeats; the ratio is printed, never asserted.

Memory: ``fama meetings import LIST --out DIR`` runs in a child process on
generated hand-kept CSV lists (and a Meeting Guide JSON feed) of growing size;
the peak resident set of each child is printed beside the baseline, a child
that loads fama and every plugin and imports nothing. Flat in the input's size
is the aim.

    .venv/bin/python benchmarks/meeting_import.py [--meetings 5000] [--repeats 5]
        [--csv-rows 20000,100000] [--json-rows 100000]   # --csv-rows 1000000: several minutes
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, TypeAdapter

from fama_adapters.meetings import ImportOptions, read_bmlt_json, read_meeting_guide_json


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
                "formatted_address": f"{i} High Street, Northbridge NE1 1AA, UK",
                "notes": "Side door; tea from quarter past.",
                "updated": "2025-06-01 12:00:00",
                **({"conference_url": "https://meet.example.org/x"} if i % 4 == 0 else {}),
            }
            for i in range(n)
        ]
    ).encode()


class BmltMeeting(BaseModel):
    """The BMLT baseline: the semantic API's common fields, every one a string."""

    model_config = ConfigDict(extra="ignore")
    id_bigint: str
    weekday_tinyint: str
    venue_type: str = ""
    start_time: str
    duration_time: str = ""
    time_zone: str = ""
    formats: str = ""
    format_shared_id_list: str = ""
    meeting_name: str
    location_text: str = ""
    location_street: str = ""
    location_municipality: str = ""
    location_postal_code_1: str = ""
    comments: str = ""
    virtual_meeting_link: str = ""


_BMLT_FORMATS = [
    {"id": str(n), "key_string": key, "world_id": world, "format_type_enum": "FC1"}
    for n, (key, world) in enumerate(
        [
            ("O", "OPEN"),
            ("C", "CLOSED"),
            ("B", "BEG"),
            ("BT", "BT"),
            ("W", "W"),
            ("VM", "VM"),
            ("WC", "WCHR"),
            ("JT", "JFT"),
            ("HY", "HYBR"),
            ("D", "DISC"),
        ],
        start=1,
    )
]


def bmlt_feed(n: int) -> bytes:
    """A generated ``{meetings, formats}`` answer of ``n`` invented NA meetings."""
    rnd = random.Random(2)
    meetings = []
    for i in range(n):
        venue = rnd.choice("1112")
        ids = rnd.sample([f["id"] for f in _BMLT_FORMATS], 3)
        meetings.append(
            {
                "id_bigint": str(1000 + i),
                "weekday_tinyint": str(rnd.randrange(1, 8)),
                "venue_type": venue,
                "start_time": f"{rnd.randrange(24):02d}:{rnd.choice((0, 30)):02d}:00",
                "duration_time": rnd.choice(("01:00:00", "01:30:00", "")),
                "time_zone": "Europe/London",
                "formats": ",".join(f["key_string"] for f in _BMLT_FORMATS if f["id"] in ids),
                "format_shared_id_list": ",".join(ids),
                "meeting_name": f"NA Meeting {i}",
                "location_text": "" if venue == "2" else "Community Centre",
                "location_street": "" if venue == "2" else f"{i} Station Road",
                "location_municipality": "" if venue == "2" else "Southbridge",
                "location_postal_code_1": "" if venue == "2" else "SB1 2AA",
                "comments": "Newcomers welcome.",
                "virtual_meeting_link": "https://meet.example.org/x" if venue == "2" else "",
                "root_server_uri": "https://bmlt.example.org/main_server",
                "latitude": "34.235918",
                "longitude": "-118.563659",
            }
        )
    return json.dumps({"meetings": meetings, "formats": _BMLT_FORMATS}).encode()


def write_csv_list(path: Path, rows: int) -> None:
    """A hand-kept list of ``rows`` invented meetings (about 250 bytes a row)."""
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                "Group name",
                "Summary description",
                "When & where",
                "Contact details",
                "Organisation",
                "Meeting ID",
                "Types",
                "Time zone",
                "Last verified",
            ]
        )
        for i in range(rows):
            hour = 7 + i % 14
            out.writerow(
                [
                    f"Group {i} Recovery Meeting",
                    "Open meeting; tea and biscuits; newcomers welcome",
                    f"{days[i % 7]} {hour}:30-{hour + 1}:30, St Aidan's Hall, {i} High St, NE1 1AA",
                    "Northbridge Intergroup, 01632 960100",
                    "aa",
                    f"m-{i}",
                    "O BE X D",
                    "Europe/London",
                    "2026-02-01",
                ]
            )


def write_json_feed(path: Path, rows: int) -> None:
    """A Meeting Guide feed of ``rows`` invented meetings, written entry by entry."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write("[")
        for i in range(rows):
            entry = {
                "name": f"Meeting {i}",
                "slug": f"m-{i}",
                "day": i % 7,
                "time": "19:30",
                "end_time": "21:00",
                "types": ["O", "BE", "X"],
                "location": "St Aidan's Hall",
                "formatted_address": f"{i} High Street, Northbridge NE1 1AA, UK",
                "timezone": "Europe/London",
                "updated": "2026-02-01 12:00:00",
            }
            fh.write(("," if i else "") + "\n" + json.dumps(entry))
        fh.write("\n]\n")


_CHILD = """
import resource, sys
from fama_adapters.cli import main
code = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
sys.exit(code)
"""


def peak_mb(*argv: str) -> tuple[float, float]:
    """Peak resident set (MB) and wall time (s) of ``fama ARGV`` in a fresh child process."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *argv], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"fama {' '.join(argv[:2])} failed: {done.stderr[-500:]}")
    return int(done.stdout.strip().splitlines()[-1]) / 1024, elapsed


def memory(csv_rows: list[int], json_rows: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="fama-bench-") as tmp:
        folder = Path(tmp)
        base, _ = peak_mb("meetings", "sources")
        print("\npeak memory of 'fama meetings import --out' in a child process")
        print(f"baseline (fama and every plugin loaded, nothing imported): {base:7.1f} MB")
        for kind, sizes, write, name in (
            ("CSV list", csv_rows, write_csv_list, "list.csv"),
            ("Meeting Guide JSON", json_rows, write_json_feed, "feed.json"),
        ):
            for rows in sizes:
                path = folder / name
                write(path, rows)
                size = path.stat().st_size / 1e6
                peak, elapsed = peak_mb(
                    "meetings", "import", str(path), "--out", str(folder / "dir.json")
                )
                print(
                    f"{kind:>18}: {rows:>9,} rows, {size:6.0f} MB in: peak {peak:7.1f} MB "
                    f"({peak - base:+6.1f} MB over baseline), {rows / elapsed:,.0f} rows/s"
                )
                path.unlink()


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
    parser.add_argument(
        "--csv-rows", default="20000,100000", help="CSV sizes for memory (1000000 for a million)"
    )
    parser.add_argument("--json-rows", default="100000", help="JSON feed sizes for memory")
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
    bmlt = bmlt_feed(args.meetings)
    bmlt_adapter = TypeAdapter(list[BmltMeeting])
    bmlt_base = best(
        lambda: bmlt_adapter.validate_python(json.loads(bmlt)["meetings"]), args.repeats
    )
    options = ImportOptions(organisation="na")
    report = read_bmlt_json(bmlt, options=options)
    assert len(report.meetings) == args.meetings, report.problems[:3]
    bmlt_fama = best(lambda: read_bmlt_json(bmlt, options=options), args.repeats)
    print(
        f"\nBMLT answer: {args.meetings} meetings, {len(bmlt) / 1e6:.2f} MB; best of {args.repeats}"
    )
    print(f"baseline json.loads + pydantic (semantic fields):  {bmlt_base * 1000:8.1f} ms")
    print(f"fama read_bmlt_json (normalised):                 {bmlt_fama * 1000:8.1f} ms")
    print(
        f"fama / baseline: {bmlt_fama / bmlt_base:.1f}x the time; "
        f"{args.meetings / bmlt_fama:,.0f} meetings/s"
    )
    sizes = [
        [int(n) for n in text.split(",") if n.strip()] for text in (args.csv_rows, args.json_rows)
    ]
    memory(*sizes)


if __name__ == "__main__":
    main()
