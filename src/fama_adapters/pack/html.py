"""The client pack as one printable, accessible HTML page.

Three hand-outs of the guide's appendix 2, in the order a client uses them:
6a "Local mutual aid group information" filled with the meetings matched for
the client; 7 "Mutual aid goal planner" with the goals agreed; 10 "Mutual aid
journal" to fill in by hand (or on screen: every blank is a labelled field).

Accessibility, by construction: ``lang``, a ``<title>``, one ``<h1>`` and an
``<h2>`` per hand-out, tables with captions and ``<th scope>`` headers,
every field labelled, no images, text colours from :data:`PALETTE` (each at
least 7:1 against its background, WCAG AAA), a large-type option (literacy
support, session one step 4) and print rules (A4, a hand-out per page).

Redaction by default: the pack never prints the client's id or the free text
of goals (``include_notes=True`` adds goal descriptions for a client's own
copy). Journal contacts are blank lines on paper: fama never stores them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from fama_adapters.markup import html as _h
from fama_adapters.markup import link, policy_meta
from fama_core.addresses import address_lines
from fama_core.catalogue import load_catalogue
from fama_core.codes import AttendanceMode, GoalStatus
from fama_core.directory import Meeting, MeetingFeature
from fama_core.matching import MatchedMeeting
from fama_core.models import Goal
from fama_core.state import ClientState

__all__ = ["PALETTE", "ClientPack", "build_pack", "render_pack"]

PALETTE: dict[str, tuple[str, str]] = {
    "body": ("#111111", "#ffffff"),
    "heading": ("#0b3d6b", "#ffffff"),
    "table-header": ("#111111", "#e6edf5"),
    "notice": ("#5c2700", "#fff4e5"),
    "muted": ("#333333", "#ffffff"),
}
"""Text colour and background of each kind of text (tested for contrast)."""

_FEATURE_WORDS = {
    MeetingFeature.OPEN: "open to all",
    MeetingFeature.CLOSED: "closed (for people who want to stop)",
    MeetingFeature.NEWCOMER: "for newcomers",
    MeetingFeature.WOMEN: "women only",
    MeetingFeature.MEN: "men only",
    MeetingFeature.LGBTQ: "LGBTQ+",
    MeetingFeature.WHEELCHAIR_ACCESS: "wheelchair access",
    MeetingFeature.WHEELCHAIR_BATHROOM: "accessible toilet",
    MeetingFeature.SECULAR: "secular",
    MeetingFeature.SPEAKER: "speaker",
    MeetingFeature.DISCUSSION: "discussion",
    MeetingFeature.STEP_STUDY: "step study",
    MeetingFeature.YOUNG_PEOPLE: "young people",
    MeetingFeature.CHILD_FRIENDLY: "child-friendly",
    MeetingFeature.DEAF_HARD_OF_HEARING: "for deaf / hard of hearing",
}


@dataclass(frozen=True)
class ClientPack:
    """What goes into one client's pack."""

    prepared_on: dt.date
    meetings: tuple[MatchedMeeting, ...]
    goals: tuple[Goal, ...]
    large_type: bool = False
    include_notes: bool = False
    service: str = "your drug and alcohol service"
    commitment: str | None = None
    """The meeting the client committed to, as a line for the journal."""
    journal_rows: int = 6
    stale_after_days: int = 365
    notes: tuple[str, ...] = field(default=())


