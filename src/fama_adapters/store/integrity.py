"""Tamper evidence: each stream is a hash chain, and :func:`verify_events` checks it.

Every stored event records ``prev_hash``, the hash of the event before it in
its stream (:data:`GENESIS` for version 1), and ``hash``, the SHA-256 of that
predecessor's hash with the event's stream, version, id, storage time and
stored JSON (:func:`event_hash`). The stores keep each stream's head (its
version and last hash) in a table of their own, updated in the same
transaction as the append.

So an event edited outside fama no longer matches its hash; one removed leaves
a gap in the versions and a broken link (or, at the end of a stream, a head
that points past it); two swapped break their links and are recognised as
moved. :func:`verify_events` reports each with the stream and version, never
the content. The hashes carry no secret: someone who rewrites a row *and*
recomputes every later hash and the head is not caught by the store alone.
That is what the *seal* is for: a digest of every stream's head, printed by
``fama verify``; kept outside the store (an audit log, a ticket, a printed
report), it shows later that nothing was removed or rewritten since.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fama_adapters.store import StoredEvent

__all__ = [
    "GENESIS",
    "IntegrityProblem",
    "VerifyReport",
    "canonical_time",
    "chain",
    "event_hash",
    "seal_of",
    "verify_events",
]

GENESIS = "0" * 64
"""The ``prev_hash`` of the first event of every stream."""


def canonical_time(moment: dt.datetime) -> str:
    """``moment`` in UTC as ISO 8601, the form every store hashes (and SQLite stores).

    A time without a zone (only ever written around fama) is taken as UTC, never as the
    machine's local time, so a hash does not depend on where it is computed."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat()


def event_hash(
    prev_hash: str,
    client_id: str,
    version: int,
    event_id: str,
    stored_at: dt.datetime,
    payload: str,
) -> str:
    """The hash of one stored event given its predecessor's: SHA-256, hex.

    Each part is length-prefixed, so no two different events hash alike by
    moving characters between fields.
    """
    parts = [
        p.encode("utf-8")
        for p in (prev_hash, client_id, str(version), event_id, canonical_time(stored_at), payload)
    ]
    return hashlib.sha256(b"".join(len(p).to_bytes(8, "big") + p for p in parts)).hexdigest()


def chain(
    prev_hash: str,
    client_id: str,
    first_version: int,
    stored_at: dt.datetime,
    items: Iterable[tuple[str, str]],
) -> list[tuple[str, str]]:
    """``(prev_hash, hash)`` for each ``(event_id, payload)`` appended from ``first_version`` on."""
    out: list[tuple[str, str]] = []
    for version, (event_id, payload) in enumerate(items, start=first_version):
        current = event_hash(prev_hash, client_id, version, event_id, stored_at, payload)
        out.append((prev_hash, current))
        prev_hash = current
    return out


def seal_of(heads: Mapping[str, tuple[int, str]]) -> str:
    """A digest of every stream's head ``{client_id: (version, hash)}``: the store's seal."""
    h = hashlib.sha256()
    for client_id in sorted(heads):
        version, head = heads[client_id]
        for part in (client_id, str(version), head):
            data = part.encode("utf-8")
            h.update(len(data).to_bytes(8, "big"))
            h.update(data)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class IntegrityProblem:
    """One finding of :func:`verify_events`: where, what, and a sentence without any content."""

    client_id: str
    version: int | None
    """The version concerned (``None`` for a finding about the whole stream)."""
    problem: str
    """``edited``, ``removed``, ``moved``, ``head`` or ``damaged``."""
    detail: str

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "client_id": self.client_id,
            "version": self.version,
            "problem": self.problem,
            "detail": self.detail,
        }


@dataclass
class VerifyReport:
    """What :func:`verify_events` found, and the seal of the heads it checked."""

    streams: int = 0
    events: int = 0
    problems: list[IntegrityProblem] = field(default_factory=list)
    seal: str = ""
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Each stream's head as the events show it (version, last hash)."""

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.problems


_COLUMNS_IN_PAYLOAD = ("event_id", "episode_id", "kind")


def _columns_agree(e: StoredEvent) -> bool:
    """Whether the indexed columns say what the stored JSON says (one may be edited alone)."""
    try:
        data = json.loads(e.payload)
    except ValueError:
        return False
    if not isinstance(data, dict) or data.get("client_id") != e.client_id:
        return False
    if any(data.get(name) != getattr(e, name) for name in _COLUMNS_IN_PAYLOAD):
        return False
    return data.get("occurred_on") == e.occurred_on.isoformat() and _same_instant(
        data.get("recorded_at"), e.recorded_at
    )


def _same_instant(text: object, moment: dt.datetime) -> bool:
    if not isinstance(text, str):
        return False
    try:
        return dt.datetime.fromisoformat(text) == moment
    except ValueError:
        return False


