"""Redaction in the views for people: every free-text field of the state is covered."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.views import FREE_TEXT_KEYS, REDACTED, client_view, redact
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind
from fama_core.state import STATE_ADAPTER
from fama_core.workflow import fold


def _free_text_names(schema) -> set[str]:
    """Property names whose schema is a string of at most 2,000 characters (fama's Note)."""
    found: set[str] = set()

    def is_note(s) -> bool:
        options = s.get("anyOf", [s])
        return any(
            o.get("maxLength") == 2000 or o.get("items", {}).get("maxLength") == 2000
            for o in options
        )

    def walk(node) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if is_note(sub):
                    found.add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return found


def test_every_free_text_field_of_the_state_is_redacted():
    names = _free_text_names(STATE_ADAPTER.json_schema())
    assert names and names <= FREE_TEXT_KEYS


def test_client_view_hides_free_text_unless_revealed():
    b = JourneyBuilder("c1", keyworker_id="kw-1", start=dt.date(2026, 3, 2))
    b.open().session1().goal(GoalKind.OTHER, description="private words")
    state = fold(b.events)
    assert "private words" not in str(client_view(state))
    assert REDACTED in str(client_view(state))
    assert "private words" in str(client_view(state, reveal=True))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["note", "kind", "reactions", "benefits", "x"]), inner, max_size=3
        )
    ),
    max_leaves=10,
)


@settings(max_examples=100)
@given(value=json_values)
def test_redact_leaves_no_free_text_string_under_a_free_text_key(value):
    def check(node) -> None:
        if isinstance(node, dict):
            for key, item in node.items():
                if key in FREE_TEXT_KEYS:
                    strings = [item] if isinstance(item, str) else item
                    if isinstance(strings, list):
                        assert all(i == REDACTED for i in strings if isinstance(i, str))
                check(item)
        elif isinstance(node, list):
            for item in node:
                check(item)

    check(redact(value))
    assert redact(value, reveal=True) == value
