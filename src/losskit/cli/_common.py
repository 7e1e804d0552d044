"""Helpers shared by the CLI subcommands: option parsing and safe array loading."""

from __future__ import annotations

import ast
import os
from typing import Any

from . import CLIError


def parse_value(text: str) -> Any:
    """A Python literal (number, tuple, list, None, True, string) or, failing that, the raw
    string. ``ast.literal_eval`` never executes code."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """``["delta=0.5", "fmt=xywh"]`` -> ``{"delta": 0.5, "fmt": "xywh"}``."""
    options: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CLIError(f"--option: expected key=value, got {pair!r}")
        options[key.strip()] = parse_value(value.strip())
    return options


def check_options(info, options: dict[str, Any]) -> None:
    """Unknown option names for a loss: one clear error listing the valid ones."""
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        valid = ", ".join(info.options) or "none"
        raise CLIError(f"{info.name}: unknown option(s) {', '.join(unknown)}; valid options: {valid}")


def load_array(spec: str):
    """Load an array from ``.npy``, ``.npz`` (``file.npz`` with one array, or
    ``file.npz:key``), ``.csv``/``.txt`` (comma-separated numbers), or an inline literal
    such as ``"[[0.1, 0.9], [0.8, 0.2]]"``.

    Pickled objects are never loaded (``allow_pickle=False``). Whole-number CSV files and
    literals load as int64 (class labels), others as float64.
    """
    import numpy as np

    path, _, key = spec.partition(":") if spec.count(":") == 1 and spec.split(":")[0].endswith(".npz") else (spec, "", "")
    if not os.path.exists(path):
        if path.lstrip().startswith(("[", "(")) or _is_number(path):
            value = parse_value(path)
            if isinstance(value, str):
                raise CLIError(f"cannot parse {spec!r} as an array literal")
            return _as_array(np.asarray(value))
        raise CLIError(f"no such file: {path}")
    lower = path.lower()
    try:
        if lower.endswith(".npy"):
            return np.load(path, allow_pickle=False)
        if lower.endswith(".npz"):
            with np.load(path, allow_pickle=False) as data:
                keys = list(data.keys())
                if key:
                    if key not in keys:
                        raise CLIError(f"{path}: no array {key!r}; it has {', '.join(keys)}")
                    return data[key]
                if len(keys) != 1:
                    raise CLIError(f"{path}: holds {len(keys)} arrays ({', '.join(keys)}); name one as {path}:KEY")
                return data[keys[0]]
        if lower.endswith((".csv", ".txt")):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            rows = [r for r in (line.strip() for line in text.splitlines()) if r and not r.startswith("#")]
            if not rows:
                raise CLIError(f"{path}: no numbers (only blank or '#' comment lines)")
            arr = np.array([[float(v) for v in r.split(",")] for r in rows])
            if arr.shape[0] == 1 or arr.shape[1] == 1:
                arr = arr.reshape(-1)
            # Whole numbers are decided on the data rows only: a comment may hold '.' or 'e'.
            data = "".join(rows)
            return _as_array(arr, text_is_integral=not any(c in data for c in ".eE"))
    except CLIError:
        raise
    except ValueError as exc:  # pickled object arrays, malformed numbers, ragged rows
        raise CLIError(f"{path}: cannot read an array ({exc})") from None
    except OSError as exc:
        raise CLIError(f"{path}: {exc.strerror or exc}") from None
    raise CLIError(f"{path}: expected a .npy, .npz or .csv file")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _as_array(arr, text_is_integral: bool | None = None):
    import numpy as np

    if arr.dtype.kind == "f" and text_is_integral and np.all(np.mod(arr, 1) == 0):
        return arr.astype(np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind != "f":
        raise CLIError(f"expected numbers, got an array of dtype {arr.dtype}")
    return arr.astype(np.float64)
