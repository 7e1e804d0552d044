"""Sphinx extension: ``.. losskit-exec::`` runs a tutorial's Python at build time.

Each block is shown, then what it printed, then what it asked to show: inside a block,
``figure(fig, alt)`` adds a matplotlib figure and ``table(header, rows)`` a table. The
blocks of one page share one namespace, in order. An exception fails the build (a
warning, which ``-W`` makes an error), with the traceback.

Outputs are cached under a hash of the library's source and the page's code up to and
including the block: a rebuild with nothing changed runs nothing. When one block's
output is not cached, the page's earlier blocks are run again first (their outputs are
already known) so that its namespace is what it would be.
"""

from __future__ import annotations

import hashlib
import io
import json
import pathlib
import shutil
import traceback
from contextlib import redirect_stdout

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

import losskit_pages

logger = logging.getLogger(__name__)

# The docs build runs the tutorials on one core: small sizes, one thread.
PRELUDE = """
import os as _os
_os.environ.setdefault("KERAS_BACKEND", "torch")
try:
    import torch as _torch
    _torch.set_num_threads(1)
except ImportError:
    pass
"""


class _Page:
    """One page's state during a build: its blocks so far and (when needed) its namespace."""

    def __init__(self):
        self.codes: list[str] = []
        self.namespace: dict | None = None


def _run(code: str, namespace: dict, figure_dir: pathlib.Path, key: str) -> list:
    outputs = []

    def figure(fig, alt: str):
        """A matplotlib figure, or the path of a PNG a study wrote."""
        from losskit.experiments._figures import save

        name = f"{key}-{len(outputs)}.png"
        figure_dir.mkdir(parents=True, exist_ok=True)
        if isinstance(fig, (str, pathlib.Path)):
            shutil.copyfile(fig, figure_dir / name)
        else:
            save(fig, figure_dir / name)
        outputs.append(["image", name, alt])

    def table(header, rows):
        outputs.append(["table", [str(h) for h in header], [[str(c) for c in r] for r in rows]])

    namespace["figure"], namespace["table"] = figure, table
    buf = io.StringIO()
    with redirect_stdout(buf):
        exec(compile(code, f"<losskit-exec {key}>", "exec"), namespace)
    text = buf.getvalue()
    return ([["text", text]] if text.strip() else []) + outputs


class LosskitExec(SphinxDirective):
    has_content = True
    option_spec = {"hide-code": directives.flag}

    def run(self):
        env = self.env
        pages = env.temp_data.setdefault("losskit_exec_pages", {})
        page = pages.setdefault(env.docname, _Page())
        code = "\n".join(self.content)
        h = hashlib.sha256(losskit_pages.source_hash().encode())
        for c in page.codes + [code]:
            h.update(b"\0" + c.encode())
        key = h.hexdigest()[:20]
        cache = losskit_pages.cache_dir() / "exec"
        record = cache / f"{key}.json"
        if record.exists():
            outputs = json.loads(record.read_text(encoding="utf-8"))
        else:
            if page.namespace is None:
                page.namespace = {"__name__": f"tutorial_{env.docname.replace('/', '_')}"}
                exec(compile(PRELUDE, "<prelude>", "exec"), page.namespace)
                for k, earlier in enumerate(page.codes):
                    _run(earlier, page.namespace, cache / "replay", f"{key}-replay{k}")
            try:
                outputs = _run(code, page.namespace, cache, key)
            except Exception:
                page.codes.append(code)
                logger.warning("losskit-exec: the block raised:\n%s\n%s", code, traceback.format_exc(),
                               location=self.get_location())
                return [nodes.literal_block(code, code)]
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps(outputs), encoding="utf-8")
        page.codes.append(code)

        result = []
        if "hide-code" not in self.options:
            block = nodes.literal_block(code, code, language="python")
            result.append(block)
        out_dir = pathlib.Path(env.srcdir) / "_generated" / "exec"
        for item in outputs:
            if item[0] == "text":
                result.append(nodes.literal_block(item[1], item[1].rstrip("\n"), classes=["losskit-output"]))
            elif item[0] == "image":
                out_dir.mkdir(parents=True, exist_ok=True)
                target = out_dir / item[1]
                if not target.exists():
                    shutil.copyfile(cache / item[1], target)
                result.append(nodes.image(uri=f"/_generated/exec/{item[1]}", alt=item[2]))
            elif item[0] == "table":
                rst = losskit_pages.list_table(item[1], item[2])
                container = nodes.container()
                self.state.nested_parse(StringList(rst.splitlines(), source=""), self.content_offset, container)
                result.extend(container.children)
        return result


def _forget(app, env, docname):
    env.temp_data.get("losskit_exec_pages", {}).pop(docname, None)


def setup(app):
    app.add_directive("losskit-exec", LosskitExec)
    app.connect("env-purge-doc", _forget)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
