"""Which parts of an event are what a person wrote: the fields erasure makes unreadable.

A field is *personal text* when its type is one of the models' typed-in text
types (:data:`~fama_core.models.Note`, free text, and ``ShortText``, such as a
meeting's name): both are validated by the same function that normalises what
a person typed, and that is how this module recognises them, from the models
themselves. So a field added later with one of those types is covered without
anyone remembering to list it here.

What stays readable, and why (``docs/data-protection.md`` has the table): ids
(pseudonymous keys that link events: goals, commitments, arrangements),
codes (steps, goal kinds, obstacles, organisations, outcomes), dates and
counts. They are what NDTMS history and the commissioners' counts are made
of, and without the host's link from its key to the person they say nothing
about who the client is.

Pure: this module only walks JSON. Encryption and keys belong to the stores.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Final, Union

from pydantic import BaseModel
from pydantic.functional_validators import AfterValidator

from fama_core import events as _events
from fama_core.models import _plain_spaces

__all__ = ["ERASED", "PERSONAL_FIELDS", "map_personal_text", "personal_text_of"]

ERASED: Final = "[erased]"
"""What a personal text reads as once its client's key is erased."""

_Plan = dict[str, tuple[str, Any]]
"""Per model: field name → ("text", None) | ("texts", None) | ("model", cls) | ("models", cls)."""


def _is_text(annotation: Any, metadata: list[Any]) -> bool:
    if any(isinstance(m, AfterValidator) and m.func is _plain_spaces for m in metadata):
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return any(
            isinstance(m, AfterValidator) and m.func is _plain_spaces
            for m in annotation.__metadata__
        )
    return False


def _shape(annotation: Any, metadata: list[Any]) -> tuple[str, Any] | None:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _shape(members[0], metadata)
        return None
    if origin is tuple:
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if len(args) == 1:
            inner = _shape(args[0], [])
            if inner is not None and inner[0] in ("text", "model"):
                return (inner[0] + "s", inner[1])
        return None
    if _is_text(annotation, metadata):
        return ("text", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("model", annotation)
    return None


_PLANS: dict[type[BaseModel], _Plan] = {}


def _plan(model: type[BaseModel]) -> _Plan:
    plan = _PLANS.get(model)
    if plan is None:
        plan = _PLANS[model] = {}
        for name, field in model.model_fields.items():
            shape = _shape(field.annotation, list(field.metadata))
            if shape is not None:
                plan[name] = shape
                if shape[1] is not None:
                    _plan(shape[1])
    return plan


_EVENT_CLASSES: Final = {
    cls.model_fields["kind"].default: cls
    for cls in typing.get_args(typing.get_args(_events.Event)[0])
}


def _paths(model: type[BaseModel], prefix: str) -> list[str]:
    out: list[str] = []
    for name, (what, inner) in _plan(model).items():
        path = f"{prefix}{name}"
        if what == "text":
            out.append(path)
        elif what == "texts":
            out.append(path + "[]")
        elif what == "model":
            out.extend(_paths(inner, path + "."))
        else:
            out.extend(_paths(inner, path + "[]."))
    return out


PERSONAL_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    kind: tuple(_paths(cls, "")) for kind, cls in _EVENT_CLASSES.items()
}
"""Each event kind's personal text fields, as paths (``entry.benefits[]``, ``steps[].note``)."""


def map_personal_text(data: Mapping[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    """A copy of one event's JSON with ``change`` applied to every personal text in it.

    Fields absent or ``None`` are left as they are; an unknown ``kind`` is
    returned unchanged (copied), for the decoder to refuse.
    """
    model = _EVENT_CLASSES.get(str(data.get("kind")))
    if model is None:
        return dict(data)
    return _walk(model, data, change)


def _walk(
    model: type[BaseModel], data: Mapping[str, Any], change: Callable[[str], str]
) -> dict[str, Any]:
    out = dict(data)
    for name, (what, inner) in _plan(model).items():
        value = out.get(name)
        if value is None:
            continue
        if what == "text" and isinstance(value, str):
            out[name] = change(value)
        elif what == "texts" and isinstance(value, list | tuple):
            out[name] = [change(v) if isinstance(v, str) else v for v in value]
        elif what == "model" and isinstance(value, Mapping):
            out[name] = _walk(inner, value, change)
        elif what == "models" and isinstance(value, list | tuple):
            out[name] = [_walk(inner, v, change) if isinstance(v, Mapping) else v for v in value]
    return out


def personal_text_of(data: Mapping[str, Any]) -> list[str]:
    """Every personal text in one event's JSON, in field order (for subject access)."""
    found: list[str] = []

    def keep(text: str) -> str:
        found.append(text)
        return text

    map_personal_text(data, keep)
    return found
