"""The report in a real headless Chromium: it renders, and its DOM passes accessibility checks.

Skipped, saying why, when Debian's ``chromium`` is not installed
(``apt-get install -y --no-install-recommends chromium``; ``.ci/run`` does it).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from html.parser import HTMLParser

import pytest

from fama_adapters.report.bundle import build_report
from fama_adapters.report.export import write_report
from fama_core.commissioning import PartnershipInput

from .caseload import hand_checked_caseload
from .test_availability import AS_OF, DIRECTORY

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)

WIDTH, HEIGHT = 1200, 2400


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    report = build_report(
        area="Hand-checked area",
        as_of=AS_OF,
        caseload=hand_checked_caseload(),
        meetings=DIRECTORY,
        partnership=PartnershipInput(partnership="Hand-checked area", keyworkers_total=4),
        threshold=3,
    )
    write_report(report, folder)
    return folder / "report.html"


@pytest.fixture(scope="module")
def dom(page):
    return _chromium("--dump-dom", page.as_uri()).stdout


class _Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text_of: dict[int, str] = {}
        self._open: list[int] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._open.append(len(self.elements) - 1)
        self.text_of[len(self.elements) - 1] = ""

    def handle_endtag(self, tag):
        while self._open:
            i = self._open.pop()
            if self.elements[i][0] == tag:
                break

    def handle_data(self, data):
        for i in self._open:
            self.text_of[i] += data


def parse(dom_text: str) -> _Dom:
    parser = _Dom()
    parser.feed(dom_text)
    return parser


def test_chromium_renders_the_report_to_a_png(page, tmp_path):
    shot = tmp_path / "report.png"
    _chromium(f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", page.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (WIDTH, HEIGHT)
    assert len(data) > 50_000  # a page of text and charts, not a blank canvas


def test_the_page_declares_its_language_and_title(dom):
    d = parse(dom)
    html = next(a for t, a in d.elements if t == "html")
    assert html.get("lang") == "en-GB"
    titles = [i for i, (t, _a) in enumerate(d.elements) if t == "title"]
    assert d.text_of[titles[0]].startswith("Improving access to mutual aid")


def test_one_h1_and_headings_never_skip_a_level(dom):
    d = parse(dom)
    levels = [int(t[1]) for t, _a in d.elements if t in {"h1", "h2", "h3", "h4", "h5", "h6"}]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))


def test_every_table_has_a_caption_and_scoped_header_cells(dom):
    d = parse(dom)
    tables = sum(1 for t, _a in d.elements if t == "table")
    captions = sum(1 for t, _a in d.elements if t == "caption")
    assert tables >= 8 and captions == tables
    ths = [a for t, a in d.elements if t == "th"]
    assert ths and all(a.get("scope") in ("col", "row") for a in ths)


def test_every_chart_is_an_image_with_a_title_and_a_description(dom):
    d = parse(dom)
    svgs = [a for t, a in d.elements if t == "svg"]
    assert len(svgs) == 3  # funnel, weekly grid, trends
    ids = {a.get("id") for t, a in d.elements if t in ("title", "desc")}
    for svg in svgs:
        assert svg.get("role") == "img"
        labelled = (svg.get("aria-labelledby") or "").split()
        assert len(labelled) == 2 and set(labelled) <= ids
    descs = [i for i, (t, _a) in enumerate(d.elements) if t == "desc"]
    assert all(len(d.text_of[i]) > 40 for i in descs)  # says what the chart shows


def test_no_script_and_no_external_resource_in_the_rendered_dom(dom):
    d = parse(dom)
    assert not any(t in ("script", "link", "img", "iframe") for t, _a in d.elements)


def test_no_small_count_reaches_the_rendered_page(dom):
    d = parse(dom)
    for i, (_t, a) in enumerate(d.elements):
        if "people" in (a.get("class") or "").split():
            text = d.text_of[i].strip()
            assert text in ("*", "withheld") or int(text) == 0 or int(text) >= 3, text


def test_navigation_links_reach_every_section(dom):
    d = parse(dom)
    targets = {
        a["href"][1:] for t, a in d.elements if t == "a" and (a.get("href") or "")[:1] == "#"
    }
    ids = {a.get("id") for _t, a in d.elements}
    assert targets and targets <= ids
