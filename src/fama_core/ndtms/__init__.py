"""NDTMS recovery-support coding: cited dataset tables, derivation and validation. Pure.

- :mod:`fama_core.ndtms.tables`: each dataset version (K, M, N, O, P) as packaged data.
- :mod:`fama_core.ndtms.context`: what the host supplies (interventions, reviews, consent).
- :mod:`fama_core.ndtms.derive`: sub-intervention review rows from a FAMA record.
- :mod:`fama_core.ndtms.validate`: the rules, with fama's codes, for any extract.

Files are read and written by the adapter :mod:`fama_adapters.ndtms`.
"""

from fama_core.ndtms.context import Intervention, NdtmsContext, ReviewPoint, ReviewPolicy
from fama_core.ndtms.derive import (
    Derivation,
    EpisodeSummary,
    Facilitation,
    FacilitationBuilder,
    SirRow,
    Unplaced,
    derive,
    facilitation_from_state,
    policy_reviews,
)
from fama_core.ndtms.tables import DATASET_VERSIONS, DatasetTable, load_dataset, load_rules
from fama_core.ndtms.validate import Finding, Validator, validate_rows

__all__ = [
    "DATASET_VERSIONS",
    "DatasetTable",
    "Derivation",
    "EpisodeSummary",
    "Facilitation",
    "FacilitationBuilder",
    "Finding",
    "Intervention",
    "NdtmsContext",
    "ReviewPoint",
    "ReviewPolicy",
    "SirRow",
    "Unplaced",
    "Validator",
    "derive",
    "facilitation_from_state",
    "load_dataset",
    "load_rules",
    "policy_reviews",
    "validate_rows",
]
