"""Every error fama raises, under one base class.

Messages name the record, the field and the rule that failed; they never carry
the value that failed, because values may be special-category health data.

The tree::

    FamaError
    ├── InvalidRecord              a record did not match its schema (record, fields, why)
    │   └── UnknownSchemaVersion   an event is of a schema version newer than this fama reads
    ├── TransitionRefused          the workflow refused an event (state, event, unmet condition)
    ├── IdempotencyConflict        an event id was reused for a different event
    ├── InputUnreadable            an input could not be read as a whole (source, why)
    ├── CatalogueError             packaged or host catalogue data is inconsistent
    ├── WorkflowDefinitionError    the state/transition declaration is not well formed
    ├── EvolutionDefinitionError   the declared event upcasters have gaps, cycles or duplicates
    ├── StoreError                 an event store failed
    │   ├── ConcurrencyConflict    another writer appended first (expected version mismatch)
    │   └── ClientErased           the client was erased: its stream takes no new events
    ├── AdapterError               an adapter failed to map or talk to the outside world
    │   ├── PluginError            plugins clash or do not load
    │   ├── MappingError           a value cannot be mapped to or from an external format
    │   └── TransportError         a remote system failed or refused a request
    └── SubmissionError            an NDTMS submission row or file is invalid
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "AdapterError",
    "CatalogueError",
    "ClientErased",
    "ConcurrencyConflict",
    "EvolutionDefinitionError",
    "FamaError",
    "FieldProblem",
    "IdempotencyConflict",
    "InputUnreadable",
    "InvalidRecord",
    "MappingError",
    "PluginError",
    "StoreError",
    "SubmissionError",
    "TransitionRefused",
    "TransportError",
    "UNRECOGNISED_FIELD",
    "UnknownSchemaVersion",
    "WorkflowDefinitionError",
    "error_location",
    "invalid_record_from_pydantic",
    "plain_reason",
]


class FamaError(Exception):
    """Base class of every error fama raises.

    Subclasses take their details as keyword-only arguments and keep them as
    attributes, so a host can react to them without parsing the message.
    """


class FieldProblem(tuple[str, str, str]):
    """One problem with one field: ``(location, code, reason)``.

    ``location`` is a dotted path such as ``steps.2.status``; ``code`` is a
    stable machine code (pydantic's error type, or fama's own); ``reason`` is a
    human sentence that never quotes the offending value.
    """

    __slots__ = ()

    def __new__(cls, location: str, code: str, reason: str) -> FieldProblem:
        return super().__new__(cls, (location, code, reason))

    @property
    def location(self) -> str:
        """Dotted path of the field inside the record."""
        return self[0]

    @property
    def code(self) -> str:
        """Stable machine code of the problem."""
        return self[1]

    @property
    def reason(self) -> str:
        """Human-readable reason, free of the offending value."""
        return self[2]


class InvalidRecord(FamaError):
    """A record (an event, a meeting, a row) did not match its schema.

    ``record`` names the record (``"line 12"``, ``"event 3f2a…"``, ``"meetings[40]"``);
    ``problems`` lists each failing field.
    """

    def __init__(
        self,
        *,
        record: str,
        kind: str,
        problems: Sequence[FieldProblem],
        event_id: str | None = None,
    ) -> None:
        self.record = record
        self.kind = kind
        self.problems = tuple(problems)
        self.event_id = event_id
        """The record's event id when it could be read (a valid identifier), else ``None``."""
        detail = "; ".join(f"{p.location or '(record)'}: {p.reason}" for p in self.problems)
        super().__init__(f"{record}: invalid {kind}: {detail}")


class UnknownSchemaVersion(InvalidRecord):
    """An event declares a ``schema_version`` newer than this fama reads: upgrade fama.

    Nothing is guessed about a future version; the rest of a batch or log
    carries on as for any invalid record.
    """


class TransitionRefused(FamaError):
    """The workflow refused an event; the state is unchanged.

    ``state`` is the episode status the event met, ``event`` the event kind,
    ``condition`` the name of the unmet condition, ``detail`` a sentence saying
    why and ``fix`` one saying which fields or event would make it pass.
    """

    def __init__(
        self,
        *,
        state: str,
        event: str,
        condition: str,
        detail: str,
        event_id: str = "",
        fix: str = "",
    ) -> None:
        self.state = state
        self.event = event
        self.condition = condition
        self.detail = detail
        self.event_id = event_id
        self.fix = fix
        where = f" (event {event_id})" if event_id else ""
        to_fix = f"; to fix: {fix}" if fix and fix not in detail else ""
        super().__init__(f"{event} refused in state {state}{where}: {condition}: {detail}{to_fix}")


class IdempotencyConflict(FamaError):
    """An event id was sent again with different content.

    Re-sending the *same* event is harmless and changes nothing; re-using an id
    for a different event is a host bug, refused so that nothing is overwritten.
    """

    def __init__(self, *, event_id: str, event: str) -> None:
        self.event_id = event_id
        self.event = event
        super().__init__(
            f"event id {event_id} was already used for a different event; "
            f"a {event} event needs a new id"
        )


