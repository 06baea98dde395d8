"""The commissioners' report as one self-contained HTML page (inline CSS and SVG, no script).

Built from a :class:`~fama_adapters.report.bundle.CommissioningReport` only,
so it can print no figure the analysis withheld. Every chart has a text
alternative (its ``<desc>``) and the same figures in a table with header cells.
Cells that count people carry ``class="people"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from markupsafe import Markup, escape

from fama_adapters.markup import html as _h
from fama_adapters.markup import policy_meta
from fama_adapters.report.bundle import CommissioningReport
from fama_adapters.report.svg import funnel_svg, grid_svg, trend_svg
from fama_core.commissioning import (
    COMPLETENESS_MEASURES,
    FUNNEL_STAGES,
    HEADING_TITLES,
    MEDIAN_MEASURES,
    WEEKDAYS,
    AccessReport,
    Answer,
    Dimension,
    GapKind,
    GroupFigures,
    Heading,
    MeetingKind,
    TimeBand,
    percentile_clients,
)

__all__ = ["MEASURE_LABELS", "render_html"]

MEASURE_LABELS: dict[str, str] = {
    "introduced": "Introduced (session 1)",
    "committed": "Committed to a meeting",
    "first_meeting": "Attended a first meeting",
    "engaged": "Engaged with a group",
    "declined": "Declined for now",
    "closed": "Closed (ended, transferred)",
    "in_progress": "Still in progress",
    "accompaniment_arranged": "Peer accompaniment arranged",
    "accompaniment_used": "Peer accompaniment used",
    "days_introduced_to_committed": "Introduced → committed",
    "days_committed_to_first_meeting": "Committed → first meeting",
    "days_first_meeting_to_engaged": "First meeting → engaged",
}
"""Plain-English names of the published measures."""

KIND_LABELS: dict[MeetingKind, str] = {
    MeetingKind.ANY_IN_PERSON: "Any meeting in person",
    MeetingKind.TWELVE_STEP: "12-step, in person",
    MeetingKind.SECULAR: "Secular (SMART), in person",
    MeetingKind.WOMEN_ONLY: "Women-only, in person",
    MeetingKind.FAMILY: "Families and friends, in person",
    MeetingKind.ONLINE: "Online",
}

ANSWER_LABELS = {
    Answer.MET: "Met",
    Answer.PARTLY: "Partly met",
    Answer.NOT_MET: "Not met",
    Answer.UNKNOWN: "Unknown",
}

_CSS = Markup("""
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; color: #1b1b1b;
  background: #ffffff; margin: 0; line-height: 1.45; }