def _verify_stream(
    client_id: str,
    rows: list[StoredEvent],
    head: tuple[int, str] | None,
    report: VerifyReport,
    heads_kept: bool,
) -> None:
    """Check one stream: each row against its hash, each link, the versions, the head.

    A row whose hash holds at another version than its own was *moved*; one
    whose hash holds nowhere was *edited* (taken to be at its own version).
    Versions then missing between 1 and the last one (or the head's) were
    *removed*. A link to a predecessor that is present but has another hash
    means the predecessor was rewritten, hash and all.
    """
    problems = report.problems
    by_original: dict[int, StoredEvent] = {}
    verified: set[int] = set()
    for r in rows:
        recomputed = event_hash(
            r.prev_hash, client_id, r.version, r.event_id, r.stored_at, r.stored_payload
        )
        original = r.version
        if recomputed == r.hash:
            verified.add(r.version)
            if not _columns_agree(r):
                problems.append(
                    IntegrityProblem(
                        client_id,
                        r.version,
                        "edited",
                        "the indexed columns no longer agree with the stored event",
                    )
                )
        else:
            moved_from = _moved_from(r, len(rows))
            if moved_from is not None:
                original = moved_from
                verified.add(original)
                problems.append(
                    IntegrityProblem(
                        client_id,
                        r.version,
                        "moved",
                        f"the event stored as version {moved_from} is now at version {r.version}",
                    )
                )
            else:
                problems.append(
                    IntegrityProblem(
                        client_id,
                        r.version,
                        "edited",
                        "the stored event no longer matches its hash",
                    )
                )
        by_original.setdefault(original, r)
    last_version = max(by_original, default=0)
    if heads_kept and head is not None:
        last_version = max(last_version, head[0])
    missing = [v for v in range(1, last_version + 1) if v not in by_original]
    for first, final in _ranges(missing):
        what = f"version {first}" if first == final else f"versions {first} to {final}"
        problems.append(IntegrityProblem(client_id, first, "removed", f"{what} missing"))
    for version in sorted(verified):
        r = by_original[version]
        before = by_original.get(version - 1) if version > 1 else None
        expected = GENESIS if version == 1 else (before.hash if before is not None else None)
        if expected is not None and r.prev_hash != expected:
            problems.append(
                IntegrityProblem(
                    client_id,
                    version - 1,
                    "edited",
                    "the event was rewritten: the event after it links to another",
                )
            )
    top = max(by_original, default=0)
    last = (top, by_original[top].hash) if top else (0, GENESIS)
    report.heads[client_id] = last
    if not heads_kept:
        return
    if head is None:
        if rows:
            problems.append(
                IntegrityProblem(client_id, None, "head", "the stream has no head record")
            )
    elif head[0] == top and head[1] != last[1]:
        problems.append(
            IntegrityProblem(
                client_id, None, "head", "the stream's head does not match its last event"
            )
        )


def _ranges(numbers: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in numbers:
        if out and out[-1][1] == n - 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def _moved_from(r: StoredEvent, size: int) -> int | None:
    """The version a row was stored at, if it only moved (its hash holds at that version).

    Tries every version the stream could have had; only rows that fail their
    hash get here, and streams are short, so this stays cheap.
    """
    if size > 5000:  # pragma: no cover - a safeguard for vast streams: call it edited
        return None
    for version in range(1, size + 2):
        if version != r.version and r.hash == event_hash(
            r.prev_hash, r.client_id, version, r.event_id, r.stored_at, r.stored_payload
        ):
            return version
    return None


def verify_events(
    events: Iterable[StoredEvent],
    heads: Mapping[str, tuple[int, str]] | None = None,
    damaged: Iterable[IntegrityProblem] = (),
) -> VerifyReport:
    """Check every stream's hash chain (events ordered by client and version).

    ``heads`` is the store's head table (``None`` when the store keeps none:
    then only the chains are checked); a stream missing from it, or a head
    past the stream's last event, is reported. ``damaged`` are rows the store
    could not even read, reported as found (read after ``events``, so a
    store may fill it while the events are read). The report's seal is
    computed from the heads the events show.
    """
    report = VerifyReport()
    current: str | None = None
    rows: list[StoredEvent] = []
    seen: set[str] = set()

    def finish() -> None:
        if current is not None:
            report.streams += 1
            seen.add(current)
            _verify_stream(
                current,
                rows,
                None if heads is None else heads.get(current),
                report,
                heads is not None,
            )

    for e in events:
        report.events += 1
        if e.problem:  # a row that no longer reads as an event
            detail = e.problem.split(": ", 1)[1] if ": " in e.problem else e.problem
            report.problems.append(
                IntegrityProblem(e.client_id, e.version or None, "edited", detail)
            )
            continue
        if e.client_id != current:
            finish()
            current, rows = e.client_id, []
        rows.append(e)
    finish()
    report.problems[:0] = list(damaged)  # first, so a damaged row is reported as such
    if heads is not None:
        for client_id in sorted(set(heads) - seen):
            version, _ = heads[client_id]
            report.problems.append(
                IntegrityProblem(
                    client_id,
                    1,
                    "removed",
                    f"the head says version {version} but the stream has no events",
                )
            )
    once: dict[tuple[str, int | None], IntegrityProblem] = {}
    for p in report.problems:  # a damaged row also leaves a gap: report each version once
        key = (p.client_id, p.version) if p.version is not None else (p.client_id + p.detail, None)
        once.setdefault(key, p)
    report.problems = sorted(once.values(), key=lambda p: (p.client_id, p.version or 0))
    report.seal = seal_of(report.heads)
    return report