def build_pack(
    state: ClientState,
    matched: tuple[MatchedMeeting, ...],
    *,
    prepared_on: dt.date,
    limit: int = 8,
    large_type: bool | None = None,
    include_notes: bool = False,
    service: str = "your drug and alcohol service",
) -> ClientPack:
    """Assemble a pack from a client's folded record and their matched meetings.

    Goals are the current episode's agreed ones; large type follows the
    literacy support recorded in session one unless ``large_type`` says.
    """
    episode = state.current
    goals: tuple[Goal, ...] = ()
    commitment = None
    large = False
    if episode is not None:
        goals = tuple(g.goal for g in episode.goals if g.status is GoalStatus.AGREED)
        if episode.literacy_support is not None:
            large = episode.literacy_support.large_print
        outstanding = episode.outstanding_commitment
        if outstanding is not None:
            c = outstanding.commitment
            commitment = _h(
                "{}, {:%A} {} {:%B}",
                c.meeting.name,
                c.planned_date,
                c.planned_date.day,
                c.planned_date,
            )
    return ClientPack(
        prepared_on=prepared_on,
        meetings=matched[:limit],
        goals=goals,
        large_type=large if large_type is None else large_type,
        include_notes=include_notes,
        service=service,
        commitment=commitment,
    )


_CSS = Markup("""
:root { font-family: Arial, "Helvetica Neue", Helvetica, sans-serif; }
body { color: %(body_fg)s; background: %(body_bg)s; margin: 0 auto; max-width: 60rem;
       padding: 1rem 1.5rem; font-size: 12pt; line-height: 1.5; }
body.large-type { font-size: 20pt; line-height: 1.6; max-width: none; }
h1, h2, h3 { color: %(heading_fg)s; line-height: 1.25; }
h1 { font-size: 1.8em; margin: 0 0 .25em; }
h2 { font-size: 1.45em; margin: 1.2em 0 .4em; border-bottom: 3px solid %(heading_fg)s; }
h3 { font-size: 1.15em; margin: 1em 0 .3em; }
p.lead, p.meta { color: %(muted_fg)s; }
table { border-collapse: collapse; width: 100%%; margin: .5em 0 1em; }
caption { text-align: left; font-weight: bold; padding: .25em 0; }
th, td { border: 1px solid #555555; padding: .4em .5em; text-align: left; vertical-align: top; }
thead th { background: %(th_bg)s; color: %(th_fg)s; }
tbody th { font-weight: bold; }
.notice { color: %(notice_fg)s; background: %(notice_bg)s; padding: .1em .3em; }
.blank input, input.line { width: 100%%; border: 0; border-bottom: 1px solid #555555;
       font: inherit; background: transparent; min-height: 1.6em; }
ol.lines li, ul.lines li { min-height: 1.8em; }
label { font-weight: bold; }
.field { margin: .4em 0; }
a { color: %(heading_fg)s; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; }
  section.handout + section.handout { break-before: page; }
  tr, li { break-inside: avoid; }
  a { text-decoration: none; }
}
""")


def _css() -> Markup:
    return _CSS % {
        "body_fg": PALETTE["body"][0],
        "body_bg": PALETTE["body"][1],
        "heading_fg": PALETTE["heading"][0],
        "th_fg": PALETTE["table-header"][0],
        "th_bg": PALETTE["table-header"][1],
        "notice_fg": PALETTE["notice"][0],
        "notice_bg": PALETTE["notice"][1],
        "muted_fg": PALETTE["muted"][0],
    }


def _e(text: object) -> Markup:
    return escape(text)


def _summary(meeting: Meeting, pack: ClientPack) -> Markup:
    catalogue = load_catalogue()
    org = catalogue.organisations.get(meeting.organisation)
    name = org.name if org else meeting.organisation.upper()
    parts = [(_h("<strong>{}</strong>", _e(name)))]
    words = [w for f, w in _FEATURE_WORDS.items() if meeting.has(f)]
    if words:
        parts.append(_e((Markup(", ").join(words)).capitalize()))
    if meeting.summary:
        parts.append(_e(meeting.summary))
    html = Markup("<br>").join(parts)
    if meeting.is_stale(pack.prepared_on, pack.stale_after_days):
        html += Markup('<br><span class="notice">Listing not checked recently: ring first.</span>')
    return html


