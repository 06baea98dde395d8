"""`fama record` peak memory: 100,000 lines against 1,000,000, stored and refused.

Each measurement runs `fama record FILE --store sqlite:///… [--json]` in a fresh
Python process (standard output to /dev/null) and reports that process's peak
resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), so nothing
of this script's own data counts. The baseline, in the same run, is a process
that imports the same modules and reads the same file line by line without
doing anything with it: the floor of a streaming reader.

Two inputs per size: every line a valid event (journeys of 4 events, one
client each: 250,000 clients for a million lines), and every line refused (a
well-formed event of an unknown kind), which is what used to grow: each
refusal was kept and the whole ``--json`` document built in memory.

Usage: python benchmarks/record_memory.py [--sizes 100000,1000000] [--stored-sizes 20000,100000]
(``--stored-sizes 100000,1000000`` for the full comparison: a million stored lines take minutes.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind
from fama_core.events import event_to_json

PLACEHOLDER = "CLIENTXXXXXXX"

_CHILD = """
import os, resource, sys
from fama_adapters.cli import main
with open(os.devnull, "w") as sink:
    code = main(sys.argv[2:], stdout=sink, stderr=sink)
with open(sys.argv[1], "w") as fh:
    fh.write(f"{int(code)} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
"""

_BASELINE = """
import resource, sys
import fama_adapters.cli, fama_adapters.store.plugin  # the same imports as the command
n = 0
with open(sys.argv[2], "rb") as fh:
    for line in fh:
        n += len(line)
with open(sys.argv[1], "w") as fh:
    fh.write(f"0 {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
"""


def _journey_lines() -> list[str]:
    b = JourneyBuilder(PLACEHOLDER, start=dt.date(2026, 1, 5), keyworker_id="kw-1")
    m = b.meeting()
    b.open().session1().goal(GoalKind.READ_HANDOUTS).session2(commit_to=m)
    return [event_to_json(e) for e in b.events]


def write_stored(path: Path, lines: int) -> None:
    """``lines`` valid events: copies of one journey, each copy a new client."""
    template = _journey_lines()
    with path.open("w", encoding="utf-8") as fh:
        written = client = 0
        while written < lines:
            client += 1
            cid = f"C{client:012d}"
            for line in template[: lines - written]:
                fh.write(line.replace(PLACEHOLDER, cid) + "\n")
                written += 1


def write_refused(path: Path, lines: int) -> None:
    """``lines`` well-formed lines of an unknown kind: every one refused."""
    first = json.loads(_journey_lines()[0])
    with path.open("w", encoding="utf-8") as fh:
        for n in range(lines):
            first.update(kind="not_a_kind", event_id=f"e{n}", client_id=f"C{n % 50_000}")
            fh.write(json.dumps(first) + "\n")


def _measure(script: str, args: list[str]) -> tuple[int, float, float]:
    with tempfile.NamedTemporaryFile("r", suffix=".txt", delete=False) as result:
        name = result.name
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", script, name, *args], check=True)
    seconds = time.perf_counter() - started
    code, kib = Path(name).read_text().split()
    os.unlink(name)
    return int(code), int(kib) / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="refused-line sizes")
    parser.add_argument("--stored-sizes", default="20000,100000", help="stored-line sizes")
    parser.add_argument("--skip-stored", action="store_true", help="only the refused lines")
    args = parser.parse_args()
    kinds = [("refused", write_refused, args.sizes)]
    if not args.skip_stored:
        kinds.append(("stored", write_stored, args.stored_sizes))
    print(
        f"{'input':<9}{'lines':>11}  {'mode':<6}{'exit':>5}{'peak MB':>9}{'baseline':>10}"
        f"{'ratio':>7}{'seconds':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for kind, write, sizes in kinds:
            for size in (int(s) for s in sizes.split(",")):
                data = folder / f"{kind}-{size}.jsonl"
                write(data, size)
                _, base, _ = _measure(_BASELINE, [str(data)])
                for mode in (["--json"], []):
                    db = folder / f"{kind}-{size}-{len(mode)}.db"
                    store = f"sqlite:///{db}"
                    _measure(_CHILD, ["init", "--store", store])
                    code, peak, seconds = _measure(
                        _CHILD, ["record", str(data), "--store", store, *mode]
                    )
                    print(
                        f"{kind:<9}{size:>11,}  {('json' if mode else 'text'):<6}{code:>5}"
                        f"{peak:>9.1f}{base:>10.1f}{peak / base:>7.2f}{seconds:>9.1f}"
                    )
                data.unlink()


if __name__ == "__main__":
    main()
