"""Crash safety and concurrent writer processes on the persistent stores (SQLite, PostgreSQL).

A writer process is killed with SIGKILL while it appends: every batch it had
acknowledged is stored, and no batch is stored in part. Several writer
processes racing on the same clients lose nothing and keep versions dense.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from fama_adapters.store import open_store

HERE = Path(__file__).parent
WRITER = HERE / "store_writer.py"
SIZE = 200  # big batches, so the kill most likely lands inside one


def _writer(
    url: str, name: str, clients: int, batches: int, size: int, slow: bool = False
) -> subprocess.Popen[str]:
    extra = ["slow"] if slow else []
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    return subprocess.Popen(
        [sys.executable, str(WRITER), url, name, str(clients), str(batches), str(size), *extra],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _whole_batches(url: str, size: int) -> tuple[Counter[str], dict[str, int]]:
    """Events per batch tag, and each client's version; asserts versions are dense."""
    store = open_store(url)
    try:
        per_batch: Counter[str] = Counter()
        versions: dict[str, int] = {}
        for e in store.stream_all():
            versions[e.client_id] = versions.get(e.client_id, 0) + 1
            assert e.version == versions[e.client_id], "versions must be dense"
            per_batch[e.event_id.split("-", 1)[1].rsplit("-", 1)[0]] += 1
        return per_batch, versions
    finally:
        store.close()


def test_a_writer_killed_mid_run_loses_no_acknowledged_batch_and_leaves_no_half_batch(store_url):
    open_store(store_url, create=True).close()
    writer = _writer(store_url, "w", clients=3, batches=0, size=SIZE, slow=True)
    acknowledged: list[tuple[str, int, str]] = []
    assert writer.stdout is not None
    for line in writer.stdout:
        word, *rest = line.split()
        if word == "ack":
            client, version, tag = rest
            acknowledged.append((client, int(version), tag))
        elif word == "begin":
            in_flight = rest[0]
        elif word == "inserting" and len(acknowledged) >= 4:
            # The writer's transaction is inserting the batch's rows, slowed to
            # about a millisecond each: kill it there.
            writer.send_signal(signal.SIGKILL)
            break
    writer.wait()
    writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    per_batch, versions = _whole_batches(store_url, SIZE)
    for client, version, tag in acknowledged:
        assert per_batch[tag] == SIZE, f"acknowledged batch {tag} is not whole"
        assert versions[client] >= version
    assert all(count == SIZE for count in per_batch.values()), "a half batch was stored"
    # The batch in flight is there whole (its commit beat the kill) or not at all.
    assert per_batch.get(in_flight, 0) in (0, SIZE)
    assert set(per_batch) - {tag for _, _, tag in acknowledged} <= {in_flight}


def test_writer_processes_racing_on_shared_clients_lose_nothing(store_url):
    open_store(store_url, create=True).close()
    writers = [_writer(store_url, f"p{n}", clients=2, batches=6, size=5) for n in range(3)]
    lines = []
    for w in writers:
        out, _ = w.communicate(timeout=120)
        assert w.returncode == 0
        lines += out.split("\n")
    per_batch, versions = _whole_batches(store_url, 5)
    assert len(per_batch) == 18 and set(per_batch.values()) == {5}
    assert sum(versions.values()) == 18 * 5
    acks = [line.split() for line in lines if line.startswith("ack")]
    assert len(acks) == 18
    # every acknowledged version is a distinct point in its client's stream
    assert len({(client, version) for _, client, version, _ in acks}) == 18