def _when_where(item: MatchedMeeting) -> Markup:
    meeting = item.meeting
    lines = [(_h("<strong>Next: {}</strong>", _e(item.next.label())))]
    every = "Every " + (Markup("; ").join(s.label() for s in meeting.slots))
    if str(item.next.start.tzinfo) != meeting.timezone:  # the client lives elsewhere
        every += _h(" ({} time)", meeting.timezone.split("/")[-1].replace("_", " "))
    lines.append(_e(every))
    if item.next.mode is AttendanceMode.ONLINE:
        lines.append(
            _h("Online: {}", link(meeting.conference_url))
            if meeting.conference_url
            else Markup("Online")
        )
    else:
        # The UK way (Royal Mail): an element a line, the postcode last, no country line.
        place = [meeting.location] if meeting.location else []
        if meeting.address:
            place += address_lines(meeting.address, meeting.postcode, meeting.timezone)
        lines.extend(_e(p) for p in place)
        if meeting.attendance is AttendanceMode.HYBRID:
            lines.append(Markup("Also online"))
    return Markup("<br>").join(lines)


def _contact(meeting: Meeting) -> Markup:
    parts: list[Markup] = []
    if meeting.contact:
        parts.append(_e(meeting.contact))
    if meeting.url:
        parts.append(link(meeting.url))  # a link only when it is http or https
    if meeting.conference_phone and meeting.attendance is not AttendanceMode.IN_PERSON:
        parts.append(_h("Dial in: {}", meeting.conference_phone))
    return Markup("<br>").join(parts) or Markup("Ask your keyworker")


def _handout_6a(pack: ClientPack) -> Markup:
    rows = []
    for item in pack.meetings:
        rows.append(
            _h(
                '<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>',
                _e(item.meeting.name),
                _summary(item.meeting, pack),
                _when_where(item),
                _contact(item.meeting),
            )
        )
    if not rows:
        rows.append(
            Markup(
                '<tr><td colspan="4">No meeting fits this week: talk to your keyworker.</td></tr>'
            )
        )
    return _h(
        '<section class="handout" aria-labelledby="h6a"><h2 id="h6a">6a. Local mutual aid group '
        'information</h2><p class="lead">Meetings near you that fit the times you said you are '
        "free this week. If it is your first meeting, or you would rather not go alone, ask "
        "your keyworker about someone going with you.</p><table><caption>Meetings you could go "
        'to</caption><thead><tr><th scope="col">Group name</th><th scope="col">Summary '
        'description</th><th scope="col">When &amp; where</th><th scope="col">Contact '
        "details</th></tr></thead><tbody>{}</tbody></table></section>",
        Markup("").join(rows),
    )


def _handout_7(pack: ClientPack) -> Markup:
    titles = load_catalogue().goal_kinds
    rows = []
    for n, goal in enumerate(pack.goals, start=1):
        text = titles[goal.kind.value].title if goal.kind.value in titles else goal.kind.value
        if pack.include_notes and goal.description:
            text += _h(" ({})", goal.description)
        when = (
            (_h("{:%A} {} {:%B}", goal.target_date, goal.target_date.day, goal.target_date))
            if goal.target_date
            else ""
        )
        meeting = goal.meeting.name if goal.meeting else ""
        rows.append(
            _h(
                '<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td class="blank"><input '
                'type="text" aria-label="How did goal {} go?"></td></tr>',
                _e(text),
                _e(when),
                _e(meeting),
                n,
            )
        )
    if not rows:
        rows.append(
            Markup('<tr><td colspan="4">Goals will be agreed with your keyworker.</td></tr>')
        )
    return _h(
        '<section class="handout" aria-labelledby="h7"><h2 id="h7">7. Mutual aid goal '
        'planner</h2><p class="lead">The goals you agreed with your keyworker. You will look at '
        "them together at your next session.</p><table><caption>Your goals</caption><thead><tr>"
        '<th scope="col">Goal</th><th scope="col">By when</th><th scope="col">Meeting</th><th '
        'scope="col">How did it go?</th></tr></thead><tbody>{}</tbody></table></section>',
        Markup("").join(rows),
    )


