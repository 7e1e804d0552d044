"""Sphinx extension: the loss pages, family pages and API pages, generated from the registry.

At ``builder-inited`` (before Sphinx reads any source) this writes

* ``losses/index.rst``: every registered loss in one table (what the README's table was);
* ``losses/<family>.rst``: the family's guide (hand-written: ``families/<family>-guide.md``,
  a table "which loss for which situation"), its overview (``families/*.md`` named after the
  family, when there is one), its comparison table and its curves side by side;
* ``losses/<name>.rst``: one page per loss (summary, formula, curves, options, peers it is
  tested against, fast paths, backends, references, then the docstring through autodoc);
* ``api/losskit.rst``, ``api/torch.rst``, ``api/cli.rst``: the flat API's other names, the
  ``losskit.torch`` modules, and the CLI's ``--help`` texts.

A loss added to the registry gets its pages with no hand edit. Figures are drawn by the code
behind ``losskit plot`` (:mod:`losskit.experiments.curves`) and cached under a hash of the
library's source, so an unchanged tree redraws nothing. Files are rewritten only when their
text changes.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import os
import pathlib
import re
import shutil
import textwrap
from contextlib import redirect_stderr, redirect_stdout

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def cache_dir() -> pathlib.Path:
    """Where figures and executed tutorials are cached (``LOSSKIT_DOCS_CACHE`` overrides)."""
    return pathlib.Path(os.environ.get("LOSSKIT_DOCS_CACHE", ROOT / "build" / "docs-cache"))


def source_hash() -> str:
    """A hash of the library's source (and the plotting library's version): what the
    figures and the tutorial outputs depend on."""
    import matplotlib

    h = hashlib.sha256(matplotlib.__version__.encode())
    for path in sorted((ROOT / "src" / "losskit").rglob("*.py")):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def write_if_changed(path: pathlib.Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def escape(text: str) -> str:
    """Plain text (a reference, a path) safe inside reST."""
    return re.sub(r"([\\`*_|\[\]<>])", r"\\\1", text)


def heading(text: str, char: str = "=") -> str:
    return f"{text}\n{char * len(text)}\n"


def linked_reference(ref: str) -> str:
    """A reference with its arXiv ids and DOIs as links."""
    out, pos = [], 0
    for m in re.finditer(r"arXiv:(\d{4}\.\d{4,5})|doi:(10\.\S+?)(?=[,;)]?(?:\s|$))", ref):
        out.append(escape(ref[pos:m.start()]))
        if m.group(1):
            out.append(f"`arXiv:{m.group(1)} <https://arxiv.org/abs/{m.group(1)}>`__")
        else:
            out.append(f"`doi:{m.group(2)} <https://doi.org/{m.group(2)}>`__")
        pos = m.end()
    out.append(escape(ref[pos:]))
    return "".join(out)


def args_section(doc: str) -> dict[str, str]:
    """``Args:`` of a Google-style docstring: argument name -> its text (reST, one line).
    ``smooth_nr, smooth_dr: ...`` gives both names the text."""
    lines = doc.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Args:")
    except StopIteration:
        return {}
    indent = len(lines[start]) - len(lines[start].lstrip())
    entries, current = {}, None
    for line in lines[start + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break  # the next section
        m = re.match(r"^\s+([\w*]+(?:\s*,\s*[\w*]+)*)\s*:\s*(.*)$", line)
        if m and len(line) - len(line.lstrip()) <= indent + 4:
            current = [m.group(2).strip()]
            for name in re.split(r"\s*,\s*", m.group(1)):
                entries[name.lstrip("*")] = current
        elif current is not None and line.strip():
            current.append(line.strip())
    return {k: " ".join(v) for k, v in entries.items()}


def list_table(header: list[str], rows: list[list[str]], widths: str | None = None) -> str:
    out = [".. list-table::", "   :header-rows: 1"]
    if widths:
        out.append(f"   :widths: {widths}")
    out.append("")
    for row in [header] + rows:
        for k, cell in enumerate(row):
            lead = "   * - " if k == 0 else "     - "
            cell_lines = (cell or " ").splitlines() or [" "]
            out.append(lead + cell_lines[0])
            out.extend("       " + c for c in cell_lines[1:])
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------- figures


def _draw(curves_list, path, cache_key: str) -> None:
    """Draw ``curves_list`` to ``path`` through the cache."""
    from losskit.experiments import curves as C

    cached = cache_dir() / "figures" / f"{cache_key}.png"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp.png")
        C.draw(curves_list, tmp, grad=True)
        tmp.replace(cached)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != cached.read_bytes():
        shutil.copyfile(cached, path)


def loss_figure(info, out_dir: pathlib.Path, src_hash: str) -> tuple[str | None, str]:
    """(image file name or None, why there is none): the loss and its derivative."""
    from losskit.experiments import curves as C

    if info.plot is None:
        return None, "This loss has no 1-D curve (its inputs are not one number per sample)."
    if not info.differentiable:
        return None, "This loss is not differentiable (its gradient is zero almost everywhere)."
    key = hashlib.sha256(f"{src_hash}:{info.name}".encode()).hexdigest()[:20]
    name = f"{info.name}.png"
    cached = cache_dir() / "figures" / f"{key}.png"
    if not cached.exists():
        try:
            curves_list = C.loss_curves(info, grad=True)
        except (C.CurveError, ImportError) as exc:
            return None, f"No curve is drawn with the default options: {exc}."
        _draw(curves_list, out_dir / name, key)
    else:
        _draw(None, out_dir / name, key)
    return name, ""


def family_figure(family: str, infos, out_dir: pathlib.Path, src_hash: str) -> str | None:
    from losskit.experiments import curves as C

    drawable = [i for i in infos if i.plot is not None and i.differentiable]
    if len(drawable) < 2:
        return None
    key = hashlib.sha256(f"{src_hash}:family:{family}:{[i.name for i in drawable]}".encode()).hexdigest()[:20]
    name = f"family-{family}.png"
    if not (cache_dir() / "figures" / f"{key}.png").exists():
        curves_list = []
        for info in drawable:
            try:
                curves_list.extend(C.loss_curves(info, grad=True))
            except (C.CurveError, ImportError):
                continue  # its own page says why
        if not curves_list:
            return None
        _draw(curves_list, out_dir / name, key)
    else:
        _draw(None, out_dir / name, key)
    return name


# ---------------------------------------------------------------------------- pages

PLOT_AXES = {
    "residual": "the residual ``input - target``",
    "margin": "the margin :math:`y f(x)` (label 1, logit :math:`m`)",
    "box": "the horizontal offset (left) and the scale (right) of a unit box against the unit box",
    "dice": "the predicted probability of the true class (one foreground pixel)",
}


def _module_forms(info) -> list[str]:
    forms = []
    try:
        import losskit.torch as lt
    except ImportError:
        return forms
    if hasattr(lt, info.shell_name):
        forms.append(f":class:`losskit.torch.{info.shell_name}`")
    return forms


def _peer_lines(info, parity) -> list[str]:
    from losskit_parity import PEERS, version

    tested = parity.get(info.name, {})
    lines = []
    for peer in sorted(tested, key=lambda p: (p is None, p or "")):
        tests = sorted({f"``{t.name}``" for t in tested[peer]})
        files = sorted({t.path for t in tested[peer]})
        where = f"({', '.join(tests)} in ``{', '.join(files)}``)"
        if peer is None:
            lines.append(f"- an independent float64 formula written from the paper {where}")
        else:
            v = version(peer)
            shown = f"{PEERS[peer][0]} {v}" if v else f"{PEERS[peer][0]} (not installed where these pages were built)"
            lines.append(f"- **{shown}** {where}")
    return lines


def loss_page(info, parity, figure: str | None, no_figure: str, fast_paths: dict) -> str:
    doc = inspect.getdoc(info.fn) or ""
    args = args_section(doc)
    sig = inspect.signature(info.fn)
    module = info.path.rsplit(".", 1)[0]
    # The docstring's short references (:func:`dice_loss`) resolve in the public module.
    out = [f".. _loss-{info.name}:", "", f".. currentmodule:: {module}", "", heading(info.name), info.summary, ""]
    fields = [f":Family: :doc:`{info.family} <{info.family}>`", f":Call: ``{info.path}{sig}``"]
    if info.aliases:
        fields.append(f":Aliases: {', '.join(f'``{a}``' for a in info.aliases)} (``losskit.get`` and the CLI take them)")
    forms = _module_forms(info)
    if forms:
        fields.append(f":Module form: {', '.join(forms)}")
    fields.append(f":Backends: {', '.join(info.backends)}")
    grad = "yes" + ("; a hand-derived gradient for NumPy (``losskit.value_and_grad``)" if info.grad else "")
    fields.append(f":Differentiable: {grad if info.differentiable else 'no'}")
    out += fields + [""]

    out += [heading("Formula", "-"), ".. math::", "", textwrap.indent(info.formula, "   "), ""]

    out.append(heading("Curves", "-"))
    if figure:
        out += [f".. figure:: _images/{figure}", f"   :alt: {info.name} and its derivative", "",
                f"   The loss (top) and its derivative (bottom) against {PLOT_AXES[info.plot]}, default",
                f"   options: ``losskit plot {info.name} --grad``.", ""]
    else:
        out += [no_figure, ""]

    out.append(heading("Options", "-"))
    rows = []
    for name, default in info.options.items():
        shown = "required" if default is inspect.Parameter.empty else f"``{default!r}``"
        rows.append([f"``{name}``", shown, args.get(name, "")])
    out += [list_table(["option", "default", "meaning"], rows, widths="18 14 68") if rows else "No options.", ""]
    arrays = [f"``{a}``: {args.get(a, '')}" for a in info.arguments]
    if arrays:
        out += ["Arrays:", ""] + [f"- {a}" for a in arrays] + [""]

    out.append(heading("Tested against", "-"))
    peers = _peer_lines(info, parity)
    if peers:
        out += ["The parity tests compare values (and gradients where the peer has them) with:", ""]
        out += peers + ["", "Where the conventions differ, the docstring below says how (its notes).", ""]
    else:
        out += ["No peer library: checked by its case table (hand-derived values, gradients against "
                "float64 numerical gradients, bad input, half precision, the empty batch) in "
                f"``tests/cases/{info.family}.py``.", ""]

    out.append(heading("Fast paths", "-"))
    if info.fast_paths:
        out += ["Eager calls may take a backend-specific path; the reference code runs otherwise "
                "(``losskit.fast_paths(False)`` or ``LOSSKIT_FAST_PATHS=0`` switch them off). "
                "The tests pin each to the reference (values and gradients).", ""]
        for name in info.fast_paths:
            fp = fast_paths[name]
            out.append(f"- ``{fp.name}``: {fp.where()}; {escape(fp.when)}")
        out.append("")
    else:
        out += ["None: the array-API reference code runs on every backend.", ""]

    if info.reference:
        out += [heading("References", "-"), linked_reference(info.reference), ""]

    out += [heading("Reference documentation", "-"), f".. autofunction:: {info.path}", ""]
    return "\n".join(out)


def _options_brief(info) -> str:
    names = [n for n in info.options if n != "reduction"]
    return ", ".join(f"``{n}``" for n in names[:6]) + (", ..." if len(names) > 6 else "") or "none"


GUIDE_TITLE = "Which loss for which situation"


def guide_path(family: str) -> pathlib.Path:
    """The family's hand-written guide (its name has no ``+``: one guide per family)."""
    return DOCS / "families" / f"{family}-guide.md"


