"""Matplotlib helpers: figures without pyplot (no global state, always the Agg canvas)."""

from __future__ import annotations

import base64
import os

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def require(*modules: str, extra: str) -> None:
    """Raise ``ImportError`` with one line naming the extra when a module is missing."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        names = {"sklearn": "scikit-learn"}
        shown = ", ".join(names.get(m, m) for m in missing)
        raise ImportError(f"this needs {shown}: pip install 'losskit[{extra}]'")


def new_figure(figsize=(8, 5)):
    """A matplotlib ``Figure`` on an Agg canvas (never touches pyplot or the GUI backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig, path) -> str:
    path = os.fspath(path)
    # No timestamp or version metadata: the same seed gives byte-identical PNGs.
    fig.savefig(path, format="png", dpi=100, metadata={"Software": None})
    return path


def data_uri(path) -> str:
    """The PNG at ``path`` as a ``data:image/png;base64,...`` URI (for self-contained HTML)."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(PNG_SIGNATURE):
        raise ValueError(f"{path}: expected a PNG file")
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")
