"""Event schema versions and the upcasters that bring older events up to date, in one place.

Every event kind carries a ``schema_version``. An event is stored exactly as it
was written and never rewritten; when an older version is read, the chain of
upcasters declared in :data:`UPCASTERS` turns its JSON, step by step, into the
current version before it is validated. So a log written years ago folds with
today's code, and the stored bytes (and the hash chain over them) stay as
they were.

The policy (``docs/events.md``, "How events evolve"):

* adding an optional field whose absence means "not recorded" needs no new
  version: older events simply lack it;
* any other change to a kind's fields (a field renamed, split, given a new
  shape or meaning) raises that kind's version by one and adds one upcaster
  ``(kind, n, n + 1)`` here;
* a kind is never renamed or removed: a new meaning is a new kind, and the old
  one stays readable;
* upcasters are pure functions of one event's JSON: no I/O, no clock, no other
  events; they never change ``kind``.

:class:`UpcasterChain` checks the declaration when it is built (the events
module builds it when it is imported): every version from 1 to the current
one has exactly one upcaster to the next, none skips a version, goes back
(a cycle) or beyond the current version, and each names a known kind. A
version newer than the current one is an error that says to upgrade fama.
Unlike the workflow's rules, an event's JSON has no other home than the log,
so a bad declaration must stop fama before it reads anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic_core import PydanticCustomError

from fama_core.errors import EvolutionDefinitionError

__all__ = [
    "FIRST_VERSION",
    "UPCASTERS",
    "Upcaster",
    "UpcasterChain",
    "check_chain",
]

FIRST_VERSION: Final = 1
"""The version of an event stored without a ``schema_version`` (every event before fama 0.2)."""

UpcastFunction = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Upcaster:
    """Turns the JSON of version ``from_version`` of ``kind`` into ``to_version``.

    ``function`` receives a fresh ``dict`` it may change and returns the new
    event's ``dict`` (the chain sets ``schema_version`` afterwards). ``why``
    says what changed, for ``docs/events.md`` and reviewers.
    """

    kind: str
    from_version: int
    to_version: int
    function: UpcastFunction
    why: str


UPCASTERS: Final[tuple[Upcaster, ...]] = ()
"""Every upcaster fama has ever needed, oldest first.

Empty while every kind is at version 1 (fama 0.2). The first one goes here,
with a test that upcasts a corpus line of the older version.
"""


class UpcasterChain:
    """The declared upcasters of every kind, checked when built, applied when an event is read.

    ``current`` maps each event kind to its current version (the events
    module reads it from each model's ``schema_version``). Raises
    :class:`~fama_core.errors.EvolutionDefinitionError` listing every
    problem (gaps, duplicates, cycles, versions beyond the current one,
    unknown kinds) at once.
    """

    def __init__(self, current: Mapping[str, int], upcasters: Iterable[Upcaster]) -> None:
        self.current: dict[str, int] = dict(current)
        self.upcasters: tuple[Upcaster, ...] = tuple(upcasters)
        self._steps: dict[tuple[str, int], Upcaster] = {}
        problems = check_chain(self.current, self.upcasters)
        if problems:
            raise EvolutionDefinitionError(problems=problems)
        self._steps = {(u.kind, u.from_version): u for u in self.upcasters}

    def version_of(self, data: Mapping[str, Any]) -> int:
        """The schema version a decoded event declares (1 when it declares none).

        Raises ``PydanticCustomError`` ``schema_version_invalid`` when it is not a
        whole number from 1 (the value itself is never quoted).
        """
        version = data.get("schema_version", FIRST_VERSION)
        if type(version) is not int or version < FIRST_VERSION:
            raise PydanticCustomError(
                "schema_version_invalid", "schema_version must be a whole number from 1"
            )
        return version

    def upcast(self, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """``data`` (one event's JSON, of kind ``kind``) brought to the kind's current version.

        An event already current comes back as it is (copied). A version newer
        than this fama knows raises ``PydanticCustomError``
        ``future_schema_version``; an upcaster that fails on malformed old
        data raises ``upcast_failed``. Neither message quotes a value.
        """
        current = self.current.get(kind, FIRST_VERSION)
        version = self.version_of(data)
        if version > current:
            raise PydanticCustomError(
                "future_schema_version",
                "schema_version {version} of {kind} is newer than this fama reads "
                "(up to {current}): upgrade fama to read it",
                {"version": version, "kind": kind, "current": current},
            )
        out = dict(data)
        while version < current:
            step = self._steps[(kind, version)]
            try:
                out = step.function(dict(out))
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                raise PydanticCustomError(
                    "upcast_failed",
                    "version {version} of {kind} could not be upgraded to {next}: "
                    "the stored event lacks what the upgrade needs ({error})",
                    {
                        "version": version,
                        "kind": kind,
                        "next": step.to_version,
                        "error": type(exc).__name__,
                    },
                ) from None
            if out.get("kind", kind) != kind:
                raise PydanticCustomError(
                    "upcast_failed",
                    "the upgrade of {kind} from version {version} changed its kind; "
                    "a new meaning is a new kind, never an upcast",
                    {"version": version, "kind": kind},
                )
            version = step.to_version
            out["schema_version"] = version
        if current > FIRST_VERSION:
            out["schema_version"] = current
        return out


def check_chain(current: Mapping[str, int], upcasters: Iterable[Upcaster]) -> list[str]:
    """Every problem with a declaration of upcasters, as sentences (empty when it is sound).

    Sound means: each upcaster names a known kind and goes from a version ``n``
    (at least 1) to ``n + 1``, never beyond the kind's current version; no two
    start from the same version of a kind; and every version from 1 up to the
    current one has its upcaster, so any stored version reaches the current one.
    """
    problems: list[str] = []
    seen: dict[tuple[str, int], Upcaster] = {}
    for u in upcasters:
        label = f"upcaster {u.kind} {u.from_version}->{u.to_version}"
        if u.kind not in current:
            problems.append(f"{label}: no event kind {u.kind}")
            continue
        if u.from_version < FIRST_VERSION:
            problems.append(f"{label}: versions start at {FIRST_VERSION}")
            continue
        if u.to_version <= u.from_version:
            problems.append(f"{label}: goes back or stays put (a cycle)")
            continue
        if u.to_version != u.from_version + 1:
            problems.append(f"{label}: skips a version (a gap); upcast one version at a time")
            continue
        if u.to_version > current[u.kind]:
            problems.append(f"{label}: beyond the current version {current[u.kind]} of {u.kind}")
            continue
        if (u.kind, u.from_version) in seen:
            problems.append(f"{label}: a second upcaster from version {u.from_version}")
            continue
        seen[(u.kind, u.from_version)] = u
    for kind, version in sorted(current.items()):
        if version < FIRST_VERSION:
            problems.append(f"{kind}: current version {version} is below {FIRST_VERSION}")
            continue
        for missing in range(FIRST_VERSION, version):
            if (kind, missing) not in seen:
                problems.append(
                    f"{kind}: no upcaster from version {missing} to {missing + 1} (a gap)"
                )
    return problems
