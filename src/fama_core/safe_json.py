"""Decode JSON from outside without letting its shape crash fama.

:func:`json.loads` fails in more ways than :class:`json.JSONDecodeError`:
deeply nested arrays raise :class:`RecursionError`, a number of more than
4,300 digits a plain :class:`ValueError`, bytes that are not UTF-8 a
:class:`UnicodeDecodeError`; and a document just under the recursion limit
still crashes the first recursive walk over it. :func:`loads` turns each into
an :class:`~fama_core.errors.InputUnreadable` naming the source and the reason,
never a value, and refuses documents nested deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import json
from typing import Any

from fama_core.errors import InputUnreadable

__all__ = ["MAX_DEPTH", "loads", "nesting_depth"]

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted. fama's own documents (events,
FHIR bundles, meeting feeds, directories, requests) are under 12 deep."""


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply ``value`` nests lists and dicts, counting stops once past ``limit``.

    Iterative, so it cannot itself run out of stack.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def loads(text: str | bytes, *, source: str) -> Any:
    """Decode ``text`` as JSON; any way it cannot be is an :class:`InputUnreadable`.

    ``source`` names the input in the error (a file's name, ``"line 4"``).
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"not valid JSON (line {exc.lineno}, column {exc.colno}) ({exc.msg})"
        raise InputUnreadable(source=source, reason=reason) from None
    except UnicodeDecodeError:
        raise InputUnreadable(source=source, reason="not UTF-8 text") from None
    except RecursionError:
        raise InputUnreadable(
            source=source, reason=f"JSON nested more than {MAX_DEPTH} deep"
        ) from None
    except ValueError:  # the int-digits limit (sys.get_int_max_str_digits)
        raise InputUnreadable(source=source, reason="a number too long to read") from None
    if nesting_depth(value) > MAX_DEPTH:
        raise InputUnreadable(source=source, reason=f"JSON nested more than {MAX_DEPTH} deep")
    return value
