"""The commissioners' report as one object: availability, access, self-assessment, provenance.

Everything rendered (HTML, CSV, JSON) is built from a :class:`CommissioningReport`
only, and that holds published figures only: a withheld count is ``None`` here,
so no renderer can print it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from pydantic import Field

from fama_core.catalogue import load_catalogue
from fama_core.commissioning import (
    DEFAULT_STALE_AFTER_DAYS,
    DEFAULT_THRESHOLD,
    AccessReport,
    AvailabilityReport,
    ClientJourney,
    CompletenessFigures,
    EarlierReport,
    MeetingLike,
    PartnershipInput,
    SelfAssessment,
    analyse_access,
    analyse_availability,
    analyse_completeness,
    assess,
    journeys_from_caseload,
)
from fama_core.models import FamaModel, Organisation
from fama_core.state import ClientState

__all__ = [
    "CommissioningReport",
    "NotCounted",
    "ReportRelease",
    "build_report",
    "tally_not_counted",
]

#: The reason codes of :attr:`NotCounted.reasons`.
NOT_COUNTED_REASONS = ("unreadable", "refused")


class NotCounted(FamaModel):
    """What the report could not count: how many and why, never who.

    A commissioner's figure never quietly loses clients. A stored event that
    no longer decodes (``unreadable``), or that the workflow refuses on replay
    (``refused``), is left out and counted here; the client's other events still
    apply, as ``fama report`` applies them. A client none of whose events could
    be counted is left out of every figure and counted in :attr:`clients`.
    """

    clients: int = Field(
        default=0, ge=0, description="Clients left out of every figure: no event of theirs counted."
    )
    partly: int = Field(
        default=0, ge=0, description="Clients counted without some of their events."
    )
    events: int = Field(default=0, ge=0, description="Events not counted.")
    reasons: dict[str, int] = Field(
        default_factory=dict,
        description="Events not counted by reason code: unreadable (an event that no longer "
        "decodes), refused (an event the workflow refuses on replay).",
    )


class ReportRelease(FamaModel):
    """Which answer of the service's report ledger these figures are (``GET /v1/report``)."""

    number: int = Field(ge=1, description="The answer's place in the ledger: 1 for the first.")
    released_at: dt.datetime = Field(
        description="When the answer was first given (UTC); the figures are those of the "
        "records then, whatever was recorded since."
    )
    repeated: bool = Field(
        description="True when the same question was answered before and this is that answer."
    )


class CommissioningReport(FamaModel):
    """Every figure of the commissioners' report, ready to render."""

    area: str
    generated_on: dt.date
    availability: AvailabilityReport | None = Field(
        description="None when no meeting directory was given."
    )
    access: AccessReport
    assessment: SelfAssessment
    completeness: CompletenessFigures | None = Field(
        default=None,
        description="NDTMS recording per keyworker (counts of clients, suppressed); None when "
        "no completeness file was given.",
    )
    organisation_names: dict[str, str] = Field(description="Organisation code to name.")
    obstacle_titles: dict[str, str] = Field(description="Obstacle code to its hand-out title.")
    sources: tuple[str, ...] = Field(description="What the figures were computed from.")
    not_counted: NotCounted = Field(
        default_factory=NotCounted,
        description="Clients and events the figures could not include, by reason (no client "
        "ids); all zero when everything was counted.",
    )
    release: ReportRelease | None = Field(
        default=None,
        description="From fama serve: which answer of its report ledger the access figures are; "
        "None from fama report.",
    )


def tally_not_counted(
    clients: Iterable[tuple[bool, Mapping[str, int]]],
    unattributed: Mapping[str, int] | None = None,
) -> NotCounted:
    """Sum what was left out: per client ``(still counted, events skipped by reason)``.

    ``unattributed`` are events skipped that name no client (a line that is not
    an event at all); they count as events, never as clients.
    """
    left_out = partly = 0
    reasons: dict[str, int] = dict(unattributed or {})
    for counted, skipped in clients:
        if not any(skipped.values()):
            continue
        if counted:
            partly += 1
        else:
            left_out += 1
        for reason, n in skipped.items():
            reasons[reason] = reasons.get(reason, 0) + n
    reasons = {r: n for r, n in sorted(reasons.items()) if n}
    return NotCounted(
        clients=left_out, partly=partly, events=sum(reasons.values()), reasons=reasons
    )


def build_report(
    *,
    area: str,
    as_of: dt.date,
    caseload: Iterable[ClientState],
    meetings: Iterable[MeetingLike] | None,
    partnership: PartnershipInput | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    protection: int | None = None,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS,
    ndtms_completeness: float | None = None,
    local_organisations: Mapping[str, Organisation] | None = None,
    sources: Iterable[str] = (),
    not_counted: NotCounted | None = None,
    earlier: Iterable[AccessReport] = (),
    completeness: object | None = None,
    journeys: Mapping[tuple[dt.date | None, dt.date | None], Sequence[ClientJourney]] | None = None,
    access: AccessReport | None = None,
    release: ReportRelease | None = None,
) -> CommissioningReport:
    """Analyse a caseload and a meeting directory and answer the self-assessment.

    ``protection`` is the protection interval of withheld counts (default: the
    threshold; see :func:`fama_core.commissioning.suppression.suppress`).
    ``earlier`` are access figures already published (``report.json``'s
    ``access``) for periods overlapping this one, from the same records:
    suppression keeps every difference with them protected too.
    ``journeys`` replaces ``caseload`` at scale: each period's journeys
    (this report's and each earlier report's), as
    :func:`fama_adapters.report.io.stream_journeys` keeps them.
    ``completeness`` is the decoded ``fama ndtms completeness --json``: its
    per-keyworker counts are published with the same suppression.
    ``access``, when given, are access figures already computed and released
    (the service's report ledger, ``release`` saying which answer): they are
    used as they are, and ``caseload``, ``earlier`` and the period are not
    analysed again.
    """
    caseload = list(caseload)

    def journeys_for(start: dt.date | None, end: dt.date | None) -> Sequence[ClientJourney]:
        if journeys is not None:  # already folded, one client at a time (stream_journeys)
            return journeys[(start, end)]
        return journeys_from_caseload(caseload, start=start, end=end)

    before = [
        EarlierReport(
            published=published,
            journeys=tuple(journeys_for(published.period_start, published.period_end)),
        )
        for published in earlier
    ]
    catalogue = load_catalogue()
    organisations: dict[str, Organisation] = dict(catalogue.organisations)
    organisations.update(local_organisations or {})
    availability = (
        analyse_availability(
            meetings, organisations, as_of=as_of, stale_after_days=stale_after_days
        )
        if meetings is not None
        else None
    )
    if access is None:
        access = analyse_access(
            journeys_for(period_start, period_end),
            threshold=threshold,
            protection=protection,
            period_start=period_start,
            period_end=period_end,
            organisation_order=organisations,
            earlier=before,
        )
    given = partnership or PartnershipInput(partnership=area)
    assessment = assess(
        given,
        availability=availability,
        access=access,
        as_of=as_of,
        ndtms_completeness=ndtms_completeness,
    )
    recording = (
        analyse_completeness(completeness, threshold=threshold, protection=protection)
        if completeness is not None
        else None
    )
    return CommissioningReport(
        area=area,
        completeness=recording,
        generated_on=as_of,
        availability=availability,
        access=access,
        assessment=assessment,
        organisation_names={code: org.name for code, org in organisations.items()},
        obstacle_titles={code: o.title for code, o in catalogue.obstacles.items()},
        sources=tuple(sources),
        not_counted=not_counted or NotCounted(),
        release=release,
    )
