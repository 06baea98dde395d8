"""A writer process for the crash and concurrency tests: appends batches and acknowledges each.

    python store_writer.py URL NAME CLIENTS BATCHES SIZE

Appends BATCHES batches of SIZE events, round-robin over CLIENTS clients
(shared by every writer), re-reading the version after a conflict. Just before
each append it prints ``begin BATCH``; after the append returns,
``ack CLIENT VERSION BATCH`` (a line printed is a batch acknowledged); after a
conflict, ``conflict BATCH``. ``BATCHES`` 0 means "until killed".
"""

from __future__ import annotations

import sys
from itertools import count

from store_events import batch

from fama_adapters.store import open_store
from fama_core.errors import ConcurrencyConflict


def main() -> None:
    url, name, clients, batches, size = sys.argv[1:6]
    store = open_store(url)
    rounds = count() if int(batches) == 0 else range(int(batches))
    for n in rounds:
        client = f"c{n % int(clients)}"
        tag = f"{name}-b{n}"
        events = batch(client, tag, int(size))
        version = store.version(client)
        while True:
            print(f"begin {tag}", flush=True)
            try:
                result = store.append(client, events, expected_version=version)
                break
            except ConcurrencyConflict as conflict:
                print(f"conflict {tag}", flush=True)
                version = conflict.actual
        print(f"ack {client} {result.version} {tag}", flush=True)
    store.close()


if __name__ == "__main__":
    main()
