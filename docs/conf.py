"""Sphinx configuration of the losskit documentation site.

Everything renders offline: MathJax is bundled (sphinx-mathjax-offline), the theme (furo)
ships its own CSS and scripts, intersphinx is off. The loss, family and API pages are
generated from the registry at build time (``_ext/losskit_pages.py``); the tutorials run at
build time (``_ext/losskit_exec.py``). Build: ``python docs/build.py`` (see the README).
"""

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
# The checkout's own source first, so the site documents this tree (not another install).
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE / "_ext"))

import losskit  # noqa: E402

project = "losskit"
author = "the losskit authors"
copyright = "the losskit authors"
release = version = losskit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # the package's import name (it sets mathjax_path to the bundled copy)
    "myst_parser",
    "losskit_pages",
    "losskit_exec",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# families/*.rst are included into the generated family pages, not pages of their own.
exclude_patterns = ["_build", "families/*", "build.py", "_ext"]
templates_path = []

# A broken cross-reference is an error (with -W), not a silent plain-text name.
nitpicky = True
# Names the docstrings mention that live outside these pages (no intersphinx: offline).
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|numpy|np|jax|keras|transformers|ultralytics|array_api_compat)(\..*)?"),
    (r"py:class", r"(optional|callable|Array|array|Any|Callable|Sequence|Iterator|Mapping)"),
]

autodoc_typehints = "none"  # the docstrings' Args say the shapes and types
autodoc_member_order = "bysource"
# Inherited docstrings would be torch.nn.Module's (its forward), with references to torch's docs.
autodoc_inherit_docstrings = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# The docstrings' "Raises:" entries are prose ("ValueError / TypeError: ..."), not one
# exception name per entry: a plain section keeps them readable.
napoleon_custom_sections = [("Raises", "raises_as_prose")]

myst_heading_anchors = 3

# "--help" stays two hyphens (option names are everywhere in these pages).
smartquotes = False

html_theme = "furo"
html_title = f"losskit {release}"
html_static_path = ["_static"]
html_css_files = ["losskit.css"]
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_favicon = "_static/favicon.svg"
