"""Issue 11: every free-text path into a FHIR bundle refuses what FHIR strings cannot carry.

Each string a client's state holds is poisoned in turn with a control character (VT, FS, NUL,
ESC): the bundle is then either refused with a MappingError, or carries no control character
at all. A path that skipped the check would let one through and fail this test.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from fama_adapters.fhir.mapping import client_bundle
from fama_core.errors import MappingError

POISON = "\x0b\x1c\x00\x1b"
Path = tuple[str | int, ...]


def _children(obj: Any) -> Iterator[tuple[str | int, Any]]:
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield name, getattr(obj, name)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield f.name, getattr(obj, f.name)
    elif isinstance(obj, tuple | list):
        yield from enumerate(obj)


def string_paths(obj: Any, path: Path = (), in_model: bool = False) -> Iterator[Path]:
    """Every string held by a pydantic model (directly or in its tuples).

    Strings the fold's own dataclasses hold are ids and codes copied from validated
    events (client, episode, keyworker, team, organisation): they cannot carry a
    control character, so they are not poisoned.
    """
    if isinstance(obj, str) and not isinstance(obj, enum.Enum):
        if in_model:
            yield path
        return
    for key, value in _children(obj):
        inside = isinstance(obj, BaseModel) or (in_model and isinstance(obj, tuple | list))
        yield from string_paths(value, (*path, key), inside)


def poisoned(obj: Any, path: Path) -> Any:
    """``obj`` with the string at ``path`` poisoned; models are re-validated on the way up."""
    if not path:
        return obj + POISON
    key, rest = path[0], path[1:]
    if isinstance(obj, tuple | list):
        items = list(obj)
        items[int(key)] = poisoned(items[int(key)], rest)
        return type(obj)(items)
    child = poisoned(getattr(obj, str(key)), rest)
    if isinstance(obj, BaseModel):
        # A value the model refuses cannot reach the mapper: the core refuses it at input.
        return type(obj).model_validate({**dict(obj), str(key): child})
    return dataclasses.replace(obj, **{str(key): child})


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def test_every_string_in_a_state_is_checked_or_refused_on_its_way_into_fhir(journeys) -> None:
    checked = refused_by_model = 0
    for _client, state, events in journeys:
        for path in string_paths(state):
            try:
                bad = poisoned(state, path)
            except ValidationError:
                refused_by_model += 1
                continue
            try:
                bundle = client_bundle(bad, events)
            except MappingError as exc:
                assert POISON not in str(exc)
                checked += 1
                continue
            # Not refused: then the poisoned value did not reach the bundle at all.
            leaked = [s for s in _strings(bundle) if any(c in s for c in POISON)]
            assert not leaked, f"{'.'.join(map(str, path))} reached FHIR with a control character"
            assert POISON not in json.dumps(bundle, ensure_ascii=False)
    assert checked > 10  # free text was found and refused, so the test can fail
    assert refused_by_model > 0
