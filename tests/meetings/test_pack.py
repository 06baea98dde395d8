"""The client pack's HTML: the three hand-outs, accessible by construction, nothing personal."""

from __future__ import annotations

import datetime as dt

import pytest

from fama_adapters.pack import PALETTE, build_pack, render_pack
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind, LiteracySupportKind
from fama_core.directory import MeetingFeature
from fama_core.matching import Preferences, match_meetings
from fama_core.models import MeetingRef
from fama_core.workflow import apply

from . import a11y
from .factories import availability, meeting


def folded(large_print: bool = False, description: str | None = None):
    # The builder records literacy support as large print; none means normal type.
    literacy = LiteracySupportKind.GO_THROUGH_HANDOUTS_TOGETHER if large_print else None
    j = (
        JourneyBuilder("client-secret-42", start=dt.date(2026, 3, 2))
        .open()
        .session1(literacy=literacy)
    )
    j.goal(GoalKind.ATTEND_NAMED_MEETING, meeting=MeetingRef(name="Meeting m1", organisation="aa"))
    if description:
        j.goal(GoalKind.OTHER, description=description)
    state = None
    for e in j.events:
        state = apply(state, e)
    return state


def pack_html(**kw) -> str:
    meetings = [
        meeting(
            "m1",
            features=(
                MeetingFeature.OPEN,
                MeetingFeature.NEWCOMER,
                MeetingFeature.WHEELCHAIR_ACCESS,
            ),
        ),
        meeting("m2", name="Old <Listing> & Co", last_verified=dt.date(2020, 1, 1)),
    ]
    result = match_meetings(meetings, Preferences(), availability())
    state = folded(kw.pop("large_print", False), kw.pop("description", None))
    return render_pack(build_pack(state, result.chosen, prepared_on=dt.date(2026, 3, 2), **kw))


def test_the_pack_holds_hand_outs_6a_7_and_10_in_order():
    page = a11y.parse(pack_html())
    assert [h for level, h in page.headings if level == 2] == [
        "6a. Local mutual aid group information",
        "7. Mutual aid goal planner",
        "10. Your mutual aid experience: client journal",
    ]


def test_hand_out_6a_has_the_four_columns_and_the_matched_meetings():
    html = pack_html()
    for column in ("Group name", "Summary description", "When &amp; where", "Contact details"):
        assert f'<th scope="col">{column}</th>' in html
    assert "Meeting m1" in html and "Next: Tuesday 3 March, 19:30-21:00" in html
    assert "Open to all, for newcomers, wheelchair access" in html


def test_text_from_a_feed_is_escaped():
    html = pack_html()
    assert "Old &lt;Listing&gt; &amp; Co" in html and "<Listing>" not in html


def test_a_stale_listing_is_flagged_on_the_hand_out():
    assert "Listing not checked recently: ring first." in pack_html()


def test_the_goal_planner_lists_agreed_goals_in_the_clients_words():
    html = pack_html()
    assert "Attend a named meeting in the coming week" in html


def test_goal_descriptions_are_left_out_unless_asked_for():
    assert "see my sister" not in pack_html(description="see my sister on Friday")
    assert "see my sister" in pack_html(description="see my sister on Friday", include_notes=True)


def test_the_client_id_is_never_printed():
    assert "client-secret-42" not in pack_html()


def test_large_type_follows_the_literacy_support_recorded():
    assert '<body class="large-type">' in pack_html(large_print=True)
    assert '<body class="large-type">' not in pack_html()
    assert '<body class="large-type">' in pack_html(large_type=True)


def test_the_page_passes_the_accessibility_checks():
    assert a11y.problems(pack_html()) == []


def test_the_checker_catches_what_it_claims_to():
    bad = (
        "<html><body><h1>x</h1><h3>y</h3><table><tr><th>a</th></tr></table>"
        "<input><img src=x></body></html>"
    )
    found = " | ".join(a11y.problems(bad))
    for expected in (
        "no lang",
        "no title",
        "skips",
        "no caption",
        "without scope",
        "unlabelled",
        "without alt",
    ):
        assert expected in found


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("name", sorted(PALETTE))
def test_every_text_colour_meets_wcag_aaa_contrast(name):
    fg, bg = PALETTE[name]
    light, dark = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    assert (light + 0.05) / (dark + 0.05) >= 7.0
