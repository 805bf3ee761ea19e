"""House rules made executable: the import layering, no torch below the models, no import cycles in
handcrafted, explicit descriptor registration, and the library's doctests.

The layering is declared once, as import-linter contracts in ``pyproject.toml`` (``lint-imports``);
:func:`test_import_linter_contracts_hold` runs them. The AST checks below hold the same rules without
import-linter, so that they also run where it is not installed, and say which line breaks them.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("resonance", "handcrafted", "attribution", "studies")

#: Bottom to top: a module may import only its own layer and the layers before it. Within one entry
#: the parts may import each other (models, train and evaluate; the studies-level packages are
#: checked apart below). Anything not listed under a layer must be a base module.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("resonance.io",),
    ("resonance.data",),
    ("handcrafted",),
    ("resonance.models", "resonance.train", "resonance.evaluate"),
    ("attribution", "studies", "resonance.judge"),
    ("resonance.demo",),
    ("resonance.cli",),
)
#: Modules anyone may import; they import no layer.
BASE_MODULES = ("resonance", "resonance.errors", "resonance.paths", "resonance.provenance",
                "resonance.parallel")
#: No torch here (directly or through another of our modules).
TORCH_FREE = ("resonance.io", "resonance.data", "handcrafted", "studies")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    sources = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                sources[_module_name(path)] = path
    return sources


SOURCES = _sources()


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """Every module ``module`` imports (at any depth of the file: function-level imports count),
    resolved to our modules where they are ours: ``from a import b`` is ``a.b`` when that is a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.append((candidate if candidate in SOURCES else target, node.lineno))
    return found


GRAPH = {module: _imports(module, path) for module, path in SOURCES.items()}


def _layer(module: str) -> int | None:
    for index, parts in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in parts):
            return index
    return None


def _is_base(module: str) -> bool:
    return module in BASE_MODULES


