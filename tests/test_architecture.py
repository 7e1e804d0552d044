"""The layering rules of CONTRIBUTING.md, checked on the source (static imports, by AST).

* The bottom layer imports no framework at module level.
* A family uses another family only through its public names, imported at module top.
* A backend module (``_torch*``, ``_numba*``, ``_jax*``) never imports its family's
  reference modules; no import cycle anywhere in ``src/``.
* The registry imports only the families (and the bottom layer).
* The front ends (``losskit.torch``, ``losskit.cli``, ``losskit.experiments``,
  ``losskit.integrations``, ``losskit.keras``) use only public names of the families.
* Every import path that ``losskit info`` / ``losskit list`` print imports.

(``import losskit`` importing no framework and no family is tested in ``tests/test_core.py``; its import
time is measured by ``benchmarks/run.py``, not asserted.)
"""

from __future__ import annotations

import ast
import importlib
import pathlib

import losskit

SRC = pathlib.Path(losskit.__file__).resolve().parent
FRAMEWORKS = {"torch", "jax", "jaxlib", "numba", "keras", "tensorflow", "ultralytics", "transformers"}
BOTTOM = {"_xp", "_checks", "_reduce", "_meta", "_fastpath", "_numba", "_grad", "_per_row"}
FRONT_ENDS = {"torch", "cli", "experiments", "integrations", "keras"}


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}
FAMILIES = sorted(
    m.split(".")[1] for m in MODULES
    if m.count(".") == 1 and not m.split(".")[1].startswith("_")
    and m.split(".")[1] not in FRONT_ENDS | {"registry", "textbook"}
) + ["textbook"]


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, *, top_only: bool):
    """(target module, imported names, lineno, at module level) for each import."""
    tree = ast.parse(MODULES[module].read_text())
    # module level = not inside a def (class bodies run at import: count them as top)
    inside_def = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for sub in ast.walk(node):
                if sub is not node:
                    inside_def.add(id(sub))
    for node in ast.walk(tree):
        at_top = id(node) not in inside_def
        if top_only and not at_top:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, (), node.lineno, at_top
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            names = tuple(a.name for a in node.names)
            # ``from pkg import sub`` where sub is a module: the edge goes to the submodule
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            if subs:
                for s in subs:
                    yield s, (), node.lineno, at_top
                rest = tuple(n for n in names if f"{target}.{n}" not in MODULES)
                if rest:
                    yield target, rest, node.lineno, at_top
            else:
                yield target, names, node.lineno, at_top


def _family_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "losskit" and parts[1] in FAMILIES:
        return parts[1]
    return None


def test_bottom_layer_imports_no_framework_at_module_level():
    bad = []
    for name in BOTTOM | {"registry"}:
        module = f"losskit.{name}"
        for target, _, line, _ in _imports(module, top_only=True):
            if target.split(".")[0] in FRAMEWORKS:
                bad.append(f"{module}:{line} imports {target}")
    assert bad == []


def test_families_import_no_framework_at_module_level():
    bad = []
    for module in MODULES:
        fam = _family_of(module)
        if fam is None or module.split(".")[-1].startswith(("_torch", "_numba", "_jax")):
            continue
        for target, _, line, _ in _imports(module, top_only=True):
            if target.split(".")[0] in FRAMEWORKS:
                bad.append(f"{module}:{line} imports {target}")
    assert bad == []


def _private_use(target: str, names: tuple, family: str) -> str | None:
    """Why an import of ``target``/``names`` reaches into ``family``'s privates, or None."""
    parts = target.split(".")
    if any(p.startswith("_") for p in parts[2:]):
        return f"a private module {target}"
    private = [n for n in names if n.startswith("_")]
    if private:
        return f"private names {private} of {target}"
    return None


def test_families_use_each_other_only_through_public_names_at_top():
    bad = []
    for module in MODULES:
        fam = _family_of(module)
        if fam is None:
            continue
        for target, names, line, at_top in _imports(module, top_only=False):
            other = _family_of(target)
            if other is None or other == fam:
                continue
            why = _private_use(target, names, other)
            if why:
                bad.append(f"{module}:{line} uses {why}")
            if not at_top:
                bad.append(f"{module}:{line} imports {target} inside a function")
    assert bad == []


