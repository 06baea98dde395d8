"""Hostile input in every field of the report page and the client pack, checked in a real browser.

Meeting names, summaries, addresses, contacts and URLs come from feeds;
organisation names from feeds; notes, actions and the area's name from people.
Each field here carries a ``<script>``, an element with an event handler,
quote-breaking text and ``javascript:`` URLs. Headless Chromium runs the page
(so a planted script would run and retitle it) and dumps its DOM: no planted
element, no event-handler attribute, no link but http/https, and the hostile
text shown as text.
"""

from __future__ import annotations

import ast
import datetime as dt
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fama_adapters.markup import link, safe_url
from fama_adapters.pack import build_pack, render_pack
from fama_adapters.pack.chromium import dump_dom, find_chromium
from fama_adapters.report.bundle import build_report
from fama_adapters.report.html import render_html
from fama_core.builders import JourneyBuilder
from fama_core.codes import (
    AttendanceMode,
    GoalKind,
    OrganisationApproach,
    OrganisationAudience,
)
from fama_core.commissioning import (
    DirectoryMeeting,
    PartnershipAction,
    PartnershipAnswer,
    PartnershipInput,
)
from fama_core.directory import Meeting, MeetingFeature, Weekday, WeeklySlot
from fama_core.matching import Availability, Preferences, TimeWindow, match_meetings
from fama_core.models import Organisation
from fama_core.workflow import fold

SRC = Path(__file__).parents[2] / "src" / "fama_adapters"
PAGE_MODULES = [SRC / "report" / "html.py", SRC / "report" / "svg.py", SRC / "pack" / "html.py"]

BREAK = "\"'><script>document.title='pwned'</script>"
HANDLER = "<img src=x onerror=\"document.title='pwned'\"><b onmouseover='x'>"
HOSTILE = f"{BREAK}{HANDLER} & ' \" </td></table>"
BAD_URLS = (
    "javascript:document.title='pwned'",
    " JaVaScRiPt:document.title='pwned'",
    "java\tscript:document.title='pwned'",
    "data:text/html,<script>document.title='pwned'</script>",
    "//evil.example/x",
)
GOOD_URL = 'https://example.org/meeting?a=1&b="2"'


# ------------------------------------------------------------------ by construction
@pytest.mark.parametrize("path", PAGE_MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_page_modules_build_markup_only_through_the_escaping_helpers(path):
    """No f-string, ``%`` or ``str.format`` on a plain string: only ``html()``/``Markup``."""
    tree = ast.parse(path.read_text("utf-8"))
    for node in ast.walk(tree):
        assert not isinstance(node, ast.JoinedStr), f"{path.name}:{node.lineno}: an f-string"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            if node.func.attr == "format" and isinstance(target, ast.Constant):
                raise AssertionError(f"{path.name}:{node.lineno}: str.format on a plain string")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            assert not isinstance(node.left, ast.Constant), f"{path.name}:{node.lineno}: %"


@pytest.mark.parametrize("url", BAD_URLS)
def test_only_http_and_https_addresses_become_links(url):
    assert safe_url(url) is None
    assert "<a" not in link(url)


def test_an_http_address_becomes_a_link_with_its_quotes_escaped():
    assert safe_url(GOOD_URL) == GOOD_URL
    assert str(link(GOOD_URL, "listing")) == (
        '<a href="https://example.org/meeting?a=1&amp;b=&#34;2&#34;" '
        'rel="noopener noreferrer">listing</a>'
    )


# ------------------------------------------------------------------ the pages
def _every_evening() -> Availability:
    return Availability(
        timezone="Europe/London",
        windows=tuple(TimeWindow(day=d, start=dt.time(17), end=dt.time(22)) for d in Weekday),
        week_starts=dt.date(2026, 3, 3),
    )


def _meeting(n: int, url: str) -> Meeting:
    return Meeting(
        meeting_id=f"m{n}",
        name=f"{HOSTILE} {n}",
        organisation="aa",
        slots=(WeeklySlot(day=list(Weekday)[n % 7], start=dt.time(19), end=dt.time(20)),),
        timezone="Europe/London",
        attendance=AttendanceMode.HYBRID,
        features=(MeetingFeature.OPEN,),
        summary=HOSTILE,
        location=HOSTILE[:250],
        address=HOSTILE,
        location_notes=HOSTILE,
        conference_url=url,
        conference_phone=HOSTILE[:100],
        contact=HOSTILE,
        url=url,
        last_verified=dt.date(2020, 1, 1),
        source=HOSTILE[:200],
    )


def _pack_html() -> str:
    meetings = [_meeting(n, url) for n, url in enumerate((*BAD_URLS, GOOD_URL))]
    b = JourneyBuilder("c-1", start=dt.date(2026, 3, 2)).open().session1()
    b.goal(GoalKind.READ_HANDOUTS, description=HOSTILE)
    result = match_meetings(meetings, Preferences(), _every_evening())
    assert result.chosen, "the hostile meetings must reach the pack"
    pack = build_pack(
        fold(b.events),
        result.chosen,
        prepared_on=dt.date(2026, 3, 2),
        include_notes=True,
        service=HOSTILE,
    )
    return render_pack(pack)


def _report_html() -> str:
    caseload = []
    for n in range(12):
        b = JourneyBuilder(f"c{n}", keyworker_id="kw-1", team_id="t1", start=dt.date(2026, 2, 2))
        caseload.append(fold(b.open().session1().events))
    directory = [
        DirectoryMeeting.weekly("m1", "evil", (2,), dt.time(19, 0), name=HOSTILE),
        DirectoryMeeting.weekly("m2", "aa", (3,), dt.time(19, 0), name=HOSTILE),
    ]
    partnership = PartnershipInput(
        partnership=HOSTILE[:200],
        answers={"A1": PartnershipAnswer(answer="partly", evidence=HOSTILE)},
        actions=(PartnershipAction(id="a1", gap="A1", action=HOSTILE[:500], lead=HOSTILE[:200]),),
    )
    report = build_report(
        area=HOSTILE,
        as_of=dt.date(2026, 6, 1),
        caseload=caseload,
        meetings=directory,
        partnership=partnership,
        local_organisations={
            "evil": Organisation(
                code="evil",
                name=HOSTILE[:200],
                for_whom=HOSTILE,
                approach=OrganisationApproach.SECULAR,
                audience=OrganisationAudience.PEOPLE_WHO_USE,
                website=BAD_URLS[0],
                local=True,
            )
        },
        sources=[HOSTILE, *BAD_URLS],
    )
    return render_html(report)


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title" and not self.title  # the document's, not an SVG's

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        self.text += data
        if self._in_title:
            self.title += data


def _check_dom(dom: str) -> _Dom:
    parsed = _Dom()
    parsed.feed(dom)
    assert parsed.title.strip() != "pwned"  # a planted script would have retitled the page
    assert not [t for t, _ in parsed.tags if t in ("script", "img", "iframe", "object")]
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.lower().startswith("on")], (tag, attrs)
        href = attrs.get("href")
        if tag == "a" and href and not href.startswith("#"):  # in-page links are the page's own
            assert safe_url(href) is not None, attrs
    assert "<script>document.title='pwned'</script>" in parsed.text  # shown, as text
    return parsed


