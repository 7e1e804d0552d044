"""Which peer library each loss is tested against, read from ``tests/parity/*.py``.

The parity tests are the truth of "tested against": rather than a hand-kept list that would
drift, each ``test_*`` function of a parity module is parsed (never imported or run here),
the module-level names it uses are followed (the case tables, helpers, peer loaders), and
two things are read from that closure: the registered losses it calls (``losskit.NAME`` or
a string that is a registered name) and the peer libraries it reaches (import paths, peer
loaders and distribution names, matched against :data:`PEERS`). Versions are those installed
where the docs are built, which is where the tests run (CI).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.metadata
import pathlib
import re

# distribution -> (what users call it, identifiers that show a test reaches it). "torch"
# alone would match every test (tensors are built with it); torch is a peer where a test
# reaches torch.nn.functional.
PEERS = {
    "torch": ("PyTorch torch.nn.functional", ("torch.nn.functional",)),
    "monai": ("MONAI", ("monai",)),
    "segmentation-models-pytorch": ("segmentation_models_pytorch", ("segmentation_models_pytorch",)),
    "torchvision": ("torchvision", ("torchvision",)),
    "ultralytics": ("ultralytics", ("ultralytics",)),
    "scikit-learn": ("scikit-learn", ("sklearn",)),
    "optax": ("optax", ("optax",)),
    "pytorch-metric-learning": ("pytorch-metric-learning", ("pytorch_metric_learning",)),
    "pytorch-msssim": ("pytorch-msssim", ("pytorch_msssim", "pytorch-msssim")),
    "piq": ("piq", ("piq",)),
    "torchmetrics": ("torchmetrics", ("torchmetrics",)),
    "scikit-image": ("scikit-image", ("skimage", "scikit-image", "scikit_image")),
}


@dataclasses.dataclass(frozen=True)
class ParityTest:
    path: str  # tests/parity/test_x_parity.py
    name: str  # test function
    losses: frozenset
    peers: frozenset  # distributions


def _token(token: str) -> re.Pattern:
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(token) + r"(?![A-Za-z0-9])")


_TOKENS = {dist: [_token(t) for t in tokens] for dist, (_, tokens) in PEERS.items()}


def _strip_docstring(node):
    body = getattr(node, "body", None)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _module_defs(tree: ast.Module) -> dict[str, list]:
    """Module-level name -> the statements that bind it (defs, assignments), or for an
    imported name the dotted path it was imported from."""
    defs: dict[str, list] = {}
    for stmt in tree.body:
        names = []
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            names = [stmt.name]
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            # each imported name is its own evidence: `from peers import load_a, load_b`
            # must not make a test that uses load_a reach b
            base = getattr(stmt, "module", None) or ""
            for a in stmt.names:
                defs.setdefault((a.asname or a.name).split(".")[0], []).append(
                    f"{base}.{a.name}" if base else a.name)
        for name in names:
            defs.setdefault(name, []).append(stmt)
    return defs


def _evidence(stmt) -> tuple[set[str], set[str]]:
    """(names used, identifier strings) of one statement, its docstring left out."""
    names, strings = set(), set()
    if isinstance(stmt, str):  # an imported name's dotted path
        return names, {stmt}
    nodes = [stmt]
    if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
        nodes = list(stmt.decorator_list) + list(_strip_docstring(stmt) or [])
    for root in nodes:
        for node in ast.walk(root):
            if isinstance(node, ast.Name):
                names.add(node.id)
                strings.add(node.id)
            elif isinstance(node, ast.Attribute):
                strings.add(ast.unparse(node))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
    return names, strings


def scan(root: pathlib.Path, loss_names) -> list[ParityTest]:
    """Every parity test under ``root / "tests" / "parity"`` with its losses and peers."""
    loss_names = set(loss_names)
    found = []
    for path in sorted((root / "tests" / "parity").glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defs = _module_defs(tree)
        for stmt in tree.body:
            if not (isinstance(stmt, ast.FunctionDef) and stmt.name.startswith("test_")):
                continue
            seen, todo, strings = {id(stmt)}, [stmt], set()
            while todo:
                names, found_strings = _evidence(todo.pop())
                strings |= found_strings
                for name in names:
                    for bound in defs.get(name, ()):
                        key = bound if isinstance(bound, str) else id(bound)
                        if key not in seen:
                            seen.add(key)
                            todo.append(bound)
            losses = {s.split(".", 1)[1] for s in strings if s.startswith("losskit.")} & loss_names
            losses |= strings & loss_names
            peers = {d for d, pats in _TOKENS.items() if any(p.search(s) for p in pats for s in strings)}
            found.append(ParityTest(str(path.relative_to(root)), stmt.name, frozenset(losses), frozenset(peers)))
    return found


def version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def by_loss(tests: list[ParityTest]) -> dict[str, dict[str | None, list[ParityTest]]]:
    """loss -> {peer distribution (None: no peer library, an independent formula): tests}."""
    out: dict[str, dict] = {}
    for t in tests:
        for name in t.losses:
            for peer in sorted(t.peers) or [None]:
                out.setdefault(name, {}).setdefault(peer, []).append(t)
    return out
