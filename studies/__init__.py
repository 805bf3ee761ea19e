"""Statistical feature studies: declared hypotheses (TOML) about how descriptors relate to emotion, run with
robust regressions, random-intercept mixed models, ANOVA / Kruskal-Wallis, partial correlations and FDR,
each ending in a verdict (replicated / not replicated / inconclusive) beside the published effect.

Built-in replications (``studies/builtin/*.toml``): ``colour_affect`` (Valdez & Mehrabian 1994 vs Wilms &
Oberfeld 2018), ``vocal_cues`` (Juslin & Laukka 2003), ``music_colour`` (Palmer et al. 2013, Whiteford et
al. 2018; needs a model's matches), ``model_vs_people`` (needs a model's predictions) and ``probe_cues``
(the probe stimuli's label rules measured back from the files; ``resonance demo`` runs it).

Layering: reads the dataset (resonance.data), the features table (handcrafted) and model outputs as
tables only; never imports torch or the model packages.
"""

from studies.run import StudyResult, load_inputs, run_and_report, run_study, verdict
from studies.spec import Study, builtin_names, load_study, parse_study

__all__ = ["Study", "StudyResult", "builtin_names", "load_inputs", "load_study", "parse_study", "run_and_report",
           "run_study", "verdict", "write_report"]


def write_report(result, out):  # noqa: ANN001, ANN201 -- lazy: matplotlib only when a report is written
    """Write a study's tables, figures, HTML summary and provenance (see :mod:`studies.report`)."""
    from studies.report import write_report as _write

    return _write(result, out)
