"""The client pack in a real headless Chromium: it renders, prints, and its DOM is accessible.

Skipped, with the reason, where Chromium is not installed (Debian: ``apt-get
install chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from pathlib import Path

import pytest

from fama_adapters.meetings import read_csv_file, read_meeting_guide_file
from fama_adapters.meetings.report import ImportOptions
from fama_adapters.pack import build_pack, render_pack
from fama_adapters.pack.chromium import dump_dom, find_chromium, print_pdf, screenshot
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind, LiteracySupportKind
from fama_core.matching import Preferences, match_meetings
from fama_core.workflow import apply

from . import a11y
from .factories import availability

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="headless Chromium is not installed (Debian package `chromium`)",
)
EXAMPLES = Path(__file__).parents[2] / "examples" / "meetings"


def write_pack(folder: Path, *, large: bool) -> Path:
    meetings = [
        *read_meeting_guide_file(EXAMPLES / "aa-northbridge.json").meetings,
        *read_meeting_guide_file(
            EXAMPLES / "na-northbridge.json", options=ImportOptions(organisation="na")
        ).meetings,
        *read_csv_file(EXAMPLES / "local-list.csv").meetings,
    ]
    literacy = LiteracySupportKind.GO_THROUGH_HANDOUTS_TOGETHER if large else None
    j = JourneyBuilder("c-1", start=dt.date(2026, 3, 2)).open().session1(literacy=literacy)
    j.goal(GoalKind.READ_HANDOUTS).goal(GoalKind.CONSIDER_MEETINGS)
    state = None
    for e in j.events:
        state = apply(state, e)
    result = match_meetings(meetings, Preferences(), availability(week_starts=dt.date(2026, 3, 3)))
    html = render_pack(build_pack(state, result.chosen, prepared_on=dt.date(2026, 3, 2)))
    path = folder / ("large.html" if large else "pack.html")
    path.write_text(html, "utf-8")
    return path


def png_size_and_colours(path: Path) -> tuple[int, int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    return width, height, len(set(raw[:200_000]))


def test_the_pack_renders_in_chromium_to_a_non_blank_screenshot(tmp_path):
    png = screenshot(
        write_pack(tmp_path, large=False), tmp_path / "pack.png", width=1000, height=1400
    )
    width, height, distinct = png_size_and_colours(png)
    assert (width, height) == (1000, 1400)
    assert distinct > 20  # text and table rules, not a blank page


def test_chromiums_dom_of_the_pack_passes_the_accessibility_checks(tmp_path):
    dom = dump_dom(write_pack(tmp_path, large=False))
    assert a11y.problems(dom) == []
    page = a11y.parse(dom)
    assert page.lang == "en-GB" and page.title == "Your mutual aid pack"
    assert "Tuesday Newcomers" in page.text and "Quaker Meeting House" in page.text
    assert len(page.tables) == 4 and all(t["caption"] for t in page.tables)


def test_the_large_type_pack_renders_larger(tmp_path):
    normal = dump_dom(write_pack(tmp_path, large=False))
    large = dump_dom(write_pack(tmp_path, large=True))
    assert 'class="large-type"' in large and 'class="large-type"' not in normal
    png = screenshot(
        write_pack(tmp_path, large=True), tmp_path / "large.png", width=1000, height=1400
    )
    assert png_size_and_colours(png)[:2] == (1000, 1400)


def test_the_pack_prints_to_a_multi_page_pdf(tmp_path):
    pdf = print_pdf(write_pack(tmp_path, large=False), tmp_path / "pack.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = [int(n) for n in re.findall(rb"/Count (\d+)", data)]
    assert pages and max(pages) >= 3  # a hand-out per page at least
