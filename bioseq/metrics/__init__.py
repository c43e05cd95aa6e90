"""Metrics: one label per sequence (:mod:`.classification`) and one label per position (:mod:`.positions`,
with segments in :mod:`.segments`)."""

from .classification import METRICS, classification_metrics, confusion, metric_notes

__all__ = ["METRICS", "classification_metrics", "confusion", "metric_notes"]