def family_page(family: str, infos, parity, figure: str | None) -> str:
    from losskit_parity import PEERS

    title = family.replace("_", " ")
    out = [f".. _family-{family}:", "", heading(title[:1].upper() + title[1:])]
    include = ["   :parser: myst_parser.sphinx_", ""]
    # First the hand-written guide, docs/families/<family>-guide.md: which loss for which
    # situation (tests/test_docs_site.py requires one per family).
    guide = guide_path(family)
    if guide.exists():
        out += [f".. _guide-{family}:", "", heading(GUIDE_TITLE, "-"),
                f".. include:: ../families/{guide.name}"] + include
    # Then the hand-written overviews: docs/families/<family>.md, or one shared by several
    # families (regression+classification.md).
    overviews = [p for p in sorted((DOCS / "families").glob("*.md")) if family in p.stem.split("+")]
    if overviews:
        out += [heading("Overview and examples", "-")]
    for overview in overviews:
        out += [f".. include:: ../families/{overview.name}"] + include
    out += [heading("The losses", "-")]
    rows = []
    for info in infos:
        peers = sorted({PEERS[p][0] for p in parity.get(info.name, {}) if p})
        rows.append([f":doc:`{info.name}`", info.summary, _options_brief(info),
                     ", ".join(f"``{p}``" for p in info.fast_paths) or "none",
                     ", ".join(b for b in info.backends), ", ".join(peers) or "none"])
    out += [list_table(["loss", "what it is", "options", "fast paths", "backends", "tested against"], rows,
                       widths="16 34 18 12 10 10"), ""]
    if figure:
        out += [heading("Curves side by side", "-"), f".. figure:: _images/{figure}", f"   :alt: the {title} losses",
                "", "   Every loss of the family with a 1-D curve, default options, its derivative below.", ""]
    out += [".. toctree::", "   :hidden:", ""] + [f"   {i.name}" for i in infos] + [""]
    return "\n".join(out)


