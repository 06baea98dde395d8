"""The Python in docs/embedding.md runs as written and prints what the text after it says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).parent.parent.parent / "docs" / "embedding.md"


def test_embedding_guide_examples_run_and_print_what_they_say():
    blocks = re.findall(r"```(\w+)\n(.*?)```", DOC.read_text("utf-8"), re.S)
    namespace: dict[str, object] = {}
    checked = 0
    for n, (lang, code) in enumerate(blocks):
        if lang != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{DOC.name} block {n}", "exec"), namespace)
        following = blocks[n + 1] if n + 1 < len(blocks) else ("", "")
        if following[0] == "text":
            assert out.getvalue() == following[1], f"block {n} printed {out.getvalue()!r}"
            checked += 1
    assert checked == 6
