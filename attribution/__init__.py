"""Attribution: which descriptors, pixels and log-mel bins drive cross-modal alignment, per emotion,
with the reliability of every answer measured.

Public API (every method returns an :class:`AttributionResult` carrying its per-example completeness
error, except the regression table):

- what is explained: :class:`Target`, :func:`alignment`, :func:`prototype_alignment`, :func:`valence`,
  :func:`arousal`, :func:`category_logit`
- :func:`integrated_gradients`, :func:`layer_integrated_gradients` (Captum), :func:`make_baseline`
- :func:`adaptive_integrated_gradients` (the path refined per example until completeness holds)
- :func:`integrated_jacobians` (pairwise image x sound descriptor matrix), :func:`pair_ranking`,
  :func:`per_emotion_matrix`
- :func:`pair_table`, :func:`shap_surrogate` (TreeSHAP on gradient-boosted surrogates, with fidelity)
- :func:`standardised_regression` -> :class:`RegressionTable`, :func:`descriptor_ranking`
- :func:`cascading_randomisation` and its :func:`random_model_floor`, :func:`deletion_insertion`,
  :func:`faithfulness_correlation`
- :func:`group_image_attributions`, :func:`group_audio_attributions` (pixels / bins -> named features)
- :func:`streamed_integrated_gradients` (chunks in, running sums out: bounded memory)
- reports: :func:`attribution_report`, :func:`report_from_checkpoint`, :func:`explain_pair`, :func:`demo_report`
- any tower: :func:`encode` (pixels through a frozen backbone with gradients; a hybrid tower's deep part
  held fixed by :func:`hold_deep_fixed`)

See docs/attribution.md.
"""

from attribution.adaptive import adaptive_integrated_gradients
from attribution.encode import encode, hold_deep_fixed
from attribution.groups import group_audio_attributions, group_image_attributions
from attribution.ig import (
    BASELINES,
    DEFAULT_STEPS,
    integrated_gradients,
    layer_integrated_gradients,
    make_baseline,
    pink_noise_logmel,
)
from attribution.pair import explain_pair
from attribution.pairwise import integrated_jacobians, pair_ranking, per_emotion_matrix
from attribution.regression import RegressionTable, descriptor_ranking, standardised_regression
from attribution.report import attribution_report
from attribution.result import AttributionResult
from attribution.run import demo_report, report_from_checkpoint
from attribution.sanity import (
    cascading_randomisation,
    deletion_insertion,
    faithfulness_correlation,
    random_model_floor,
)
from attribution.stream import streamed_integrated_gradients
from attribution.surrogate import FIDELITY_THRESHOLD, embed_items, pair_table, shap_surrogate
from attribution.targets import Target, alignment, arousal, category_logit, prototype_alignment, valence

__all__ = ["BASELINES", "DEFAULT_STEPS", "FIDELITY_THRESHOLD", "AttributionResult", "RegressionTable", "Target",
           "adaptive_integrated_gradients", "alignment", "arousal", "attribution_report", "cascading_randomisation",
           "category_logit", "random_model_floor",
           "deletion_insertion", "demo_report", "descriptor_ranking", "embed_items", "encode", "explain_pair",
           "faithfulness_correlation", "group_audio_attributions", "hold_deep_fixed", "report_from_checkpoint",
           "streamed_integrated_gradients",
           "group_image_attributions", "integrated_gradients", "integrated_jacobians", "layer_integrated_gradients",
           "make_baseline", "pair_ranking", "pair_table", "per_emotion_matrix", "pink_noise_logmel",
           "prototype_alignment", "shap_surrogate", "standardised_regression", "valence"]