def test_backend_modules_never_import_their_reference_modules():
    bad = []
    for module in MODULES:
        fam = _family_of(module)
        leaf = module.split(".")[-1]
        if fam is None or not leaf.startswith(("_torch", "_numba", "_jax")):
            continue
        for target, names, line, _ in _imports(module, top_only=False):
            if _family_of(target) != fam:
                continue
            rest = target.split(".")[2:]
            if target == f"losskit.{fam}" or (rest and not rest[-1].startswith("_")):
                bad.append(f"{module}:{line} imports the reference module {target}")
    assert bad == []


def test_no_import_cycles():
    graph = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _, _, _ in _imports(module, top_only=True):
            if target in MODULES and target != module:
                graph[module].add(target)
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + "."):
                continue  # a package importing its own submodule
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                if not all(a.startswith(b + ".") or b.startswith(a + ".") for a, b in zip(cycle, cycle[1:])):
                    cycles.append(" -> ".join(cycle))
            elif state.get(nxt) is None:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert cycles == []


def test_registry_imports_only_the_families():
    allowed = {f"losskit.{f}" for f in FAMILIES} | {f"losskit.{b}" for b in BOTTOM}
    bad = []
    for target, _, line, _ in _imports("losskit.registry", top_only=False):
        if target.startswith("losskit") and target not in allowed:
            bad.append(f"losskit.registry:{line} imports {target}")
    source = MODULES["losskit.registry"].read_text()
    for front in FRONT_ENDS:
        assert f'"losskit.{front}' not in source, f"the registry names losskit.{front}"
    assert bad == []


def _private_attributes(module: str, bound: dict[str, str]):
    """``alias._name`` uses in ``module`` where ``alias`` is bound to a family module."""
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in bound and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            yield f"{module}:{node.lineno} uses {bound[node.value.id]}.{node.attr}"


def _bound_family_modules(module: str) -> dict[str, str]:
    """Local names bound to a family's modules by ``import``/``from ... import``."""
    bound = {}
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for a in node.names:
                full = f"{target}.{a.name}"
                if full in MODULES and _family_of(full):
                    bound[a.asname or a.name] = full
        elif isinstance(node, ast.Import):
            for a in node.names:
                if _family_of(a.name) and a.asname:
                    bound[a.asname] = a.name
    return bound


def test_front_ends_use_only_public_names_of_the_families():
    bad = []
    for module in MODULES:
        parts = module.split(".")
        if len(parts) < 2 or parts[1] not in FRONT_ENDS:
            continue
        for target, names, line, _ in _imports(module, top_only=False):
            fam = _family_of(target)
            if fam is None:
                continue
            why = _private_use(target, names, fam)
            if why:
                bad.append(f"{module}:{line} uses {why}")
        bad.extend(_private_attributes(module, _bound_family_modules(module)))
    assert bad == []


def test_every_printed_path_imports():
    for info in losskit.registry.infos():
        module, _, name = info.path.rpartition(".")
        assert getattr(importlib.import_module(module), name) is info.fn, info.path


def test_loss_metadata_family_is_the_package_and_doc_markers_fill():
    import pytest

    from losskit._meta import loss
    from losskit.registry import infos

    for info in infos():
        assert info.fn.__module__.split(".")[1] == info.family, info.name
        assert "%(" not in (info.fn.__doc__ or ""), info.name

    def fn(x):
        """Sum. Args: %(x)s"""

    fn.__module__ = "losskit.regression.elsewhere"
    marked = loss(formula="x", doc={"x": "an array"})(fn)
    assert marked.__losskit__.family == "regression" and marked.__doc__ == "Sum. Args: an array"

    def unfilled(x):
        """Sum. Args: %(x)s %(y)s"""

    unfilled.__module__ = "losskit.regression.elsewhere"
    with pytest.raises(ValueError, match=r"doc: no text for the marker\(s\) y"):
        loss(formula="x", doc={"x": "an array"})(unfilled)
    outside = lambda x: x  # noqa: E731
    outside.__module__ = "mypackage.losses"
    with pytest.raises(ValueError, match="not a family module; pass family="):
        loss(formula="x")(outside)
    assert loss(formula="x", family="image")(outside).__losskit__.family == "image"