def test_import_linter_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    command = [str(lint)] if lint.exists() else ([shutil.which("lint-imports")] if shutil.which("lint-imports")
                                                  else None)
    if command is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]'); the AST checks below hold")
    result = subprocess.run(command + ["--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout and " 0 broken" in result.stdout


def test_every_module_sits_in_a_layer_or_is_a_base_module():
    unplaced = [m for m in SOURCES if _layer(m) is None and not _is_base(m)]
    assert not unplaced, f"modules outside the layering (add them to LAYERS and pyproject): {unplaced}"


def test_no_module_imports_a_higher_layer():
    broken = []
    for module, imports in GRAPH.items():
        own = _layer(module)
        for target, line in imports:
            if target.split(".")[0] not in PACKAGES:
                continue
            if _is_base(target):
                continue
            other = _layer(target)
            if _is_base(module):
                broken.append(f"base module {module} imports {target} (line {line})")
            elif other is not None and own is not None and other > own:
                broken.append(f"{module} ({LAYERS[own][0]}) imports {target} ({LAYERS[other][0]}), line {line}")
    assert not broken, "\n".join(broken)


def _top(module: str) -> str:
    return "resonance.judge" if module.startswith("resonance.judge") else module.split(".")[0]


def test_studies_level_packages_are_independent():
    tops = {"attribution", "studies", "resonance.judge"}
    broken = [f"{m} imports {t} (line {n})" for m, imports in GRAPH.items() for t, n in imports
              if _top(m) in tops and _top(t) in tops and _top(t) != _top(m)]
    assert not broken, "\n".join(broken)


def test_only_the_judge_cli_imports_the_web_app():
    importers = sorted(m for m, imports in GRAPH.items() for t, _ in imports if t == "resonance.judge.web")
    assert importers == ["resonance.cli.judge"], importers


def test_no_torch_below_the_models():
    def reaches_torch(module: str, seen: set[str]) -> list[str] | None:
        for target, line in GRAPH.get(module, []):
            if target == "torch" or target.startswith("torch."):
                return [f"{module} -> {target} (line {line})"]
            if target in GRAPH and target not in seen:
                seen.add(target)
                chain = reaches_torch(target, seen)
                if chain:
                    return [f"{module} -> {target} (line {line})", *chain]
        return None

    broken = {}
    for module in GRAPH:
        if any(module == p or module.startswith(p + ".") for p in TORCH_FREE):
            chain = reaches_torch(module, {module})
            if chain:
                broken[module] = chain
    assert not broken, broken


def test_importing_the_data_and_descriptor_layers_loads_no_torch():
    code = ("import sys, resonance.io, resonance.data, resonance.data.probes, handcrafted, handcrafted.extract; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def _cycles(modules: list[str]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), among ``modules``."""
    edges = {m: sorted({t for t, _ in GRAPH[m] if t in modules and t != m}) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in edges[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    return components


def test_no_import_cycles_within_handcrafted():
    modules = [m for m in GRAPH if m == "handcrafted" or m.startswith("handcrafted.")]
    assert {"handcrafted.audio.context", "handcrafted.image.context", "handcrafted.image.texture.glcm"} <= set(modules)
    assert _cycles(modules) == []


def test_cycle_finder_finds_a_cycle(monkeypatch):
    # the check above could pass vacuously; a planted cycle must be reported
    monkeypatch.setitem(GRAPH, "handcrafted.registry", GRAPH["handcrafted.registry"] + [("handcrafted.compute", 1)])
    modules = [m for m in GRAPH if m.startswith("handcrafted")]
    assert ["handcrafted.compute", "handcrafted.registry"] in _cycles(modules)


def test_context_modules_import_no_family_and_families_no_assembler():
    """The direction inside each descriptor package: context <- family modules <- ``__init__``."""
    for kind in ("audio", "image"):
        package = f"handcrafted.{kind}"
        context_imports = {t for t, _ in GRAPH[f"{package}.context"] if t.startswith("handcrafted")}
        assert context_imports <= {"handcrafted.pitch"}, context_imports
        for module in GRAPH:
            if module.startswith(package + ".") and module != f"{package}.context":
                targets = {t for t, _ in GRAPH[module]}
                assert package not in targets, f"{module} imports its assembling package {package}"


def test_registration_is_explicit():
    """No family module registers at import: ``register(registry)`` fills a fresh registry with exactly
    the default registry's descriptors, in the same order, and describe_* computes from it."""
    import handcrafted.audio
    import handcrafted.image
    from handcrafted import DESCRIPTOR_SET, REGISTRY, Registry

    fresh = Registry()
    assert len(fresh) == 0
    handcrafted.image.register(fresh)
    handcrafted.audio.register(fresh)
    for modality in ("image", "audio"):
        assert [d.name for d in fresh.select(modality)] == [d.name for d in REGISTRY.select(modality)]
        assert tuple(d.name for d in fresh.select(modality)) == DESCRIPTOR_SET.names[modality]
    sr = 16000
    y = (0.3 * np.sin(2 * np.pi * 220.0 * np.arange(sr) / sr)).astype(np.float32)
    assert handcrafted.audio.describe_audio(y, sr=sr, registry=fresh) == handcrafted.audio.describe_audio(y, sr=sr)
    image = np.random.default_rng(0).integers(0, 256, (24, 30, 3), dtype=np.uint8)
    assert handcrafted.image.describe_image(image, registry=fresh) == handcrafted.image.describe_image(image)
    only_colour = Registry()
    handcrafted.image.colour.register(only_colour)
    assert set(handcrafted.image.describe_image(image, registry=only_colour)) == \
        {d.name for d in REGISTRY.select("image", groups=["colour"])}


def test_describe_audio_takes_the_rate_by_keyword_only():
    from handcrafted import describe_audio

    y = np.zeros(16000, dtype=np.float32)
    with pytest.raises(TypeError):
        describe_audio(y, 16000)  # type: ignore[misc]
    assert set(describe_audio(y, sr=16000, groups="energy")) == {"rms_mean_dbfs", "rms_std_db", "dynamic_range_db",
                                                                 "loudness_dba", "low_energy_ratio"}


def test_registry_rejects_an_unknown_modality():
    from handcrafted import REGISTRY
    from resonance.errors import ParameterError

    with pytest.raises(ParameterError, match="unknown modality 'imag'"):
        REGISTRY.select(modality="imag")
    with pytest.raises(ParameterError):
        REGISTRY.extractors("sound")


# ------------------------------------------------------------------------------------------------
# Doctests: every module of the library, one test each


DOCTEST_MODULES = sorted(m for m, p in SOURCES.items() if ">>>" in p.read_text(encoding="utf-8"))


def test_doctests_are_found():
    assert {"handcrafted.audio", "handcrafted.image", "resonance.data.probes.rules"} <= set(DOCTEST_MODULES)


@pytest.mark.parametrize("module_name", DOCTEST_MODULES)
def test_doctests(module_name):
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False)
    tests = [t for t in finder.find(module, module_name) if t.examples]
    assert tests, f"{module_name} mentions '>>>' but has no doctest"
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {module_name}"