def _handout_10(pack: ClientPack) -> Markup:
    n = pack.journal_rows
    to_attend = []
    first = [pack.commitment] if pack.commitment else []
    for i in range(1, n + 1):
        value = (_h(' value="{}"', _e(first[0]))) if i == 1 and first else ""
        to_attend.append(
            _h(
                '<li><input class="line" type="text" aria-label="Meeting to attend {}"{}></li>',
                i,
                value,
            )
        )
    reaction_rows = Markup("").join(
        _h('<tr><th scope="row">{}</th>', i)
        + Markup("").join(
            _h(
                '<td class="blank"><input type="text" aria-label="Meeting {}: {}"></td>',
                i,
                col,
            )
            for col in ("date", "group", "did you go?", "your reactions")
        )
        + Markup("</tr>")
        for i in range(1, n + 1)
    )

    def lines(label: str, count: int) -> str:
        return Markup("").join(
            _h('<li><input class="line" type="text" aria-label="{} {}"></li>', label, i)
            for i in range(1, count + 1)
        )

    contact_rows = Markup("").join(
        _h(
            '<tr><th scope="row">{}</th><td class="blank"><input type="text" '
            'aria-label="Contact {}: name"></td><td class="blank"><input type="text" '
            'aria-label="Contact {}: telephone"></td></tr>',
            i,
            i,
            i,
        )
        for i in range(1, 6)
    )
    return _h(
        '<section class="handout" aria-labelledby="h10"><h2 id="h10">10. Your mutual aid '
        'experience: client journal</h2><div class="field"><label for="journal-name">'
        'Name:</label> <input id="journal-name" class="line" type="text"></div><div '
        'class="field"><label for="journal-date">Date:</label> <input id="journal-date" '
        'class="line" type="text"></div><h3 id="to-attend">Meetings to attend</h3><ol '
        'class="lines" aria-labelledby="to-attend">{}</ol><h3 id="reactions">Reactions to '
        "meetings</h3><table><caption>After each meeting, write down how it went</caption>"
        '<thead><tr><th scope="col">No.</th><th scope="col">Date</th><th scope="col">Group</th>'
        '<th scope="col">Did you go?</th><th scope="col">Your reactions</th></tr></thead><tbody>'
        '{}</tbody></table><h3 id="benefits">Benefits of attending meetings</h3><ul '
        'class="lines" aria-labelledby="benefits">{}</ul><h3 id="disadvantages">Disadvantages '
        'of attending meetings</h3><ul class="lines" aria-labelledby="disadvantages">{}</ul><h3 '
        'id="contacts">Contacts</h3><p class="meta">For you only: these stay on your paper, not '
        "in your record.</p><table><caption>People you swapped numbers with</caption><thead><tr>"
        '<th scope="col">No.</th><th scope="col">Name</th><th scope="col">Telephone</th></tr>'
        "</thead><tbody>{}</tbody></table><p>Bring this journal to your next session.</p>"
        "</section>",
        Markup("").join(to_attend),
        reaction_rows,
        lines("Benefit", 4),
        lines("Disadvantage", 4),
        contact_rows,
    )


def render_pack(pack: ClientPack) -> str:
    """The pack as a complete HTML document (UTF-8, no external resources)."""
    body_class = Markup(' class="large-type"') if pack.large_type else ""
    prepared = _h("{} {:%B %Y}", pack.prepared_on.day, pack.prepared_on)
    return _h(
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">{}<meta name="viewport" '
        'content="width=device-width, initial-scale=1"><title>Your mutual aid pack</title>'
        '<style>{}</style></head><body{}><main><h1>Your mutual aid pack</h1><p class="meta">'
        "Prepared on {} by {}. Meeting details change: if in doubt, ring the contact first.</p>"
        "{}{}{}</main></body></html>\n",
        policy_meta(),
        _css(),
        body_class,
        _e(prepared),
        _e(pack.service),
        _handout_6a(pack),
        _handout_7(pack),
        _handout_10(pack),
    )