def index_page(infos, families) -> str:
    out = [heading("Losses"), f"{len(infos)} losses in {len(families)} families, generated from the registry "
           "(``losskit list``): this table cannot drift from the code.", "",
           ".. toctree::", "   :maxdepth: 1", ""] + [f"   {f}" for f in families] + [""]
    rows = [[f":doc:`{i.name}`", f":doc:`{i.family} <{i.family}>`", i.summary,
             linked_reference(i.reference) if i.reference else ""] for i in infos]
    out += [list_table(["loss", "family", "what it is", "reference"], rows, widths="18 12 35 35"), ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------- API pages


def api_losskit_page(infos) -> str:
    import losskit

    losses = {i.name for i in infos}
    others = [n for n in losskit.__all__ if n not in losses and not n.startswith("__")
              and not inspect.ismodule(getattr(losskit, n))]
    out = [heading("losskit"), ".. module:: losskit", "",
           "The flat API. Every loss is ``losskit.<name>``, each on its own page (:doc:`../losses/index`); "
           "the textbook definitions are in :mod:`losskit.textbook`. The other public names:", ""]
    for name in others:
        obj = getattr(losskit, name)
        if callable(obj):
            out += [f".. autofunction:: losskit.{name}", ""]
        else:
            doc = _attr_doc_anywhere(name)
            out += [f".. py:data:: losskit.{name}", "", textwrap.indent(doc or "A constant.", "   "), ""]
    return "\n".join(out)


def api_torch_page(infos) -> str:
    import losskit.torch as lt

    by_shell = {i.shell_name: i for i in infos}
    out = [heading("losskit.torch"), ".. module:: losskit.torch", "",
           ".. py:module:: losskit.torch.image", "", ".. py:module:: losskit.torch.boxes", "",
           ".. py:module:: losskit.torch.metric_learning", "", ".. currentmodule:: losskit.torch", "",
           "PyTorch ``nn.Module`` forms of the losses. A shell stores its options (shown in ``repr``) "
           "and its ``forward`` is one call to its function; it is generated from the registry.", ""]
    out += [".. autoclass:: losskit.torch.LossModule", "   :members: forward", ""]
    shells, hand, functions = [], [], []
    for name in lt.__all__:
        obj = getattr(lt, name)
        if name == "LossModule":
            continue
        if inspect.isclass(obj):
            (shells if obj.__module__ == "losskit.torch" and name in by_shell else hand).append(name)
        elif callable(obj) and name != "linear_cross_entropy":
            functions.append(name)
    out += [heading("Generated shells", "-"), ""]
    for name in shells:
        info = by_shell[name]
        out += [f".. py:class:: {name}(**options)", "",
                f"   ``forward(*arrays)`` is :func:`{info.path}` with the stored options: :doc:`../losses/{info.name}`.",
                ""]
    out += [heading("Modules with state or parameters", "-"), ""]
    for name in hand:
        out += [f".. autoclass:: losskit.torch.{name}", "   :members:", ""]
    out += [heading("Functions", "-"), "",
            ".. py:function:: linear_cross_entropy(hidden, weight, target, **options)", "",
            "   :func:`losskit.linear_cross_entropy` under its ``losskit.torch`` name (its page: "
            ":doc:`../losses/linear_cross_entropy`).", ""]
    for name in functions:
        out += [f".. autofunction:: losskit.torch.{name}", ""]
    return "\n".join(out)


def api_families_page(families) -> str:
    """Each family package: its docstring, its public names that are not losses, and its
    submodules (so that ``:mod:`` references to them resolve)."""
    import importlib
    import pkgutil

    import losskit

    losses = set(losskit.registry.names())
    out = [heading("The family modules"),
           "Each family is a package; its losses are on the :doc:`loss pages <../losses/index>`. "
           "Here: each package's own description, its other public names, and its modules.", ""]
    for family in families:
        pkg = importlib.import_module(f"losskit.{family}")
        out += [heading(f"losskit.{family}", "-"), f".. automodule:: losskit.{family}", ""]
        flat = set(losskit.__all__)
        for name in getattr(pkg, "__all__", []):
            obj = getattr(pkg, name)
            if name in losses or not callable(obj) and not isinstance(obj, (int, float, tuple, dict)):
                continue
            if name in flat and getattr(losskit, name) is obj:
                continue  # documented as losskit.<name> (api/losskit)
            out += _document(f"losskit.{family}.{name}", obj, name)
        subs = pkgutil.iter_modules(getattr(pkg, "__path__", []))  # textbook is one module
        for sub in sorted(m.name for m in subs):
            modname = f"losskit.{family}.{sub}"
            module = importlib.import_module(modname)
            if sub.startswith("_"):
                out += [f".. py:module:: {modname}", "", f"``{modname}`` (internal).", ""]
                continue
            out += [f".. py:module:: {modname}", "", f"``{modname}``: " + _first_paragraph(modname), ""]
            # The module's own public helpers and constants (not the losses, documented on
            # their pages, nor what the package already showed).
            shown = set(getattr(pkg, "__all__", []))
            for name, obj in vars(module).items():
                if name.startswith("_") or name in losses or name in shown or inspect.ismodule(obj):
                    continue
                if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ != modname:
                    continue
                out += _document(f"{modname}.{name}", obj, name, module=module)
    return "\n".join(out)


def _attr_doc(obj_or_module, name: str, module=None) -> str:
    """The ``#:`` comment documenting a module constant ("" when it has none)."""
    from sphinx.pycode import ModuleAnalyzer

    import losskit

    mod = module or losskit
    try:
        docs = ModuleAnalyzer.for_module(mod.__name__).find_attr_docs()
    except Exception:
        return ""
    return "\n".join(docs.get(("", name), [])).strip()


def _attr_doc_anywhere(name: str) -> str:
    """The ``#:`` comment of a constant defined in one of losskit's modules."""
    import sys

    for modname, module in sorted(sys.modules.items()):
        if modname.startswith("losskit.") and module is not None and name in vars(module):
            doc = _attr_doc(None, name, module)
            if doc:
                return doc
    return ""


def _document(target: str, obj, name: str, module=None) -> list[str]:
    if inspect.isfunction(obj):
        return [f".. autofunction:: {target}", ""]
    if inspect.isclass(obj):
        return [f".. autoclass:: {target}", "   :members:", ""]
    if name.isupper():
        doc = (_attr_doc(obj, name, module) if module else _attr_doc_anywhere(name)) or "A constant of this module."
        return [f".. py:data:: {target}", "", textwrap.indent(doc, "   "), ""]
    return []


def _first_paragraph(modname: str) -> str:
    import importlib

    doc = inspect.getdoc(importlib.import_module(modname)) or ""
    text = " ".join(doc.split("\n\n", 1)[0].split()) or "(no description)"
    # A summary line: its cross-references become plain literals (the module's own page,
    # when there is one, keeps them).
    return re.sub(r":[a-z:]+:`~?\.?([^`]*)`", r"``\1``", text)


def resolve_by_suffix(app, env, node, contnode):
    """A short Python reference (``:func:`signed_distance_map```, ``:attr:`LossInfo.shell_name```)
    resolves to the one documented object whose dotted name ends with it. Zero or several
    candidates: left unresolved, so that the build reports it."""
    from sphinx.util.nodes import make_refnode

    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    objects = env.get_domain("py").objects
    import losskit

    last = target.rsplit(".", 1)[-1]
    if target.startswith("losskit.") and last in losskit.registry.names():
        target = losskit.get(last).path  # losskit.<family>.<loss> is documented as losskit.<loss>
    found = [name for name in objects if name == target or name.endswith("." + target)]
    here = node.get("py:module") or ""
    if len(found) > 1 and here:  # the one in the referring module's package first
        package = here.rsplit(".", 1)[0] if here.count(".") > 1 else here
        near = [n for n in found if n.startswith(here + ".") or n.startswith(package + ".")]
        found = near or found
    # A loss re-exported in the flat namespace is one object under two names: prefer losskit.*.
    if len(found) > 1:
        flat = [n for n in found if n == f"losskit.{target}"]
        found = flat or found
    if len(found) != 1:
        return None
    entry = objects[found[0]]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, found[0])