class InputUnreadable(FamaError):
    """An input (a file, a folder, a feed) could not be read as a whole; nothing of it was used.

    ``source`` names the input as the caller knows it (an option such as
    ``--events``, ``"line 12"``, ``"standard input"``), never its content;
    ``reason`` says why (missing, not permitted, not UTF-8, nested too deeply,
    a number or field too large …) without quoting any value.
    """

    def __init__(self, *, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class CatalogueError(FamaError):
    """Packaged or host-supplied catalogue data is inconsistent."""

    def __init__(self, *, entry: str, reason: str) -> None:
        self.entry = entry
        self.reason = reason
        super().__init__(f"catalogue entry {entry}: {reason}")


class WorkflowDefinitionError(FamaError):
    """The declaration of states and transitions is not well formed."""


class EvolutionDefinitionError(FamaError):
    """The declared event upcasters are not sound (gaps, cycles, duplicates, unknown kinds).

    ``problems`` lists every one, as sentences; raised when the events module
    is imported, so a bad declaration never reads a log.
    """

    def __init__(self, *, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("the event upcasters are not sound: " + "; ".join(self.problems))


class StoreError(FamaError):
    """An event store failed to read or append."""


class ConcurrencyConflict(StoreError):
    """Another writer appended to the stream first; nothing was written.

    Re-read the stream, re-decide, and append again with the new version.
    """

    def __init__(self, *, stream: str, expected: int, actual: int) -> None:
        self.stream = stream
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream}: expected version {expected} but it is at {actual}; "
            "nothing was appended"
        )


class ClientErased(StoreError):
    """The client was erased (crypto-shredded): its stream takes no new events.

    Not a failure to retry: a person who returns gets a new client key.
    """

    def __init__(self, *, client_id: str) -> None:
        self.client_id = client_id
        super().__init__(
            f"client {client_id} was erased; its stream takes no new events and its old "
            "ones are not sent again (a person who returns gets a new client key)"
        )


class AdapterError(FamaError):
    """An adapter failed to map data or to talk to an outside system."""


class PluginError(AdapterError):
    """Plugins clash (two claim one name) or fail to load."""


class MappingError(AdapterError):
    """A value cannot be mapped to or from an external format."""


class TransportError(AdapterError):
    """A remote system failed, timed out or refused a request."""


class SubmissionError(FamaError):
    """An NDTMS submission row or file is invalid."""


def _without_values(err: Any) -> str:
    """pydantic's message for one error with every input value in it cut out.

    Some messages quote what they met (a discriminator's tag: ``Input tag 'x'
    found using 'kind' …``; a custom validator may too): the value given, and
    the tag pydantic read from it, are replaced wherever they appear.
    """
    ctx = err.get("ctx") or {}
    if err.get("type") == "union_tag_invalid" and "expected_tags" in ctx:
        return f"not one of the expected values: {ctx['expected_tags']}"
    msg = str(err.get("msg", ""))
    quoted: list[str] = []
    given = err.get("input")
    if isinstance(given, str | int | float) and not isinstance(given, bool):
        quoted.append(str(given))
    if isinstance(ctx.get("tag"), str):
        quoted.append(ctx["tag"])
    for value in sorted(quoted, key=len, reverse=True):
        if len(value) >= 2:
            msg = msg.replace(value, "(the value given)")
    return msg


#: What a key looks like that may be shown: as fama's own field names are (a misspelling of
#: one is still spotted). Any other key the input chose is shown as :data:`UNRECOGNISED_FIELD`.
_FIELD_LIKE = re.compile(r"[a-z0-9_]{1,40}")

#: Shown for an unknown key that does not look like a field name (it may hold personal data).
UNRECOGNISED_FIELD = "(an unrecognised field)"


def error_location(err: Any) -> str:
    """The dotted location of one pydantic error, never quoting a key the input made up.

    An unknown key (``extra_forbidden``) is named only when it looks like a field
    name (1 to 40 of ``a-z``, ``0-9``, ``_``, as fama's own are), so a misspelt field
    is still spotted; any other key text (which may be a name, a note, anything)
    reads :data:`UNRECOGNISED_FIELD`.
    """
    parts = [str(part) for part in err.get("loc", ())]
    if err.get("type") == "extra_forbidden" and parts and not _FIELD_LIKE.fullmatch(parts[-1]):
        parts[-1] = UNRECOGNISED_FIELD
    return ".".join(parts)


