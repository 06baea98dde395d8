"""Start-up cost: CPU seconds of ``fama --help``, of two small commands and of opening a façade.

Beside ``python -c pass``. ``fama fhir questionnaire`` and ``fama verify --store memory://``
do almost no work, so their cost is what running a command costs: importing fama and the
plugins the command needs (its own, and those whose hooks it calls).

Each command runs ``--runs`` times as a fresh process; the figure is the median CPU time (user
plus system, from ``resource.getrusage(RUSAGE_CHILDREN)``) so a busy shared machine's waiting
does not count. The baseline is the interpreter starting and doing nothing, in the same run.
Also printed: how many modules each command has imported when it is done.

Run: ``python benchmarks/cli_startup.py`` (``--runs 15`` for steadier medians).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys

COMMANDS = {
    "python -c pass (baseline)": ["-c", "pass"],
    "fama --help": [
        "-c",
        "import sys\nfrom fama_adapters.cli import main\nmain(['--help'])",
    ],
    "fama fhir questionnaire": [
        "-c",
        "import sys\nfrom fama_adapters.cli import main\nmain(['fhir', 'questionnaire'])",
    ],
    "fama verify --store memory://": [
        "-c",
        "import sys\nfrom fama_adapters.cli import main\nmain(['verify', '--store', 'memory://'])",
    ],
    "Fama.open('memory://')": [
        "-c",
        "from fama_adapters.facade import Fama\nFama.open('memory://').close()",
    ],
}
COUNT = "\nimport sys\nprint(len(sys.modules), file=sys.stderr)"


def cpu_of(args: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, *args], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def modules_of(args: list[str]) -> int:
    done = subprocess.run(
        [sys.executable, "-c", args[1] + COUNT], capture_output=True, text=True, check=True
    )
    return int(done.stderr.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    results = {}
    for _ in range(args.runs):  # interleaved, so all meet the same machine conditions
        for label, command in COMMANDS.items():
            results.setdefault(label, []).append(cpu_of(command))
    base = statistics.median(results["python -c pass (baseline)"])
    print(f"start-up CPU (median of {args.runs} fresh processes; modules imported at the end)")
    for label, command in COMMANDS.items():
        cpu = statistics.median(results[label])
        count = modules_of(command)
        print(f"  {label:30} {cpu:6.3f} s  ({cpu / base:5.1f}× baseline)  {count} modules")
    help_cpu = statistics.median(results["fama --help"])
    print(f"fama --help costs {help_cpu - base:.3f} s of CPU above the interpreter's start")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