chromium = pytest.mark.skipif(
    find_chromium() is None, reason="headless Chromium is not installed (Debian `chromium`)"
)


@chromium
def test_hostile_fields_in_the_pack_stay_text_in_the_browser(tmp_path):
    path = tmp_path / "pack.html"
    path.write_text(_pack_html(), "utf-8")
    dom = _check_dom(dump_dom(path))
    hrefs = [a.get("href") for t, a in dom.tags if t == "a"]
    assert hrefs and set(hrefs) == {GOOD_URL}  # only the https listing became a link


@chromium
def test_hostile_fields_in_the_report_stay_text_in_the_browser(tmp_path):
    path = tmp_path / "report.html"
    path.write_text(_report_html(), "utf-8")
    dom = _check_dom(dump_dom(path))
    hrefs = {a.get("href") for t, a in dom.tags if t == "a"}
    assert all(h.startswith("#") or safe_url(h) for h in hrefs if h)


# ------------------------------------------- red team: nothing loads (2026-11-30)


def _injected(page: str, base: str) -> str:
    """``page`` as if escaping had failed somewhere: markup that would fetch from ``base``."""
    planted = (
        f'<img src="{base}/img"><link rel="stylesheet" href="{base}/css">'
        f'<iframe src="{base}/frame"></iframe><script>fetch("{base}/js")</script>'
        f'<div style="background:url({base}/bg)">x</div>'
    )
    return str(page).replace("</h1>", "</h1>" + planted, 1)  # str: a Markup would escape it


@pytest.mark.parametrize("page", [_pack_html, _report_html], ids=["pack", "report"])
def test_each_page_declares_that_nothing_may_load(page):
    assert '<meta http-equiv="Content-Security-Policy"' in page().split("</head>")[0]


@chromium
@pytest.mark.parametrize("page", [_pack_html, _report_html], ids=["pack", "report"])
def test_printing_a_page_with_injected_markup_fetches_nothing(tmp_path, page):
    # Before the policy, Chromium fetched every one of these while printing a pack to PDF.
    from fama_adapters.net_testing import Answer, LoopbackHttpServer
    from fama_adapters.pack.chromium import print_pdf

    routes = {p: Answer(body=b"x") for p in ("/img", "/css", "/frame", "/js", "/bg")}
    with LoopbackHttpServer(routes) as server:
        path = tmp_path / "page.html"
        path.write_text(_injected(page(), server.url), "utf-8")
        print_pdf(path, tmp_path / "page.pdf")
        dump_dom(path)
    assert server.requests == []