def plain_reason(err: Any) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) in plain words.

    The same reason :func:`invalid_record_from_pydantic` gives: no input value
    in it (a discriminator's tag, a value a message would quote), pydantic's
    wording replaced where fama has plainer words. For adapters that meet
    pydantic's errors themselves (``fama serve``'s request checks).
    """
    code = str(err.get("type", "invalid"))
    return _plain_reason(code, _without_values(err), err.get("ctx") or {}, err.get("input"))


def invalid_record_from_pydantic(
    exc: Any,
    *,
    record: str,
    kind: str,
    extra: Iterable[FieldProblem] = (),
    event_id: str | None = None,
) -> InvalidRecord:
    """Turn a ``pydantic.ValidationError`` into an :class:`InvalidRecord`.

    Only the location, error type and a plain-words reason are kept; the input
    value is dropped so no personal data reaches a log or a screen. pydantic's
    wording is replaced where it would confuse a host ("Value error, …", a
    regular expression); a rule of fama's that names its fields
    (``"commitment, no_commitment_reason: …"``) gets them in its location.
    """
    problems: list[FieldProblem] = []
    for err in exc.errors(include_url=False):
        loc = error_location(err)
        code = str(err.get("type", "invalid"))
        if code in ("union_tag_invalid", "union_tag_not_found") and not loc:  # the tag itself
            loc = str((err.get("ctx") or {}).get("discriminator", "")).strip("'")
        reason = _plain_reason(code, _without_values(err), err.get("ctx") or {}, err.get("input"))
        if code == "value_error":
            named = _NAMED_FIELDS.match(reason)
            if named:
                fields, reason = named.group(1), named.group(2)
                loc = ", ".join(f"{loc}.{f}" if loc else f for f in fields.split(", "))
        problems.append(FieldProblem(loc, code, reason))
    problems.extend(extra)
    return InvalidRecord(record=record, kind=kind, problems=problems, event_id=event_id)


_NAMED_FIELDS = re.compile(r"^([a-z_][a-z0-9_.]*(?:, [a-z_][a-z0-9_.]*)*): (.+)$", re.S)

_PATTERNS = {
    r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$": (
        "must be an identifier: 1 to 64 letters, digits or . _ : - starting with a letter or digit"
    ),
    r"^[0-9a-f]{64}$": "must be 64 lower-case hexadecimal digits (a SHA-256 digest, as a seal is)",
    r"^[a-z0-9][a-z0-9_\-]{0,31}$": (
        "must be an organisation code: 1 to 32 lower-case letters, digits, _ or -, such as aa, "
        "na or smart (see the organisation codes in docs/event-reference.md)"
    ),
}

_PLAIN = {
    "missing": "required: this field is missing",
    "extra_forbidden": "not a field of this record (check the spelling and the event kind)",
    "json_invalid": "not a valid JSON document",
    "model_type": "must be an object with this record's fields",
    "model_attributes_type": "must be an object with this record's fields",
    "dict_type": "must be an object",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "date_from_datetime_inexact": "must be a date (YYYY-MM-DD) with no time",
    "timezone_aware": "must have a time zone (e.g. 2026-03-02T16:45:00+00:00)",
    "date_type": "must be a date written YYYY-MM-DD (e.g. 2026-03-02)",
    "date_parsing": "must be a real date written YYYY-MM-DD (e.g. 2026-03-02)",
    "date_from_datetime_parsing": "must be a real date written YYYY-MM-DD (e.g. 2026-03-02)",
    "datetime_type": "must be a date and time with a time zone (e.g. 2026-03-02T16:45:00+00:00)",
    "datetime_parsing": "must be a real date and time with a time zone "
    "(e.g. 2026-03-02T16:45:00+00:00)",
    "datetime_from_date_parsing": "must be a real date and time with a time zone "
    "(e.g. 2026-03-02T16:45:00+00:00)",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_parsing_size": "must be a whole number, and this one has too many digits",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "string_type": "must be text (a JSON string)",
}

_BOUNDS = {
    "string_too_long": "must be at most {max_length} characters",
    "string_too_short": "must be at least {min_length} character(s)",
    "too_long": "must have at most {max_length} item(s)",
    "too_short": "must have at least {min_length} item(s)",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
}


def _plain_reason(code: str, msg: str, ctx: Any, given: object = None) -> str:
    """pydantic's message in plain words, never quoting the input (``given`` is looked at
    only for its type)."""
    if code == "value_error":
        return msg.removeprefix("Value error, ")
    if code == "assertion_error":
        return msg.removeprefix("Assertion failed, ")
    if code == "string_pattern_mismatch":
        return _PATTERNS.get(str(ctx.get("pattern", "")), "does not have the expected form")
    if code in ("union_tag_invalid", "union_tag_not_found"):
        expected = ctx.get("expected_tags")
        if expected:
            return "must be one of: " + str(expected).replace("'", "")
        return "required: this field is missing (it names the record's kind)"
    if code in ("enum", "literal_error") and ctx.get("expected"):
        codes = str(ctx["expected"])
        if "'" in codes and not isinstance(given, str):
            # `"handouts_given": [1]` read "must be one of: 1, 2, …": the codes are text.
            return "must be one of these codes, written in quotes as text: " + codes.replace(
                "'", ""
            )
        return "must be one of: " + codes.replace("'", "")
    if code in _BOUNDS:
        try:
            return _BOUNDS[code].format(**ctx)
        except (KeyError, IndexError):
            return msg
    return _PLAIN.get(code, msg)
