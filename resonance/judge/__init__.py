"""Human judgement of emotional congruence: design a rating study, serve it, store and analyse the answers.

- :mod:`~resonance.judge.design` -- trial selection from a checkpoint's scores, per-rater schedules, the
  rater plan by simulation (:func:`design_study`, :func:`load_study`, :func:`rater_schedule`).
- :mod:`~resonance.judge.headphone` -- the Woods et al. (2017) antiphase headphone check.
- :mod:`~resonance.judge.store` -- the answers in SQLite (WAL), with every answer checked (:class:`Store`).
- :mod:`~resonance.judge.simulate` -- simulated raters, through the store or over HTTP.
- :mod:`~resonance.judge.analyze` -- exclusions, reliability, model-human agreement, the HTML report.

The web app, :mod:`resonance.judge.web`, is not imported here: only ``resonance judge serve``
(:mod:`resonance.cli.judge`) loads it (an import-linter contract in ``pyproject.toml``).
"""

from resonance.judge.analyze import analyze_answers, analyze_study, exclusions
from resonance.judge.design import DesignConfig, design_study, load_study, plan_raters, rater_schedule
from resonance.judge.headphone import generate_headphone_trials, pass_threshold
from resonance.judge.simulate import RaterModel, planted_truth, simulate_http, simulate_into_store
from resonance.judge.store import Refused, Store, open_store

__all__ = ["DesignConfig", "RaterModel", "Refused", "Store", "analyze_answers", "analyze_study", "design_study",
           "exclusions", "generate_headphone_trials", "load_study", "open_store", "pass_threshold",
           "plan_raters", "planted_truth", "rater_schedule", "simulate_http", "simulate_into_store"]