header, nav, main, footer { max-width: 1040px; margin: 0 auto; padding: 0 24px; }
header { border-bottom: 4px solid #08306b; padding-top: 16px; padding-bottom: 12px; }
h1 { font-size: 1.9rem; margin: 0.2em 0; }
h2 { font-size: 1.5rem; margin-top: 2em; border-bottom: 1px solid #c8c8c8; }
h3 { font-size: 1.15rem; margin-top: 1.6em; }
.meta { color: #3d3d3d; margin: 0; }
nav ul { display: flex; flex-wrap: wrap; gap: 16px; padding: 0; list-style: none; }
a { color: #0b4f9c; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px;
  padding: 0; list-style: none; }
.card { border: 1px solid #c8c8c8; border-left: 6px solid #2171b5; padding: 10px 14px; }
.card .big { font-size: 1.8rem; font-weight: 700; display: block; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.95rem; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #c8c8c8; padding: 4px 8px; vertical-align: top; }
thead th { background: #eef3fb; }
th[scope=row] { text-align: left; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.withheld { color: #3d3d3d; }
abbr[title] { text-decoration: none; cursor: help; }
.date { white-space: nowrap; }
#action-plan td:nth-child(2) { min-width: 22em; }
.scroll { overflow-x: auto; }
.answer-met { background: #e5f5e0; }
.answer-partly { background: #fff4d6; }
.answer-not_met { background: #fde0dd; }
.answer-unknown { background: #eeeeee; }
.overdue { color: #b10e1e; font-weight: 700; }
figure { margin: 12px 0; }
figcaption { font-size: 0.9rem; color: #3d3d3d; }
.chart { max-width: 100%; height: auto; }
.note { background: #f3f2f1; padding: 8px 12px; border-left: 4px solid #767676; }
@media print { nav { display: none; } h2 { page-break-before: auto; } }
""")


def _e(text: object) -> Markup:
    return escape(text)


def _people(value: int | None, measure: str = "") -> Markup:
    attr = (_h(' data-measure="{}"', _e(measure))) if measure else ""
    if value is None:
        return _h(
            '<td class="n people withheld"{}><abbr title="withheld to protect clients">*</abbr>'
            "</td>",
            attr,
        )
    return _h('<td class="n people"{}>{}</td>', attr, value)


def _days(value: float | None, quartiles: tuple[float, float] | None = None) -> Markup:
    if value is None:
        return Markup(
            '<td class="n withheld"><abbr title="fewer clients than the threshold">–</abbr></td>'
        )
    if quartiles is None:  # shown median, percentiles withheld (too few clients beyond them)
        return _h(
            '<td class="n">{:g} <small>(<abbr title="percentiles withheld: too few clients '
            'beyond them">–</abbr>)</small></td>',
            value,
        )
    return _h(
        '<td class="n">{:g} <small>({:g}–{:g})</small></td>', value, quartiles[0], quartiles[1]
    )


def _pct(num: int | None, den: int | None) -> Markup:
    if num is None or not den:
        return Markup("–")
    return _h("{:.0f}%", 100 * num / den)


def _table(
    caption: str,
    headers: Sequence[str],
    rows: Iterable[str],
    *,
    table_id: str = "",
) -> Markup:
    ident = (_h(' id="{}"', table_id)) if table_id else ""
    head = Markup("").join(_h('<th scope="col">{}</th>', _e(h)) for h in headers)
    body = Markup("").join(rows)
    return _h(
        '<div class="scroll"><table{}><caption>{}</caption><thead><tr>{}</tr></thead><tbody>'
        "{}</tbody></table></div>",
        ident,
        _e(caption),
        head,
        body,
    )


def _group_label(report: CommissioningReport, group: GroupFigures) -> Markup:
    if group.dimension is Dimension.ORGANISATION:
        return _e(report.organisation_names.get(group.group, group.group))
    if group.dimension is Dimension.AREA:
        return Markup("Whole area")
    if group.dimension is Dimension.KEYWORKER and group.within:
        return _h("{} (team {})", group.group, Markup(", ").join(group.within))
    return _e(group.group)


# ------------------------------------------------------------------ sections
def _summary(report: CommissioningReport) -> Markup:
    area = report.access.area.counts
    cards = [
        ("Clients introduced", area["introduced"], "people"),
        ("Attended a first meeting", area["first_meeting"], "people"),
        ("Engaged with a group", area["engaged"], "people"),
    ]
    items = []
    for label, value, _kind in cards:
        shown = "*" if value is None else str(value)
        items.append(
            _h('<li class="card"><span class="big people">{}</span>{}</li>', _e(shown), _e(label))
        )
    av = report.availability
    if av is not None:
        items.append(
            _h(
                '<li class="card"><span class="big">{}</span>annex 1 and 2 organisations with '
                "no local meeting</li>",
                len(av.no_local_meeting),
            )
        )
    gaps = len(report.assessment.gaps)
    overdue = sum(1 for a in report.assessment.plan if a.overdue)
    items.append(
        _h(
            '<li class="card"><span class="big">{}</span>self-assessment gaps; overdue actions: '
            "{}</li>",
            gaps,
            overdue,
        )
    )
    share = _pct(area["first_meeting"], area["introduced"])
    return _h(
        '<section id="summary" aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2><ul '
        'class="cards">{}</ul><p>Of the clients introduced to mutual aid in the period, {} '
        "attended a first meeting.</p></section>",
        Markup("").join(items),
        _e(share),
    )


def _availability(report: CommissioningReport) -> Markup:
    av = report.availability
    head = Markup(
        '<section id="availability" aria-labelledby="availability-h"><h2 id="availability-h">'
        "Availability of mutual aid</h2>"
    )
    if av is None:
        return head + (Markup('<p class="note">No meeting directory was given.</p></section>'))
    bands = [b.value for b in TimeBand]
    counts = {
        (c.weekday, c.band.value): c.meetings
        for c in av.grid
        if c.kind is MeetingKind.ANY_IN_PERSON
    }
    empty = [(_h("{} {}", WEEKDAYS[d - 1], b)) for (d, b), n in sorted(counts.items()) if n == 0]
    desc = _h(
        "Weekly in-person meeting slots by weekday and time of day; {} active slots in all. "
        "Times with no in-person meeting: {}.",
        av.slots,
        Markup(", ").join(empty) if empty else "none",
    )
    grid = grid_svg(
        "grid",
        counts,
        days=WEEKDAYS,
        bands=bands,
        title="Weekly availability of in-person meetings",
        desc=desc,
    )
    kind_rows = []
    for kind in MeetingKind:
        cells = Markup("").join(_h('<td class="n">{}</td>', av.count(kind, d)) for d in range(1, 8))
        kind_rows.append(_h('<tr><th scope="row">{}</th>{}</tr>', _e(KIND_LABELS[kind]), cells))
    org_rows = []
    for o in av.organisations:
        annex = (_h("Annex {}", o.annex)) if o.annex else "Local"
        org_rows.append(
            _h(
                '<tr><th scope="row">{}</th><td>{}</td><td class="n">{}</td><td class="n">'
                '{}</td><td class="n">{}</td><td class="n">{}</td></tr>',
                _e(o.name),
                _e(annex),
                o.in_person,
                o.online,
                o.women_only,
                o.weekdays_covered,
            )
        )
    names = report.organisation_names
    no_local = [names.get(c, c) for c in av.no_local_meeting]
    online_only = [names.get(c, c) for c in av.online_only]
    gap_rows = []
    for kind in MeetingKind:
        whole = [
            WEEKDAYS[g.weekday - 1]
            for g in av.time_gaps
            if g.kind is kind and g.gap is GapKind.WHOLE_DAY
        ]
        evening = [
            WEEKDAYS[g.weekday - 1]
            for g in av.time_gaps
            if g.kind is kind and g.gap is GapKind.EVENING
        ]
        gap_rows.append(
            _h(
                '<tr><th scope="row">{}</th><td>{}</td><td>{}</td></tr>',
                _e(KIND_LABELS[kind]),
                _e(Markup(", ").join(whole) or "none"),
                _e(Markup(", ").join(evening) or "none"),
            )
        )
    stale_rows = [
        (
            _h(
                '<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td class="n">{}</td></tr>',
                _e(s.meeting_id),
                _e(names.get(s.organisation, s.organisation)),
                _e(s.last_verified.isoformat() if s.last_verified else "never"),
                _e(s.days_since if s.days_since is not None else "–"),
            )
        )
        for s in av.stale
    ]
    return (
        head
        + (
            _h(
                "<p>{} directory entries: {} weekly meeting slots active, {} inactive, {} by "
                "appointment. Counts are meetings, not people; a meeting held on two weekdays "
                "counts twice.</p>",
                av.meetings,
                av.slots,
                av.inactive,
                av.by_appointment,
            )
        )
        + (Markup('<h3 id="grid-h">Weekly grid</h3><figure>'))
        + grid
        + (
            Markup(
                "<figcaption>In-person and hybrid meetings by start time: morning 05:00–11:59, "
                "afternoon 12:00–16:59, evening 17:00–04:59. A dashed red cell has "
                "none.</figcaption></figure>"
            )
        )
        + _table(
            "Meeting slots by kind and weekday",
            ["Kind", *WEEKDAYS],
            kind_rows,
            table_id="kinds-by-day",
        )
        + (Markup('<h3 id="orgs-h">Organisations (annexes 1 and 2)</h3>'))
        + _table(
            "Weekly meeting slots by organisation",
            ["Organisation", "Annex", "In person", "Online", "Women-only", "Weekdays covered"],
            org_rows,
            table_id="organisations",
        )
        + (Markup('<h3 id="gaps-h">Gaps in availability</h3>'))
        + (Markup("<p><strong>No local (in-person) meeting:</strong> "))
        + (_h("{}.</p>", _e(Markup(", ").join(no_local) or "none")))
        + (
            _h(
                "<p><strong>Online only:</strong> {}.</p>",
                _e(Markup(", ").join(online_only) or "none"),
            )
        )
        + (
            (
                _h(
                    "<p><strong>Organisations the catalogue does not know</strong> (add them as "
                    "local organisations): {}.</p>",
                    _e(Markup(", ").join(av.unknown_organisations)),
                )
            )
            if av.unknown_organisations
            else ""
        )
        + _table(
            "Days and evenings with no meeting of a kind",
            ["Kind", "No meeting all day", "No evening meeting"],
            gap_rows,
            table_id="time-gaps",
        )
        + (_h("<p>Directory entries not verified in the last {} days: ", av.stale_after_days))
        + (_h("{}.</p>", len(av.stale)))
        + (
            _table(
                "Directory entries not verified recently",
                ["Meeting", "Organisation", "Last verified", "Days since"],
                stale_rows,
                table_id="stale",
            )
            if stale_rows
            else ""
        )
        + (Markup("</section>"))
    )


def _count_table(
    report: CommissioningReport,
    caption: str,
    dimension: Dimension | tuple[Dimension, ...],
    measures: Sequence[str],
    tid: str,
) -> str:
    dims = dimension if isinstance(dimension, tuple) else (dimension,)
    rows = []
    for g in (g for d in dims for g in report.access.groups_of(d)):
        cells = Markup("").join(_people(g.counts[m], m) for m in measures)
        rows.append(_h('<tr><th scope="row">{}</th>{}</tr>', _e(_group_label(report, g)), cells))
    return _table(
        caption,
        [dims[-1].value.capitalize(), *(MEASURE_LABELS[m] for m in measures)],
        rows,
        table_id=tid,
    )


def _access(report: CommissioningReport) -> Markup:
    ac: AccessReport = report.access
    area = ac.area
    stages = [
        (MEASURE_LABELS[m], area.counts[m])
        for m in (*FUNNEL_STAGES, "declined", "closed", "in_progress")
    ]
    spoken = Markup("; ").join(
        (_h("{}: {}", label, "withheld" if v is None else v) for label, v in stages)
    )
    funnel = funnel_svg(
        "funnel",
        stages,
        title="The FAMA funnel for the whole area",
        desc=(_h("Clients at each stage of FAMA in the period. {}.", spoken)),
    )
    months = ac.groups_of(Dimension.MONTH)
    trend_series = [
        (MEASURE_LABELS[m], [g.counts[m] for g in months])
        for m in ("introduced", "first_meeting", "engaged")
    ]
    trend_desc = Markup("; ").join(
        _h("{}: ", g.group)
        + Markup(", ").join(
            _h(
                "{} {}",
                MEASURE_LABELS[m].lower(),
                "withheld" if g.counts[m] is None else g.counts[m],
            )
            for m in ("introduced", "first_meeting", "engaged")
        )
        for g in months
    )
    trend = (
        trend_svg(
            "trend",
            [g.group for g in months],
            trend_series,
            title="Clients by month of introduction",
            desc=(_h("By month of session 1: {}.", trend_desc)) if months else "No clients.",
        )
        if months
        else (Markup('<p class="note">No clients in the period.</p>'))
    )
    median_rows = []
    for g in (area, *ac.groups_of(Dimension.ORGANISATION)):
        median_rows.append(
            (_h('<tr><th scope="row">{}</th>', _e(_group_label(report, g))))
            + (Markup("").join(_days(g.medians[m], g.quartiles.get(m)) for m in MEDIAN_MEASURES))
            + (Markup("</tr>"))
        )
    obstacle_rows = [
        (
            _h(
                '<tr><th scope="row">{}</th>{}</tr>',
                _e(report.obstacle_titles.get(o.obstacle.value, o.obstacle)),
                _people(o.clients, "obstacle"),
            )
        )
        for o in ac.obstacles
    ]
    period = _h(
        "{} to {}",
        ac.period_start.isoformat() if ac.period_start else "the first record",
        ac.period_end.isoformat() if ac.period_end else "the last record",
    )
    stage_measures = (
        "introduced",
        "committed",
        "first_meeting",
        "engaged",
        "declined",
        "closed",
        "in_progress",
    )
    acc_measures = ("introduced", "accompaniment_arranged", "accompaniment_used")
    return (
        (
            _h(
                '<section id="access" aria-labelledby="access-h"><h2 id="access-h">Access to '
                "mutual aid</h2><p>Clients whose FAMA session 1 was held from {}, each counted "
                "once (their latest such episode). Counts of 1 to {} clients, and counts that "
                "would let one be worked out from the others, are withheld and shown as *.</p>"
                '<h3 id="funnel-h">The FAMA funnel</h3><figure>',
                _e(period),
                ac.threshold - 1,
            )
        )
        + funnel
        + (
            Markup(
                "<figcaption>Stages reached by clients introduced in the period; the last three "
                "rows are how episodes ended or stand.</figcaption></figure>"
            )
        )
        + _count_table(
            report, "Funnel for the whole area", Dimension.AREA, stage_measures, "funnel-table"
        )
        + (
            Markup(
                '<h3 id="time-h">Time between stages (median days, with the 25th and 75th '
                "percentiles)</h3>"
            )
        )
        + _table(
            "Median days between stages (25th–75th percentile), whole area and by organisation "
            "chosen",
            ["Group", *(MEASURE_LABELS[m] for m in MEDIAN_MEASURES)],
            median_rows,
            table_id="medians",
        )
        + _recording(report)
        + (Markup('<h3 id="obstacles-h">Obstacles most often raised</h3>'))
        + (
            _table(
                "Clients raising each obstacle (hand-outs 3 and 5)",
                ["Obstacle", "Clients"],
                obstacle_rows,
                table_id="obstacles",
            )
            if obstacle_rows
            else (Markup("<p>No obstacles were recorded.</p>"))
        )
        + (Markup('<h3 id="accompaniment-h">Peer accompaniment</h3>'))
        + _count_table(
            report,
            "Accompaniment, whole area and by organisation chosen",
            (Dimension.AREA, Dimension.ORGANISATION),
            acc_measures,
            "accompaniment",
        )
        + (Markup('<h3 id="by-organisation-h">By organisation chosen</h3>'))
        + _count_table(
            report,
            "Funnel by the organisation of the first commitment",
            Dimension.ORGANISATION,
            stage_measures,
            "by-organisation",
        )
        + (Markup('<h3 id="by-keyworker-h">By keyworker</h3>'))
        + _count_table(
            report, "Funnel by keyworker", Dimension.KEYWORKER, stage_measures, "by-keyworker"
        )
        + (Markup('<h3 id="by-team-h">By team</h3>'))
        + _count_table(report, "Funnel by team", Dimension.TEAM, stage_measures, "by-team")
        + (Markup('<h3 id="trend-h">Trends by month</h3><figure>'))
        + trend
        + (
            Markup(
                "<figcaption>By month of session 1. A gap in a line is a withheld "
                "month.</figcaption></figure>"
            )
        )
        + _count_table(
            report, "Funnel by month of introduction", Dimension.MONTH, stage_measures, "by-month"
        )
        + (Markup("</section>"))
    )


THRESHOLD_LABELS: dict[str, str] = {
    "first_meeting_target_percent": "First-meeting target (share of clients introduced)",
    "ndtms_met_percent": "NDTMS recording: met at",
    "ndtms_partly_percent": "NDTMS recording: partly met at",
    "directory_stale_partly_percent": "Meeting directory: partly current below this share stale",
    "stale_after_days": "Meeting directory: not verified recently after",
}
"""Plain-English names of the self-assessment's thresholds."""


_LOCAL = Markup(' <strong class="local">local addition</strong>')


def _question_tables(report: CommissioningReport) -> Markup:
    sa = report.assessment
    out = []
    for heading in Heading:
        rows = []
        for item in sa.items:
            q = item.question
            if q.heading is not heading:
                continue
            label = (
                Markup(' <strong class="local">local addition</strong>') if q.local_addition else ""
            )
            rows.append(
                _h(
                    '<tr><th scope="row">{}{}<br><small>Source: <cite>{}</cite>. {}</small></th>'
                    '<td class="answer-{}">{}</td><td>{}</td><td>{}</td></tr>',
                    q.text,
                    label,
                    q.source,
                    q.source_passage,
                    item.answer.value,
                    ANSWER_LABELS[item.answer],
                    item.source.value,
                    item.evidence,
                )
            )
        if rows:
            out.append(
                _h('<h3 id="assessment-{}">{}</h3>', heading.value, HEADING_TITLES[heading])
                + _table(
                    _h("{}: {}", HEADING_TITLES[heading], sa.partnership),
                    ["Question", "Answer", "Answered from", "Evidence"],
                    rows,
                    table_id="self-assessment-" + heading.value,
                )
            )
    thresholds = [
        _h(
            '<tr><th scope="row">{}</th><td class="n">{:g} {}</td><td class="n">{:g} {}</td>'
            "<td>{}</td></tr>",
            THRESHOLD_LABELS.get(t.name, t.name),
            t.value,
            t.unit,
            t.default,
            t.unit,
            t.source,
        )
        for t in sa.thresholds
    ]
    if thresholds:
        out.append(
            Markup('<h3 id="thresholds-h">Thresholds the answers use</h3>')
            + _table(
                "Thresholds: each is configuration (the partnership's JSON, or --stale-days)",
                ["Threshold", "Value", "Default", "Source"],
                thresholds,
                table_id="thresholds",
            )
        )
    return Markup("").join(out)


COMPLETENESS_LABELS: dict[str, str] = {
    "clients_in_treatment": "Clients in treatment",
    "facilitation_recorded": "FAMA recorded in treatment",
    "no_facilitation_in_treatment": "No FAMA recorded in treatment",
    "no_fama_record": "No FAMA record at all",
    "reviews_missing": "Recovery support review missing",
}
"""Plain-English names of the NDTMS recording counts."""


def _recording(report: CommissioningReport) -> Markup:
    rec = report.completeness
    if rec is None:
        return Markup("")
    rows = []
    for row in (rec.overall, *rec.keyworkers):
        share = (
            Markup('<td class="n withheld"><abbr title="withheld to protect clients">*</abbr></td>')
            if row.recorded_percent is None
            else _h('<td class="n">{:.0f}%</td>', row.recorded_percent)
        )
        rows.append(
            _h('<tr><th scope="row">{}</th>', row.keyworker)
            + Markup("").join(_people(row.counts[m], m) for m in COMPLETENESS_MEASURES)
            + share
            + Markup("</tr>")
        )
    return Markup(
        '<h3 id="recording-h">Recovery support recorded in NDTMS, by keyworker</h3>'
        "<p>Every client in treatment (from the service's NDTMS contexts), including clients "
        "with no FAMA record, counted once under their keyworker. Small counts are withheld "
        "as above.</p>"
    ) + _table(
        "NDTMS recording by keyworker",
        ["Keyworker", *(COMPLETENESS_LABELS[m] for m in COMPLETENESS_MEASURES), "Recorded"],
        rows,
        table_id="ndtms-recording",
    )


def _assessment(report: CommissioningReport) -> Markup:
    sa = report.assessment
    gap_items = Markup("").join(
        _h(
            "<li><strong>{}:</strong> {} <small>(actions: {})</small></li>",
            _e(ANSWER_LABELS[g.answer]),
            _e(g.text),
            _e(Markup(", ").join(g.actions)),
        )
        for g in sa.gaps
    )
    plan_rows = []
    for a in sa.plan:
        due = a.due.isoformat() if a.due else "to agree"
        overdue = (Markup(' <span class="overdue">overdue</span>')) if a.overdue else ""
        plan_rows.append(
            _h(
                '<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td class="date">{}{}</td><td>'
                "{}</td><td>{}</td></tr>",
                _e(a.id),
                _e(a.action),
                _e(a.lead or "to agree"),
                _e(due),
                overdue,
                _e(a.status.value.replace("_", " ")),
                _e(a.gap or ""),
            )
        )
    notes = Markup("").join(_h("<li>{}</li>", _e(n)) for n in sa.notes)
    return (
        (
            Markup(
                '<section id="assessment" aria-labelledby="assessment-h"><h2 id="assessment-h">'
                "Self-assessment</h2><p>Questions under the headings of PHE's <cite>Mutual aid "
                "self-assessment tool</cite> (availability, gaps, barriers) and of the "
                "commissioners' guide (integration, steering group, data), each citing the "
                "passage it comes from; questions fama adds are marked <strong>local addition"
                "</strong>. <em>Answered from</em> says which answers come from the data above "
                "and which the partnership gave.</p>"
            )
        )
        + _question_tables(report)
        + (Markup('<h3 id="gap-list-h">Gaps</h3>'))
        + ((_h("<ol>{}</ol>", gap_items)) if gap_items else (Markup("<p>No gaps.</p>")))
        + (Markup('<h3 id="plan-h">Local action plan</h3>'))
        + _table(
            "Local action plan",
            ["Action", "What", "Lead", "Due", "Status", "Gap"],
            plan_rows,
            table_id="action-plan",
        )
        + ((_h('<h3 id="notes-h">Notes on the answers</h3><ul>{}</ul>', notes)) if notes else "")
        + (Markup("</section>"))
    )


def _not_counted(report: CommissioningReport) -> Markup:
    """The records the figures could not include, said plainly (never which clients)."""
    left = report.not_counted
    if not left.events:
        return Markup("")
    reasons = Markup(", ").join(_h("{} {}", n, reason) for reason, n in left.reasons.items())
    return _h(
        '<p id="not-counted"><strong>Not counted:</strong> {} records could not be used ({}); '
        "{} clients are left out of every figure and {} are counted without some of their "
        "records.</p>",
        left.events,
        reasons,
        left.clients,
        left.partly,
    )


def _release(report: CommissioningReport) -> Markup:
    """Which answer of the service's report ledger the access figures are (``fama serve``)."""
    kept = report.release
    if kept is None:
        return Markup("")
    return _h(
        '<p id="release"><strong>Released:</strong> answer {} of this service, first given on '
        "{} (UTC). The same question is always answered with these figures, whatever is "
        "recorded later, so that no two answers can be subtracted.</p>",
        kept.number,
        kept.released_at.strftime("%Y-%m-%d %H:%M"),
    )


def _about(report: CommissioningReport) -> Markup:
    sources = Markup("").join(_h("<li>{}</li>", _e(s)) for s in report.sources)
    return (
        (
            _h(
                '<section id="about" aria-labelledby="about-h"><h2 id="about-h">About these '
                "figures</h2><p>Counts of clients from 1 to {} are withheld (*), and so is any "
                "count from which a withheld one, or a small difference between two shown "
                "counts, could be narrowed down: adding up totals and their parts, keyworkers "
                "within their teams (shown beside each keyworker), organisations within the "
                "clients who committed and months within the period, every withheld small count "
                "could still be any of at least {} values (protection interval {}). Zero is "
                "shown, except in a group of fewer than {} clients. Medians are shown only for "
                "groups of at least {} clients, and their 25th and 75th percentiles only for "
                "groups of at least {} (so that at least {} clients lie at or beyond each). "
                "{} counts are withheld.</p><p>No client "
                "identifier, date of birth or free text from a record is used. Keyworker and "
                "team labels are the service's own staff keys.</p>",
                report.access.threshold - 1,
                report.access.protection + 1,
                report.access.protection,
                report.access.threshold,
                report.access.threshold,
                percentile_clients(report.access.threshold),
                report.access.threshold,
                report.access.withheld,
            )
        )
        + ((_h('<h3 id="sources-h">Sources</h3><ul>{}</ul>', sources)) if sources else "")
        + _not_counted(report)
        + _release(report)
        + (
            Markup(
                "<p>Built on <cite>Improving access to mutual aid: a brief guide for "
                "commissioners</cite> and <cite>Facilitating access to mutual aid: three "
                "essential stages</cite> (Public Health England, Open Government Licence "
                "v2.0).</p></section>"
            )
        )
    )


def render_html(report: CommissioningReport) -> str:
    """The whole report as one HTML document (UTF-8 text)."""
    title = _h("Improving access to mutual aid: {}", report.area)
    nav = Markup("").join(
        (
            _h('<li><a href="#{}">{}</a></li>', i, _e(t))
            for i, t in (
                ("summary", "Summary"),
                ("availability", "Availability"),
                ("access", "Access"),
                ("assessment", "Self-assessment"),
                ("about", "About these figures"),
            )
        )
    )
    return (
        (
            _h(
                '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">{}<meta '
                'name="viewport" content="width=device-width, initial-scale=1"><title>{}</title>'
                '<style>{}</style></head><body><header><h1>{}</h1><p class="meta">Report of {} '
                '· small counts withheld below {}</p></header><nav aria-label="Contents"><ul>'
                "{}</ul></nav><main>",
                policy_meta(),
                _e(title),
                _CSS,
                _e(title),
                _e(report.generated_on.isoformat()),
                report.access.threshold,
                nav,
            )
        )
        + _summary(report)
        + _availability(report)
        + _access(report)
        + _assessment(report)
        + _about(report)
        + (Markup('</main><footer><p class="meta">Generated by fama.</p></footer></body></html>\n'))
    )
