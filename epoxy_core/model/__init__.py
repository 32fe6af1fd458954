"""Models that turn votes into labels: label models (no ground truth needed), their baselines, the end model."""

from epoxy_core.model.balance import (
    BALANCE_MODES,
    DEFAULT_CLASS_BALANCE,
    ClassBalance,
    class_balance_from_labels,
    resolve_class_balance,
)
from epoxy_core.model.base import LabelModel
from epoxy_core.model.baselines import MajorityVote
from epoxy_core.model.end_model import EndModel
from epoxy_core.model.statistics import VoteStatistics, extend_and_count, vote_statistics
from epoxy_core.model.triplet import TripletLabelModel

__all__ = [
    "BALANCE_MODES",
    "DEFAULT_CLASS_BALANCE",
    "ClassBalance",
    "EndModel",
    "LabelModel",
    "MajorityVote",
    "TripletLabelModel",
    "VoteStatistics",
    "class_balance_from_labels",
    "extend_and_count",
    "resolve_class_balance",
    "vote_statistics",
]
