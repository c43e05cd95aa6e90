"""Altair charts for the dashboard and the experiments (docs/experiments.md).

Every function returns an ``alt.Chart`` (or a layered / concatenated chart) with tooltips, and takes
the DataFrames that the library's readers and interpretation functions return. No chart computes
model outputs; at most it reshapes.
"""

from .common import AA_COLORS, NUC_COLORS, WIDTH, letter_scale
from .data import ambiguous_histogram, class_counts, composition, length_histogram
from .evaluation import pr_curve, roc_curve, threshold_effect
from .gradients import layer_gradients, layer_means, memory_curve, thin_steps, time_profile
from .motifs import motif_positions, named_logo
from .positions import (
    flow_heatmap,
    label_composition,
    label_metrics,
    position_memory,
    position_profile,
    segment_lengths,
    used_window,
)
from .predictions import prediction_summary
from .scan import scan_track
from .sequence import (
    allele_logos,
    gate_heatmaps,
    gate_saliency_tracks,
    ism_heatmap,
    motif_bars,
    motif_logo,
    saliency_logo,
)
from .tracks import label_tracks, letter_track
from .training import confusion_matrix, training_curves, training_panels
from .tuning import importances, tuning_history

__all__ = ["AA_COLORS", "NUC_COLORS", "WIDTH", "ambiguous_histogram", "class_counts", "composition",
           "confusion_matrix", "gate_heatmaps", "gate_saliency_tracks", "ism_heatmap", "layer_gradients",
           "layer_means", "length_histogram", "letter_scale", "letter_track", "memory_curve", "motif_bars",
           "motif_logo", "motif_positions", "named_logo", "pr_curve", "prediction_summary", "roc_curve",
           "saliency_logo", "allele_logos", "scan_track", "thin_steps",
           "threshold_effect", "time_profile", "training_curves", "training_panels", "importances", "tuning_history",
           "flow_heatmap",
           "label_composition", "label_metrics", "label_tracks", "position_memory", "position_profile",
           "segment_lengths", "used_window"]
