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
    overlap_of,
)
from fama_core.models import FamaModel, Organisation
from fama_core.state import ClientState

__all__ = ["CommissioningReport", "build_report"]


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
    earlier: Iterable[AccessReport] = (),
    completeness: object | None = None,
    journeys: Mapping[tuple[dt.date | None, dt.date | None], Sequence[ClientJourney]] | None = None,
) -> CommissioningReport:
    """Analyse a caseload and a meeting directory and answer the self-assessment.

    ``protection`` is the protection interval of withheld counts (default: the
    threshold; see :func:`fama_core.commissioning.suppression.suppress`).
    ``earlier`` are access figures already published (``report.json``'s
    ``access``) for periods overlapping this one, from the same records:
    suppression keeps every difference with them protected too.
    ``journeys`` replaces ``caseload`` at scale: each period's journeys
    (this report's, each earlier report's and each overlap), as
    :func:`fama_adapters.report.io.stream_journeys` keeps them.
    ``completeness`` is the decoded ``fama ndtms completeness --json``: its
    per-keyworker counts are published with the same suppression.
    """
    caseload = list(caseload)

    def journeys_for(start: dt.date | None, end: dt.date | None) -> Sequence[ClientJourney]:
        if journeys is not None:  # already folded, one client at a time (stream_journeys)
            return journeys[(start, end)]
        return journeys_from_caseload(caseload, start=start, end=end)

    period = (period_start, period_end)
    before = []
    for published in earlier:
        theirs = (published.period_start, published.period_end)
        shared = overlap_of(period, theirs)
        before.append(
            EarlierReport(
                published=published,
                journeys=tuple(journeys_for(theirs[0], theirs[1])),
                overlap=() if shared is None else tuple(journeys_for(shared[0], shared[1])),
            )
        )
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
    )
