"""Store replay benchmark: ``Fama.replay`` from the SQLite event store, against JSON lines.

Records N synthetic episodes of ten events each (the five journey shapes of
``replay.py``, event ids made unique) in a SQLite store, hash-chained and with
personal text encrypted, then times ``Fama(store).replay()`` (read every row,
open the encrypted text, decode, fold) and ``store.verify()`` (every chain
re-hashed). The baseline, in the same run, decodes the same episodes from JSON
lines in memory and folds them. CPU time.

Usage: python benchmarks/store_replay.py [--episodes 20000]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from replay import json_lines, synthetic_log, timed

from fama_core.events import Event, event_from_json
from fama_core.workflow import fold


def store_replay(log: Sequence[Sequence[Event]], sample: int) -> None:
    """Replay from the SQLite store, hash-chained and with personal text encrypted, against
    decoding the same episodes from JSON lines and folding them, in the same run.

    The store's replay reads every row (joining each client's key), opens the encrypted
    text, decodes and folds; the baseline decodes and folds the same events from lines in
    memory. ``verify`` (every chain re-hashed) is timed too.
    """
    from fama_adapters.facade import Fama
    from fama_adapters.store.sqlite import SqliteEventStore

    episodes = [
        [e.model_copy(update={"event_id": f"{e.client_id}-{e.event_id}"}) for e in ep]
        for ep in log[:sample]
    ]
    lines = json_lines(episodes)
    with tempfile.TemporaryDirectory(prefix="fama-replay-") as tmp:
        store = SqliteEventStore(Path(tmp) / "replay.db", synchronous="NORMAL")
        load_s, _ = timed(
            lambda: [
                store.append_many([(ep[0].client_id, ep, 0) for ep in episodes[i : i + 500]])
                for i in range(0, len(episodes), 500)
            ]
        )
        json_s, _ = timed(lambda: [fold([event_from_json(x) for x in ep]).status for ep in lines])
        replay_s, summary = timed(Fama(store).replay)
        verify_s, report = timed(store.verify)
        store.close()
    assert summary.problems == [] and summary.clients == sample and report.ok
    events = sum(len(ep) for ep in episodes)
    print(
        f"store (SQLite, hash-chained, encrypted): {sample:,} episodes, {events:,} events "
        f"recorded in {load_s:.2f}s"
    )
    print(f"  JSON lines decode + fold       {sample / json_s:>10,.0f} episodes/s ({json_s:.2f}s)")
    print(
        f"  Fama.replay from the store     {sample / replay_s:>10,.0f} episodes/s ({replay_s:.2f}s)"
    )
    print(
        f"  store.verify (every chain)     {sample / verify_s:>10,.0f} episodes/s ({verify_s:.2f}s)"
    )
    print(f"  ratio store replay / JSON lines time {replay_s / json_s:>6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20_000)
    args = parser.parse_args()
    log = synthetic_log(args.episodes)
    store_replay(log, args.episodes)


if __name__ == "__main__":
    main()
