"""NDTMS recovery-support coding: cited dataset tables, derivation and validation. Pure.

- :mod:`fama_core.ndtms.tables`: each dataset version (K, M, N, O, P) as packaged data.
- :mod:`fama_core.ndtms.context`: what the host supplies (interventions, reviews, consent).
- :mod:`fama_core.ndtms.derive`: sub-intervention review rows from a FAMA record.
- :mod:`fama_core.ndtms.validate`: the rules, with fama's codes, for any extract.
- :mod:`fama_core.ndtms.completeness`: per-keyworker completeness over every client in
  treatment, FAMA record or not (:func:`ndtms_completeness`).

Files are read and written by the adapter :mod:`fama_adapters.ndtms`.
"""

from fama_core.ndtms.completeness import (
    KeyworkerCounts,
    NdtmsCompleteness,
    keyworker_of,
    ndtms_completeness,
)
from fama_core.ndtms.context import Intervention, NdtmsContext, ReviewPoint, ReviewPolicy
from fama_core.ndtms.derive import (
    Accompanied,
    ClientDerivation,
    Derivation,
    EpisodeSummary,
    Facilitation,
    FacilitationBuilder,
    SirRow,
    Unplaced,
    derive,
    derive_client,
    facilitation_from_state,
    policy_reviews,
    support_days,
)
from fama_core.ndtms.tables import (
    DATASET_VERSIONS,
    DatasetTable,
    InterventionChoice,
    NdtmsRules,
    PeerSupportRule,
    load_dataset,
    load_rules,
)
from fama_core.ndtms.validate import Finding, Validator, validate_rows

__all__ = [
    "DATASET_VERSIONS",
    "Accompanied",
    "ClientDerivation",
    "DatasetTable",
    "Derivation",
    "EpisodeSummary",
    "Facilitation",
    "FacilitationBuilder",
    "Finding",
    "Intervention",
    "KeyworkerCounts",
    "NdtmsCompleteness",
    "InterventionChoice",
    "NdtmsContext",
    "NdtmsRules",
    "PeerSupportRule",
    "ReviewPoint",
    "ReviewPolicy",
    "SirRow",
    "Unplaced",
    "Validator",
    "derive",
    "derive_client",
    "facilitation_from_state",
    "keyworker_of",
    "load_dataset",
    "load_rules",
    "ndtms_completeness",
    "policy_reviews",
    "support_days",
    "validate_rows",
]
