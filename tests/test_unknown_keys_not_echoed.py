"""An unknown key is named only when it looks like a field name; no other key text is shown.

A key can carry personal data (a client's name typed as a key, a note). The
decoder and ``fama serve`` used to echo any unknown key in the location
(``arrangement.<key>: not a field of this record``).
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fama_core.builders import JourneyBuilder
from fama_core.errors import UNRECOGNISED_FIELD, InvalidRecord
from fama_core.events import event_from_json, event_to_json

FIELD_LIKE = re.compile(r"[a-z0-9_]{1,40}")
REFERENCE = "Not A Field!"  # never field-like: what every other key must read like


def _events() -> list[dict]:
    b = JourneyBuilder("uk-1", keyworker_id="kw-1", start=dt.date(2026, 3, 2))
    b.open().session1()
    return [json.loads(event_to_json(e)) for e in b.events]


def _refusal(doc: dict) -> str:
    with pytest.raises(InvalidRecord) as raised:
        event_from_json(json.dumps(doc))
    err = raised.value
    return "\n".join([str(err), *(f"{p.location}|{p.code}|{p.reason}" for p in err.problems)])


def _with_key(key: str, *, nested: bool) -> dict:
    doc = _events()[1]
    target = doc["steps"][0] if nested else doc
    target[key] = "x"
    return doc


@given(key=st.text(min_size=1, max_size=80), nested=st.booleans())
def test_no_key_text_reaches_a_message_unless_it_looks_like_a_field(key, nested):
    known = _events()[1]["steps"][0] if nested else _events()[1]
    if key in known:
        return  # a real field given a wrong value: not an unknown key
    got = _refusal(_with_key(key, nested=nested))
    if FIELD_LIKE.fullmatch(key):
        assert key in got  # a misspelt field is still spotted
    else:
        # Word for word what any other made-up key gives: nothing of the key is in it.
        assert got == _refusal(_with_key(REFERENCE, nested=nested))
        assert UNRECOGNISED_FIELD in got


def test_a_misspelt_field_is_named():
    got = _refusal(_with_key("keyworkr_id", nested=False))
    assert "keyworkr_id" in got and UNRECOGNISED_FIELD not in got


def test_a_name_typed_as_a_key_is_not_shown():
    got = _refusal(_with_key("Jane Doe 07700 900123", nested=True))
    assert "Jane" not in got and "07700" not in got and UNRECOGNISED_FIELD in got