def api_cli_page() -> str:
    import argparse

    from losskit.cli import build_parser

    os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal width: fixed for the page
    parser = build_parser()
    out = [heading("The losskit command"), "Generated from the command's own parser: these are its ``--help`` texts.", ""]

    def block(title, p):
        text = p.format_help()
        return [heading(title, "-"), ".. code-block:: text", "", textwrap.indent(text.rstrip(), "   "), ""]

    out += block("losskit --help", parser)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        out += block(f"losskit {name} --help", p)
    return "\n".join(out)


# ---------------------------------------------------------------------------- the hook


def generate(app=None) -> None:
    import losskit
    from losskit._fastpath import declared
    from losskit._meta import FAMILIES

    import losskit_parity

    infos = list(losskit.registry.infos())
    families = [f for f in FAMILIES if any(i.family == f for i in infos)]
    parity = losskit_parity.by_loss(losskit_parity.scan(ROOT, [i.name for i in infos]))
    fast = declared()
    src_hash = source_hash()
    losses_dir = DOCS / "losses"
    images = losses_dir / "_images"
    # A loss removed from the registry leaves no stale page behind.
    keep = {f"{i.name}.rst" for i in infos} | {f"{f}.rst" for f in families} | {"index.rst"}
    for path in losses_dir.glob("*.rst"):
        if path.name not in keep:
            path.unlink()
    # Drawing prints nothing useful; the losses' warnings (e.g. a float16 note) are not the docs'.
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        figures = {i.name: loss_figure(i, images, src_hash) for i in infos}
        family_figures = {f: family_figure(f, [i for i in infos if i.family == f], images, src_hash)
                          for f in families}
    for info in infos:
        fig, why = figures[info.name]
        write_if_changed(losses_dir / f"{info.name}.rst", loss_page(info, parity, fig, why, fast))
    for family in families:
        members = [i for i in infos if i.family == family]
        write_if_changed(losses_dir / f"{family}.rst", family_page(family, members, parity, family_figures[family]))
    write_if_changed(losses_dir / "index.rst", index_page(infos, families))
    write_if_changed(DOCS / "api" / "losskit.rst", api_losskit_page(infos))
    write_if_changed(DOCS / "api" / "torch.rst", api_torch_page(infos))
    write_if_changed(DOCS / "api" / "cli.rst", api_cli_page())
    write_if_changed(DOCS / "api" / "families.rst", api_families_page(families))


def setup(app):
    app.connect("builder-inited", generate)
    app.connect("missing-reference", resolve_by_suffix)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
