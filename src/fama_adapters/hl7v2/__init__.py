"""HL7 v2.5 adapter: goals, referral and sessions out, ADT in, over MLLP.

See ``docs/hl7v2.md`` for the message choices and the mapping tables (generated
from :mod:`fama_adapters.hl7v2.tables`).
"""

from __future__ import annotations

from fama_adapters.hl7v2.adapter import MEDIA_TYPE, Hl7v2RecordSystem, OutboundMessage, split_batch
from fama_adapters.hl7v2.messages import (
    AdtMessage,
    GoalAction,
    GoalEntry,
    GoalMessage,
    Header,
    ReferralMessage,
    SessionMessage,
)
from fama_adapters.hl7v2.mllp import Ack, AckRejected, MllpClient

__all__ = [
    "MEDIA_TYPE",
    "Ack",
    "AckRejected",
    "AdtMessage",
    "GoalAction",
    "GoalEntry",
    "GoalMessage",
    "Header",
    "Hl7v2RecordSystem",
    "MllpClient",
    "OutboundMessage",
    "ReferralMessage",
    "SessionMessage",
    "split_batch",
]
