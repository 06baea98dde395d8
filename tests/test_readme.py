"""The README's tour runs as written."""

import contextlib
import io
import re
from pathlib import Path


def test_readme_tour_runs_and_prints_what_it_says():
    text = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().split() == [
        "committed",
        "Monday",
        "Lunchtime",
        "Newcomers",
        "engagement_evidence",
    ]
