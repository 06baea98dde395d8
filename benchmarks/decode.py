"""Decoding benchmark: fama's event decoder over JSON lines, against its floors.

Decodes the JSON lines of N synthetic episodes of ten events each (the same
five journey shapes as ``replay.py``) with ``fama_core.events.event_from_json``,
and, over the same lines in the same run, the floors any decoder of these events
built on the design's packages pays at least:

- **parse only (pydantic-core)**: each whole line parsed and checked as JSON,
  nothing built;
- **jiter to Python objects**: ``pydantic_core.from_json``, plain dicts and lists;
- **json.loads**: the standard library's parser (the baseline the ratio is
  printed against);
- **plain pydantic models**: fama's own classes, fields and constraints with
  every custom validator taken out (no upcasting, no step or session checks, no
  space folding); its events are asserted equal to fama's.

Each figure is printed with the streaming fold (timed in the same run) added, so
the decode + fold aim of ``replay.py`` can be read against what each floor
allows. Then each event kind apart: fama's decoder, the plain models, jiter and
``json.loads``, µs per line.

Every figure is CPU time, best of :data:`replay.RUNS` runs.

Usage: python benchmarks/decode.py [--episodes 20000] [--kind-episodes 2000]
"""

from __future__ import annotations

import argparse
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from replay import RUNS, json_lines, synthetic_log, timed

from fama_core.events import _ADAPTER as EVENT_ADAPTER
from fama_core.events import _built_from_schema as built_from_schema
from fama_core.events import event_from_json
from fama_core.workflow import fold


def _plain_schema(node: Any) -> Any:
    """``node`` (a core schema) with every Python function validator taken out."""
    if isinstance(node, list):
        return [_plain_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") in ("function-before", "function-after", "function-wrap"):
        inner = _plain_schema(node["schema"])
        return {**inner, "ref": node["ref"]} if "ref" in node else inner
    assert node.get("type") != "function-plain", "a field validated by a function alone"
    return {key: _plain_schema(value) for key, value in node.items()}


def _models_in(node: Any, out: set[type]) -> set[type]:
    if isinstance(node, list):
        for item in node:
            _models_in(item, out)
    elif isinstance(node, dict):
        if node.get("type") == "model":
            out.add(node["cls"])
        for value in node.values():
            _models_in(value, out)
    return out


def plain_models() -> Any:
    """A validator of fama's events as plain pydantic models: the same classes, fields and
    constraints (patterns, lengths, enums, the tagged union on ``kind``), with none of the
    custom validators (no upcasting, no step or session checks, no space folding)."""
    schema = _plain_schema(EVENT_ADAPTER.core_schema)
    # Built from this schema, not each class's own ("prebuilt") validator (fama_core.events).
    return built_from_schema(schema, _models_in(schema, set()))


def decode_floors(lines: list[list[str]], events: int) -> dict[str, float]:
    """µs/event of decoding the lines (no fold) and of its floors, each best of RUNS."""
    from pydantic_core import SchemaValidator, core_schema, from_json

    parse = SchemaValidator(core_schema.typed_dict_schema({}, extra_behavior="ignore"))
    plain = plain_models()
    sample = [line for episode in lines[:50] for line in episode]
    assert [plain.validate_json(x) for x in sample] == [event_from_json(x) for x in sample]
    assert all(parse.validate_json(x) == {} for x in sample)
    floors: dict[str, Callable[[str], Any]] = {
        # pydantic-core's own parse of each whole line (it refuses bad JSON), keeping nothing
        "parse only (pydantic-core)": lambda x: parse.validate_json(x),
        "jiter to Python objects": from_json,
        "json.loads": json.loads,
        "plain pydantic models": lambda x: plain.validate_json(x),
        "fama's decoder": event_from_json,
    }
    out = {}
    for name, decode in floors.items():

        def each_episode(decode: Callable[[str], Any] = decode) -> list[int]:
            return [len([decode(x) for x in episode]) for episode in lines]

        seconds, counts = timed(each_episode, runs=RUNS)
        assert sum(counts) == events
        out[name] = seconds / events * 1e6
    return out


def decode_by_kind(
    lines: list[list[str]], kind_episodes: int
) -> list[tuple[str, int, int, list[float]]]:
    """Per event kind: its lines' count and mean length, and µs/line of fama's decoder, the
    plain models, jiter and json.loads (best of RUNS each, lines of the first ``kind_episodes``
    episodes,
    each result let go at once)."""
    from pydantic_core import from_json

    plain = plain_models()
    by_kind: dict[str, list[str]] = {}
    for episode in lines[:kind_episodes]:
        for line in episode:
            by_kind.setdefault(json.loads(line)["kind"], []).append(line)
    rows = []
    for kind, group in by_kind.items():
        figures = []
        decoders: list[Callable[[str], Any]] = [
            event_from_json,
            plain.validate_json,
            from_json,
            json.loads,
        ]
        for decode in decoders:

            def each_line(decode: Callable[[str], Any] = decode, group: list[str] = group) -> Any:
                # Streaming: each result let go at once (a list of them all would time the
                # garbage collector's passes over it, which grow with the group).
                return deque(map(decode, group), maxlen=0)

            seconds, _ = timed(each_line, runs=RUNS)
            figures.append(seconds / len(group) * 1e6)
        rows.append((kind, len(group), sum(map(len, group)) // len(group), figures))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20_000)
    parser.add_argument("--kind-episodes", type=int, default=2_000, help="for the per-kind table")
    args = parser.parse_args()

    log = synthetic_log(args.episodes)
    events = sum(len(e) for e in log)
    lines = json_lines(log)
    print(f"log: {args.episodes:,} episodes, {events:,} JSON lines")
    print(f"times: CPU seconds of this process, best of {RUNS} runs, for every figure")

    stream_s, statuses = timed(lambda: [fold(episode).status for episode in log], runs=RUNS)
    decoded = [fold([event_from_json(x) for x in ep]).status for ep in lines]
    assert decoded == statuses, "JSON lines must fold as the events they were written from"
    fold_us = stream_s / events * 1e6
    floors = decode_floors(lines, events)
    by_kind = decode_by_kind(lines, args.kind_episodes)

    print(f"fold alone, streaming (for the sums):  {fold_us:.2f} µs/event")
    print("decoding alone (no fold), µs/event over the same lines; with the fold; x json.loads")
    for name, us in floors.items():
        print(
            f"  {name:<28} {us:>6.2f}   {us + fold_us:>6.2f}   "
            f"({us / floors['json.loads']:.2f}x json.loads)"
        )
    fama_us = floors["fama's decoder"]
    print(
        f"ratio fama's decoder / plain pydantic models: "
        f"{fama_us / floors['plain pydantic models']:.2f}x (time)"
    )
    print(f"ratio fama's decoder / json.loads: {fama_us / floors['json.loads']:.2f}x (time)")
    print("per kind, µs/line: fama's decoder, plain models, jiter, json.loads (lines, bytes)")
    for kind, count, size, figures in by_kind:
        print(
            f"  {kind:<24} " + " ".join(f"{f:>5.2f}" for f in figures) + f"  ({count:,}, {size} B)"
        )


if __name__ == "__main__":
    main()
