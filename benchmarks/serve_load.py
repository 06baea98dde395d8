"""`fama serve` under load on loopback: concurrent writers, no lost and no duplicated event.

Starts a real ``fama serve`` (uvicorn, SQLite store in a temporary folder) and runs
``--writers`` concurrent writers for ``--seconds``. Writers share ``--clients`` clients on
purpose, so they contend: each appends one ``goal_set`` event at a time with ``If-Match`` set to
the version it last saw; a 409 makes it take the version from the problem document and send
the same event again. Every fifth acknowledged event is sent a second time without ``If-Match``
(a writer that lost the acknowledgement), which must come back as a duplicate.

At the end every client's stream is read back through the API and checked: versions dense from
1, no event id twice, every acknowledged event present exactly once and nothing present that was
never acknowledged. Any loss or duplicate is printed and the exit code is 1; speed is reported,
never asserted: requests per second and latency percentiles of all requests.

Baseline, same run: the same number of ``goal_set`` events recorded in-process through the façade
(``Fama.record`` with the expected version) on a SQLite store in the same folder, one writer:
the ratio is what HTTP, JSON, authentication, the audit and contention cost.

Run: ``python benchmarks/serve_load.py`` (``--writers 50 --seconds 30`` for the issue's figure;
the defaults fit a one-minute budget on two shared cores).

``--report``: instead, the time per *protected* ``GET /v1/report`` answer (decisions Q1-Q9). A
commissioner asks a real server, over a store of ``--report-clients`` fictional clients, for a
sequence of overlapping periods and then the first again; each answer is timed from the first
request to the 200 (a 503 ``report-pending`` is asked again after a second). Baseline, same run:
the same answers computed in-process by ``build_report`` with the same earlier answers
(``--earlier``), the access figures asserted equal to the served ones; and, for scale, each
period alone with no earlier answer (what the service computed before the ledger).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from fama_adapters.facade import Fama
from fama_adapters.http.tokens import TokenFile
from fama_adapters.store.sqlite import SqliteEventStore
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind
from fama_core.events import event_from_mapping, event_to_json


def start(folder: Path) -> tuple[subprocess.Popen, str]:
    cmd = [
        sys.executable,
        "-c",
        "import sys; from fama_adapters.cli import main; sys.exit(main())",
        "serve",
        "--port",
        "0",
        "--tokens",
        str(folder / "tokens.json"),
        "--audit",
        str(folder / "audit.jsonl"),
        "--store",
        f"sqlite:///{folder}/{{agency}}.db",
        "--limit-concurrency",
        "1000",
        "--timeout",
        "60",
    ]
    log = (folder / "server.log").open("ab")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    log.close()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line = proc.stdout.readline().decode() if sel.select(timeout=120) else ""
    sel.close()
    if not line.startswith("fama serve on "):
        proc.kill()
        sys.exit("fama serve did not start: " + (folder / "server.log").read_text())
    return proc, line.split()[3].removesuffix("/v1")


def opening(client: str) -> list[dict]:
    b = JourneyBuilder(client, keyworker_id="kw-load", start=dt.date(2026, 3, 2))
    b.open().session1()
    return [json.loads(event_to_json(e)) for e in b.events]


def goal_template(client: str) -> dict:
    b = JourneyBuilder(client, keyworker_id="kw-load", start=dt.date(2026, 3, 2))
    b.open().session1().goal(GoalKind.READ_HANDOUTS)
    return json.loads(event_to_json(b.events[-1]))


def goal_event(template: dict, writer: int, n: int) -> dict:
    event = json.loads(json.dumps(template))
    event["event_id"] = f"{template['client_id']}-w{writer}-n{n}"
    event["goal"]["goal_id"] = f"{template['client_id']}-w{writer}-g{n}"
    return event


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.acknowledged: dict[str, set[str]] = {}
        self.conflicts = 0
        self.resends = 0
        self.resend_stored = 0
        self.unexpected: list[str] = []


async def writer(
    http: httpx.AsyncClient,
    number: int,
    clients: list[str],
    templates: dict[str, dict],
    versions: dict[str, int],
    deadline: float,
    tally: Tally,
) -> None:
    n = 0
    while time.perf_counter() < deadline:
        client = clients[(number + n) % len(clients)]
        event = goal_event(templates[client], number, n)
        n += 1
        while True:
            started = time.perf_counter()
            r = await http.post(
                f"/v1/clients/{client}/events",
                json=[event],
                headers={"If-Match": f'"{versions[client]}"'},
            )
            tally.latencies.append(time.perf_counter() - started)
            if r.status_code == 409:
                tally.conflicts += 1
                versions[client] = max(versions[client], int(r.json()["actual"]))
                continue
            if r.status_code != 201:
                tally.unexpected.append(f"{r.status_code} {r.text[:200]}")
                break
            versions[client] = max(versions[client], r.json()["version"])
            tally.acknowledged.setdefault(client, set()).add(event["event_id"])
            break
        if n % 5 == 0 and r.status_code == 201:
            started = time.perf_counter()
            again = await http.post(f"/v1/clients/{client}/events", json=[event])
            tally.latencies.append(time.perf_counter() - started)
            tally.resends += 1
            if again.status_code != 200 or again.json()["stored"]:
                tally.resend_stored += 1


async def run_load(base: str, token: str, args: argparse.Namespace) -> tuple[Tally, float]:
    clients = [f"load-c{i:03d}" for i in range(args.clients)]
    templates = {c: goal_template(c) for c in clients}
    limits = httpx.Limits(max_connections=args.writers, max_keepalive_connections=args.writers)
    async with httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(120.0),
        limits=limits,
    ) as http:
        for c in clients:
            (await http.post(f"/v1/clients/{c}/events", json=opening(c))).raise_for_status()
        versions = dict.fromkeys(clients, 2)
        tally = Tally()
        started = time.perf_counter()
        deadline = started + args.seconds
        await asyncio.gather(
            *(
                writer(http, w, clients, templates, versions, deadline, tally)
                for w in range(args.writers)
            )
        )
        elapsed = time.perf_counter() - started
        # Read every stream back and check it against what was acknowledged.
        problems = []
        for c in clients:
            stored = (await http.get(f"/v1/clients/{c}/events")).json()
            versions_seen = [s["version"] for s in stored]
            ids = [s["event"]["event_id"] for s in stored]
            if versions_seen != list(range(1, len(stored) + 1)):
                problems.append(f"{c}: versions are not dense from 1")
            if len(ids) != len(set(ids)):
                problems.append(f"{c}: an event id is stored twice")
            goals = set(ids[2:])
            acked = tally.acknowledged.get(c, set())
            if acked - goals:
                problems.append(f"{c}: {len(acked - goals)} acknowledged events lost")
            if goals - acked:
                problems.append(f"{c}: {len(goals - acked)} stored events never acknowledged")
        tally.unexpected.extend(problems)
        return tally, elapsed


def baseline(folder: Path, events: int) -> float:
    """Events recorded per second in-process through the façade, one writer, same store kind."""
    store = SqliteEventStore(str(folder / "baseline.db"), create=True)
    fama = Fama(store)
    client = "base-c001"
    fama.record([event_from_mapping(e) for e in opening(client)])
    template = goal_template(client)
    version = 2
    started = time.perf_counter()
    for n in range(events):
        done = fama.record(event_from_mapping(goal_event(template, 0, n)), expected_version=version)
        version = done.version
    elapsed = time.perf_counter() - started
    fama.close()
    return events / elapsed


REPORT_PERIODS = (
    (dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
    (dt.date(2026, 1, 1), dt.date(2026, 4, 30)),  # knowing the first
    (dt.date(2026, 1, 1), dt.date(2026, 3, 31)),  # the first again: from the ledger
    (dt.date(2026, 5, 1), dt.date(2026, 6, 30)),  # overlapping neither: alone
)
LONG_PERIODS = (
    (dt.date(2026, 2, 1), dt.date(2026, 5, 31)),  # knowing the first two (minutes)
    (dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
)


def _linked(released: list, period: tuple) -> list:
    """The released answers linked to ``period`` by a chain of overlapping periods (Q5)."""
    from fama_core.commissioning import overlap_of

    reached, linked = [period], []
    grew = True
    while grew:
        grew = False
        for a in released:
            if a not in linked and any(
                overlap_of((a.period_start, a.period_end), p) is not None for p in reached
            ):
                linked.append(a)
                reached.append((a.period_start, a.period_end))
                grew = True
    return [a for a in released if a in linked]


def report_case(clients: int, periods: tuple[tuple[dt.date, dt.date], ...]) -> int:
    """Time per protected report answer over HTTP against the same computation in-process."""
    from fama_adapters.report.bundle import build_report
    from fama_adapters.report.sample import area_caseload
    from fama_core.commissioning import AccessReport
    from fama_core.workflow import fold

    caseload = area_caseload(clients, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = SqliteEventStore(str(folder / "REP1.db"), create=True)
        for client, events in caseload.items():
            store.append(client, events, expected_version=0)
        store.close()
        token, _ = TokenFile(folder / "tokens.json").issue(agency="REP1", role="commissioner")
        proc, base = start(folder)
        served: list[tuple[float, int, dict | None]] = []
        try:
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
            ) as http:
                for start_day, end_day in periods:
                    params = {"from": start_day.isoformat(), "to": end_day.isoformat()}
                    began, asked = time.perf_counter(), 0
                    while True:
                        asked += 1
                        r = http.get("/v1/report", params=params)
                        if r.status_code != 503:
                            break
                        time.sleep(1)
                    if r.status_code not in (200, 409):
                        sys.exit(f"GET /v1/report {params}: {r.status_code} {r.text}")
                    body = r.json() if r.status_code == 200 else None  # 409: refused (Q7)
                    served.append((time.perf_counter() - began, asked, body))
                    print(
                        f"  served {params['from']}..{params['to']} in {served[-1][0]:.2f} s",
                        flush=True,
                    )
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
            proc.stdout.close()
    states = [fold(events) for events in caseload.values()]
    print(f"protected GET /v1/report: {clients} clients (cpus: {os.cpu_count()})")
    print("  period                   HTTP s  asked  in-process s  ratio  alone s  earlier")
    released: list[AccessReport] = []
    failed = False
    for (start_day, end_day), (seconds, asked, body) in zip(periods, served, strict=True):
        if body is None:
            print(f"  {start_day}..{end_day}  {seconds:6.2f}  {asked:5d}  refused (409)")
            continue
        repeated = body["release"]["repeated"]
        began = time.perf_counter()
        if repeated:
            local = next(
                a for a in released if (a.period_start, a.period_end) == (start_day, end_day)
            )
        else:
            linked = _linked(released, (start_day, end_day))
            local = build_report(
                area="Local area",
                as_of=dt.date.today(),
                caseload=states,
                meetings=None,
                period_start=start_day,
                period_end=end_day,
                earlier=linked,
            ).access
        in_process = time.perf_counter() - began
        began = time.perf_counter()
        build_report(
            area="x",
            as_of=dt.date.today(),
            caseload=states,
            meetings=None,
            period_start=start_day,
            period_end=end_day,
        )
        alone = time.perf_counter() - began
        same = local.model_dump(mode="json") == body["access"]
        failed |= not same
        ratio = "    —" if repeated else f"{seconds / in_process:5.1f}"
        known = "repeat" if repeated else str(len(linked))
        print(
            f"  {start_day}..{end_day}  {seconds:6.2f}  {asked:5d}  {in_process:12.2f}  "
            f"{ratio}  {alone:7.2f}  {known}{'' if same else '  ACCESS DIFFERS'}"
        )
        if not repeated:
            released.append(local)
    print("baseline: the same answers computed in-process (build_report with --earlier)")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=20, help="clients the writers share")
    parser.add_argument(
        "--report", action="store_true", help="time protected GET /v1/report answers instead"
    )
    parser.add_argument("--report-clients", type=int, default=40)
    parser.add_argument(
        "--report-long",
        action="store_true",
        help="also a period knowing two earlier answers, and one inside all three (minutes)",
    )
    args = parser.parse_args()
    if args.report:
        periods = REPORT_PERIODS + (LONG_PERIODS if args.report_long else ())
        return report_case(args.report_clients, periods)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        token, _ = TokenFile(folder / "tokens.json").issue(agency="LOAD1", role="keyworker")
        proc, base = start(folder)
        try:
            tally, elapsed = asyncio.run(run_load(base, token, args))
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
            proc.stdout.close()
        stored = sum(len(v) for v in tally.acknowledged.values())
        requests = len(tally.latencies)
        lat = sorted(tally.latencies)
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        base_rate = baseline(folder, min(max(stored, 200), 2000))
        audit_lines = sum(1 for _ in (folder / "audit.jsonl").open())
    print(
        f"fama serve on loopback: {args.writers} writers, {args.clients} shared clients, "
        f"{elapsed:.1f} s (cpus: {os.cpu_count()})"
    )
    print(f"  requests           {requests:,}  ({requests / elapsed:,.0f} requests/s)")
    print(f"  latency            p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"  events stored      {stored:,}  ({stored / elapsed:,.0f} events/s)")
    print(f"  409 conflicts      {tally.conflicts:,} (each retried with the new version)")
    print(f"  resent after ack   {tally.resends:,}, stored again: {tally.resend_stored}")
    print(f"  access-audit lines {audit_lines:,}")
    print(f"baseline: in-process Fama.record, one writer: {base_rate:,.0f} events/s")
    print(f"ratio (HTTP events/s ÷ in-process events/s): {stored / elapsed / base_rate:.2f}")
    if tally.unexpected or tally.resend_stored:
        print("LOST, DUPLICATED OR UNEXPECTED:")
        for line in tally.unexpected[:20]:
            print("  " + line)
        return 1
    print("no event lost, none stored twice")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
