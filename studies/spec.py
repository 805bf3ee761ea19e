"""Study declarations: TOML files of hypotheses, a data selection and extra tests.

A study file looks like this (every key is described in ``docs/studies.md``)::

    [study]
    name = "colour_affect"
    title = "Colour and affect"
    alpha = 0.05            # FDR level of the whole study (Benjamini-Hochberg)
    power = 0.8             # power of the minimum detectable effect
    sesoi = 0.1             # smallest effect of interest where no published effect is given
    seed = 0

    [data]
    modality = "image"
    corpora = ["dvisa"]
    splits = []             # [] = every split
    groups = "group"        # random-intercept column (speaker, actor, artist)
    derive = { artist = "attributes.artist" }   # new columns read from a JSON column

    [[hypotheses]]
    id = "vm_pleasure_brightness"
    formula = "valence ~ brightness_mean + saturation_mean"
    term = "brightness_mean"
    expected = "+"          # "+", "-" or "0" (no association)
    published = 0.69
    source = "Valdez & Mehrabian (1994)"

    [[anova]]
    descriptors = ["brightness_mean"]
    factor = "emotion"

A malformed file raises :class:`~resonance.errors.ParameterError` naming the file, the line and the
problem.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from resonance.errors import ParameterError, UnknownNameError

__all__ = ["AnovaSpec", "DataSpec", "Hypothesis", "Study", "builtin_names", "load_study", "parse_study"]

KINDS = ("regression", "contrast", "partial", "compare")
MODELS = ("mixed", "ols", "glm")
FAMILIES = ("binomial", "poisson", "gaussian")  # = studies.stats.GLM_FAMILIES
EXPECTED = ("+", "-", "0")
MODALITIES = ("image", "audio")


@dataclass(frozen=True)
class DataSpec:
    """Which items a study (or one hypothesis) uses."""

    modality: str | None = None
    corpora: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()
    groups: str | None = "group"
    derive: Mapping[str, str] = field(default_factory=dict)
    standardize: bool = True
    min_groups: int = 5


@dataclass(frozen=True)
class Hypothesis:
    """One declared hypothesis: a model formula, the term tested, the expected direction."""

    id: str
    formula: str
    term: str
    expected: str
    kind: str = "regression"
    model: str = "mixed"
    published: float | None = None
    published_ci: tuple[float, float] | None = None
    source: str = ""
    note: str = ""
    corpora: tuple[str, ...] = ()
    contrast: tuple[str, str, str] | None = None  # (column, high level, low level)
    covariates: tuple[str, ...] = ()  # partial: controlled variables
    model_outcome: str | None = None  # compare: the model's outcome column
    family: str | None = None  # model = "glm": binomial, poisson or gaussian
    needs_predictions: bool = False
    sesoi: float | None = None
    line: int | None = None

    @property
    def outcome(self) -> str:
        return self.formula.split("~", 1)[0].strip()

    @property
    def predictors(self) -> list[str]:
        return [p.strip() for p in self.formula.split("~", 1)[1].split("+") if p.strip()]


@dataclass(frozen=True)
class AnovaSpec:
    """One-way ANOVA and Kruskal-Wallis of descriptors across the levels of a factor."""

    descriptors: tuple[str, ...]
    factor: str = "emotion"
    corpora: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class Study:
    """A parsed study file."""

    name: str
    title: str
    description: str
    data: DataSpec
    hypotheses: tuple[Hypothesis, ...]
    anova: tuple[AnovaSpec, ...] = ()
    alpha: float = 0.05
    power: float = 0.8
    sesoi: float = 0.1
    seed: int = 0
    source: str = ""

    @property
    def needs_predictions(self) -> bool:
        return any(h.needs_predictions for h in self.hypotheses)


def builtin_names() -> list[str]:
    """Names of the studies shipped with the package (``studies/builtin/*.toml``)."""
    folder = resources.files("studies") / "builtin"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_study(name_or_file: str | os.PathLike[str]) -> Study:
    """Load a built-in study by name or a study TOML file by path.

    Raises
    ------
    UnknownNameError
        Neither a built-in name nor an existing file.
    ParameterError
        The file is malformed (the message names the line).
    """
    text_name = str(name_or_file)
    path = Path(text_name)
    if text_name in builtin_names():
        resource = resources.files("studies") / "builtin" / f"{text_name}.toml"
        return parse_study(resource.read_text(encoding="utf-8"), where=f"built-in study {text_name}")
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ParameterError(f"study file {path} cannot be read: {error}") from error
        return parse_study(text, where=str(path))
    raise UnknownNameError(f"{text_name!r} is neither a built-in study ({', '.join(builtin_names())}) nor a "
                           "study file; see `resonance study list`")


class _Lines:
    """Line numbers of tables and keys in a TOML text (for error messages)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def table(self, header: str, index: int = 0) -> int | None:
        pattern = re.compile(r"^\s*\[\[?\s*" + re.escape(header) + r"\s*\]\]?\s*(#.*)?$")
        seen = -1
        for number, line in enumerate(self.lines, 1):
            if pattern.match(line):
                seen += 1
                if seen == index:
                    return number
        return None

    def key(self, key: str, start: int | None) -> int | None:
        pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        begin = start or 1
        for number in range(begin, len(self.lines) + 1):
            line = self.lines[number - 1]
            if number > begin and re.match(r"^\s*\[", line):
                break
            if pattern.match(line):
                return number
        return start


def parse_study(text: str, *, where: str = "study file") -> Study:
    """Parse and validate the text of a study file (see the module docstring)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ParameterError(f"{where} is not valid TOML: {error}") from error
    lines = _Lines(text)

    def fail(message: str, line: int | None) -> None:
        at = f" line {line}:" if line else ":"
        raise ParameterError(f"{where}{at} {message}")

    known_top = {"study", "data", "hypotheses", "anova"}
    for key in raw:
        if key not in known_top:
            fail(f"unknown table or key {key!r}; expected {sorted(known_top)}", lines.table(key) or lines.key(key, 1))
    head = raw.get("study")
    study_line = lines.table("study")
    if not isinstance(head, dict):
        fail("missing the [study] table (with at least name = ...)", study_line)
    _check_keys(head, {"name", "title", "description", "alpha", "power", "sesoi", "seed", "source"}, "[study]",
                lines, study_line, fail)
    name = _string(head, "name", "[study]", lines, study_line, fail, required=True)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        fail(f"[study] name {name!r} may hold only letters, digits, '_', '.', '-'", lines.key("name", study_line))
    alpha = _number(head, "alpha", 0.05, lines, study_line, fail, low=0.0, high=1.0)
    power = _number(head, "power", 0.8, lines, study_line, fail, low=0.0, high=1.0)
    sesoi = _number(head, "sesoi", 0.1, lines, study_line, fail, low=0.0, high=None)
    seed = head.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        fail(f"[study] seed must be a non-negative integer, got {seed!r}", lines.key("seed", study_line))

    data = _data_spec(raw.get("data", {}), lines, fail)
    hyp_raw = raw.get("hypotheses", [])
    if not isinstance(hyp_raw, list) or not hyp_raw:
        fail("a study needs at least one [[hypotheses]] table", lines.table("hypotheses") or study_line)
    hypotheses = []
    ids: set[str] = set()
    for index, entry in enumerate(hyp_raw):
        line = lines.table("hypotheses", index)
        hypothesis = _hypothesis(entry, index, line, lines, fail)
        if hypothesis.id in ids:
            fail(f"hypothesis id {hypothesis.id!r} is repeated", lines.key("id", line))
        ids.add(hypothesis.id)
        hypotheses.append(hypothesis)
    anova = []
    anova_raw = raw.get("anova", [])
    if not isinstance(anova_raw, list):
        fail("anova must be an array of tables ([[anova]])", lines.table("anova"))
    for index, entry in enumerate(anova_raw):
        line = lines.table("anova", index)
        if not isinstance(entry, dict):
            fail("each [[anova]] entry must be a table", line)
        _check_keys(entry, {"descriptors", "factor", "corpora", "levels"}, "[[anova]]", lines, line, fail)
        descriptors = _strings(entry, "descriptors", "[[anova]]", lines, line, fail)
        if not descriptors:
            fail("[[anova]] needs descriptors = [\"name\", ...]", lines.key("descriptors", line))
        anova.append(AnovaSpec(descriptors=descriptors, factor=_string(entry, "factor", "[[anova]]", lines, line,
                                                                         fail) or "emotion",
                               corpora=_strings(entry, "corpora", "[[anova]]", lines, line, fail),
                               levels=_strings(entry, "levels", "[[anova]]", lines, line, fail), line=line))
    return Study(name=name, title=_string(head, "title", "[study]", lines, study_line, fail) or name,
                 description=_string(head, "description", "[study]", lines, study_line, fail),
                 data=data, hypotheses=tuple(hypotheses), anova=tuple(anova), alpha=alpha, power=power,
                 sesoi=sesoi, seed=seed, source=_string(head, "source", "[study]", lines, study_line, fail))


def _check_keys(table: Mapping[str, Any], allowed: set[str], what: str, lines: _Lines, line: int | None,
                fail: Any) -> None:
    for key in table:
        if key not in allowed:
            fail(f"unknown key {key!r} in {what}; allowed: {', '.join(sorted(allowed))}", lines.key(key, line))


def _string(table: Mapping[str, Any], key: str, what: str, lines: _Lines, line: int | None, fail: Any,
            required: bool = False) -> str:
    value = table.get(key)
    if value is None:
        if required:
            fail(f"{what} needs {key} = \"...\"", line)
        return ""
    if not isinstance(value, str):
        fail(f"{what} {key} must be a string, got {value!r}", lines.key(key, line))
    return value


def _strings(table: Mapping[str, Any], key: str, what: str, lines: _Lines, line: int | None,
             fail: Any) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fail(f"{what} {key} must be a list of strings, got {value!r}", lines.key(key, line))
    return tuple(value)


def _number(table: Mapping[str, Any], key: str, default: float | None, lines: _Lines, line: int | None, fail: Any,
            low: float | None, high: float | None) -> Any:
    value = table.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(f"{key} must be a number, got {value!r}", lines.key(key, line))
    if (low is not None and value <= low) or (high is not None and value >= high):
        fail(f"{key} must lie in ({low}, {high}), got {value!r}", lines.key(key, line))
    return float(value)


def _data_spec(table: Any, lines: _Lines, fail: Any) -> DataSpec:
    line = lines.table("data")
    if not isinstance(table, dict):
        fail("[data] must be a table", line)
    _check_keys(table, {"modality", "corpora", "splits", "groups", "derive", "standardize", "min_groups"},
                "[data]", lines, line, fail)
    modality = table.get("modality")
    if modality is not None and modality not in MODALITIES:
        fail(f"[data] modality must be one of {MODALITIES}, got {modality!r}", lines.key("modality", line))
    derive = table.get("derive", {})
    if not isinstance(derive, dict) or not all(
            isinstance(v, str) and all("." in part for part in v.split("|")) for v in derive.values()):
        fail("[data] derive must map new column names to \"json_column.key[.key...]\" strings (alternatives "
             "separated by '|')",
             lines.key("derive", line))
    groups = table.get("groups", "group")
    if groups is not None and not isinstance(groups, str):
        fail(f"[data] groups must be a column name, got {groups!r}", lines.key("groups", line))
    standardize = table.get("standardize", True)
    if not isinstance(standardize, bool):
        fail(f"[data] standardize must be true or false, got {standardize!r}", lines.key("standardize", line))
    min_groups = table.get("min_groups", 5)
    if not isinstance(min_groups, int) or isinstance(min_groups, bool) or min_groups < 2:
        fail(f"[data] min_groups must be an integer >= 2, got {min_groups!r}", lines.key("min_groups", line))
    return DataSpec(modality=modality, corpora=_strings(table, "corpora", "[data]", lines, line, fail),
                    splits=_strings(table, "splits", "[data]", lines, line, fail), groups=groups or None,
                    derive=dict(derive), standardize=standardize, min_groups=min_groups)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _hypothesis(entry: Any, index: int, line: int | None, lines: _Lines, fail: Any) -> Hypothesis:
    what = f"[[hypotheses]] #{index + 1}"
    if not isinstance(entry, dict):
        fail(f"{what} must be a table", line)
    _check_keys(entry, {"id", "formula", "term", "expected", "kind", "model", "published", "published_ci", "source",
                        "note", "corpora", "contrast", "covariates", "model_outcome", "sesoi", "family"}, what,
                lines, line, fail)
    hid = _string(entry, "id", what, lines, line, fail, required=True)
    formula = _string(entry, "formula", what, lines, line, fail, required=True)
    parts = formula.split("~")
    if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
        fail(f"{what} formula {formula!r} must read \"outcome ~ predictor [+ predictor ...]\"",
             lines.key("formula", line))
    for name in [parts[0].strip(), *[p.strip() for p in parts[1].split("+")]]:
        if not _NAME.fullmatch(name):
            fail(f"{what} formula {formula!r}: {name!r} is not a column name (only sums of columns are allowed)",
                 lines.key("formula", line))
    predictors = [p.strip() for p in parts[1].split("+")]
    term = _string(entry, "term", what, lines, line, fail) or predictors[0]
    if term not in predictors:
        fail(f"{what} term {term!r} is not one of the formula's predictors {predictors}", lines.key("term", line))
    expected = entry.get("expected")
    if expected not in EXPECTED:
        fail(f"{what} expected must be one of {list(EXPECTED)}, got {expected!r}",
             lines.key("expected", line) if "expected" in entry else line)
    kind = entry.get("kind", "regression")
    if kind not in KINDS:
        fail(f"{what} kind must be one of {list(KINDS)}, got {kind!r}", lines.key("kind", line))
    model = entry.get("model", "mixed")
    if model not in MODELS:
        fail(f"{what} model must be one of {list(MODELS)}, got {model!r}", lines.key("model", line))
    family = entry.get("family")
    if model == "glm":
        family = "binomial" if family is None else family
        if family not in FAMILIES:
            fail(f"{what} family must be one of {list(FAMILIES)}, got {family!r}", lines.key("family", line))
    elif family is not None:
        fail(f"{what} family = {family!r} applies only to model = \"glm\"", lines.key("family", line))
    published = _number(entry, "published", None, lines, line, fail, low=None, high=None)
    published_ci = entry.get("published_ci")
    if published_ci is not None:
        if (not isinstance(published_ci, list) or len(published_ci) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in published_ci)
                or published_ci[0] > published_ci[1]):
            fail(f"{what} published_ci must be [low, high] with low <= high, got {published_ci!r}",
                 lines.key("published_ci", line))
        published_ci = (float(published_ci[0]), float(published_ci[1]))
    contrast = None
    if kind == "contrast":
        contrast = _strings(entry, "contrast", what, lines, line, fail)
        if len(contrast) != 3:
            fail(f"{what} kind = \"contrast\" needs contrast = [\"column\", \"high level\", \"low level\"]",
                 lines.key("contrast", line))
        if term != "contrast":
            fail(f"{what} a contrast's formula must use the predictor 'contrast' (1 = high level, 0 = low)",
                 lines.key("formula", line))
    covariates = _strings(entry, "covariates", what, lines, line, fail)
    if kind == "partial":
        if not covariates:
            fail(f"{what} kind = \"partial\" needs covariates = [\"column\", ...]", line)
        if len(predictors) != 1:
            fail(f"{what} a partial correlation's formula is \"y ~ x\" (controls go in covariates)",
                 lines.key("formula", line))
    model_outcome = entry.get("model_outcome")
    if kind == "compare" and not (isinstance(model_outcome, str) and _NAME.fullmatch(model_outcome)):
        fail(f"{what} kind = \"compare\" needs model_outcome = \"pred_column\"", lines.key("model_outcome", line)
             if "model_outcome" in entry else line)
    columns = [parts[0].strip(), *predictors, *covariates, *([model_outcome] if model_outcome else [])]
    needs = kind == "compare" or any(c.startswith(("pred_", "match_")) for c in columns)
    sesoi = _number(entry, "sesoi", None, lines, line, fail, low=0.0, high=None)
    return Hypothesis(id=hid, formula=formula, term=term, expected=expected, kind=kind, model=model,
                      published=published, published_ci=published_ci,
                      source=_string(entry, "source", what, lines, line, fail),
                      note=_string(entry, "note", what, lines, line, fail),
                      corpora=_strings(entry, "corpora", what, lines, line, fail), contrast=contrast,
                      covariates=covariates, model_outcome=model_outcome if kind == "compare" else None,
                      needs_predictions=needs, sesoi=sesoi, family=family, line=line)


def describe(studies: Sequence[Study]) -> list[dict[str, Any]]:
    """One row per study for ``resonance study list``."""
    return [{"name": s.name, "title": s.title, "hypotheses": len(s.hypotheses),
             "needs_predictions": s.needs_predictions, "modality": s.data.modality or "any",
             "corpora": ",".join(s.data.corpora) or "any"} for s in studies]
