"""docs/commissioning.md: its Python example runs as written and its question table is current."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from fama_core.commissioning import QUESTIONS

DOC = (Path(__file__).parents[2] / "docs" / "commissioning.md").read_text("utf-8")


def test_python_example_prints_what_it_says():
    code = re.search(r"```python\n(.*?)```", DOC, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/commissioning.md", "exec"), {})
    assert out.getvalue().split() == ["None", "1"]


def test_every_question_is_in_the_table():
    for q in QUESTIONS:
        assert f"| `{q.id}` | {q.text} |" in DOC
