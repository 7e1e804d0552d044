"""Helpers shared by the CLI subcommands: option parsing and safe array loading."""

from __future__ import annotations

import ast
import math
import os
import zipfile
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


def add_command(subparsers, name: str, run, summary: str, description: str | None = None):
    """The subcommand ``name``, which runs ``run(args)``: ``summary`` is its line in
    ``losskit --help``, ``description`` the text of ``losskit NAME --help`` (argparse
    reflows it, so a triple-quoted block reads as one paragraph)."""
    p = subparsers.add_parser(name, help=summary, description=description and " ".join(description.split()))
    p.set_defaults(func=run)
    return p


def add_option_argument(p, help: str) -> None:
    """``--option/-o KEY=VALUE``, repeatable, read by :func:`parse_options`."""
    p.add_argument("--option", "-o", action="append", metavar="KEY=VALUE", help=help)


def check_options(info, options: dict[str, Any]) -> None:
    """Unknown option names for a loss: one clear error listing the valid ones."""
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        valid = ", ".join(info.options) or "none"
        raise CLIError(f"{info.name}: unknown option(s) {', '.join(unknown)}; valid options: {valid}")


_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_INT64 = (-(2**63), 2**63 - 1)
# dtype kinds that are not real numbers, and why they are refused (never silently cast)
_REFUSED = {
    "c": "complex numbers (the imaginary part would be dropped)",
    "M": "dates, not numbers",
    "m": "time spans, not numbers",
    "O": "Python objects (pickled data is never loaded)",
    "S": "bytes, not numbers",
    "U": "text, not numbers",
    "V": "structured records, not numbers",
}


def one_line(text: Any) -> str:
    """``text`` on one line (messages of numpy and zipfile may hold newlines)."""
    return " ".join(str(text).split())


def load_array(spec: str):
    """Load an array from ``.npy``, ``.npz`` (``file.npz`` with one array, or
    ``file.npz:key``), ``.csv``/``.txt`` (comma-separated numbers), or an inline literal
    such as ``"[[0.1, 0.9], [0.8, 0.2]]"``.

    Pickled objects are never loaded (``allow_pickle=False``; the ``.npy`` reader here
    reads raw numbers only). Whole-number CSV files and literals load as int64 (class
    labels), others as float64. Anything malformed or not made of real numbers (complex,
    dates, objects, text, integers beyond int64, a header that declares more data than
    the file holds) raises :class:`CLIError` naming the file and what is wrong.
    """
    import numpy as np

    path, _, key = spec.partition(":") if spec.count(":") == 1 and spec.split(":")[0].endswith(".npz") else (spec, "", "")
    if not os.path.exists(path):
        if path.lstrip().startswith(("[", "(")) or _is_number(path):
            value = parse_value(path)
            if isinstance(value, str):
                raise CLIError(f"cannot parse {spec!r} as an array literal")
            try:
                arr = np.asarray(value)
            except (ValueError, OverflowError) as exc:  # ragged lists
                raise CLIError(f"{spec!r}: cannot read an array ({one_line(exc)})") from None
            return _as_array(_check_numbers(repr(spec), arr))
        raise CLIError(f"no such file: {path}")
    if os.path.isdir(path):
        raise CLIError(f"{path}: a folder, expected a .npy, .npz or .csv file")
    lower = path.lower()
    try:
        if lower.endswith(".npy"):
            with open(path, "rb") as f:
                return _check_numbers(path, _read_npy(f, os.fstat(f.fileno()).st_size, path))
        if lower.endswith(".npz"):
            return _check_numbers(f"{path}:{key}" if key else path, _read_npz(path, key))
        if lower.endswith((".csv", ".txt")):
            return _read_csv(path)
    except CLIError:
        raise
    except MemoryError:
        raise CLIError(f"{path}: the array it declares does not fit in memory") from None
    except (ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, UnicodeDecodeError,
            NotImplementedError, RuntimeError) as exc:
        # malformed numbers, ragged rows, a corrupt archive, an unsupported compression
        raise CLIError(f"{path}: cannot read an array ({one_line(exc)})") from None
    except OSError as exc:
        raise CLIError(f"{path}: {one_line(exc.strerror or exc)}") from None
    raise CLIError(f"{path}: expected a .npy, .npz or .csv file")


def _read_npy(f, size: int, where: str):
    """The array of the ``.npy`` stream ``f`` of ``size`` bytes, read without unpickling and
    without trusting its header: a header declaring more data than the stream holds is an
    error, not a huge allocation."""
    import numpy as np

    head = f.read(6)
    if not head:
        raise CLIError(f"{where}: empty file, expected a .npy array")
    if head[:4] in _ZIP_MAGIC:
        raise CLIError(f"{where}: a zip archive, not a .npy file (name it .npz)")
    if head != _NPY_MAGIC:
        raise CLIError(f"{where}: not a .npy file (no NUMPY header)")
    version = tuple(f.read(2))
    try:
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise CLIError(f"{where}: unsupported .npy format version {version}")
    except (ValueError, SyntaxError, UnicodeDecodeError, TypeError) as exc:
        raise CLIError(f"{where}: corrupt .npy header ({one_line(exc)})") from None
    if dtype.hasobject:
        raise CLIError(f"{where}: cannot read an array: it holds Python objects (pickled data is never loaded)")
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    left = size - f.tell()
    if nbytes > left:
        raise CLIError(f"{where}: truncated or corrupt: its header declares shape {shape} of {dtype} "
                       f"({nbytes} bytes), the file holds {max(left, 0)}")
    data = f.read(nbytes)
    if len(data) != nbytes:
        raise CLIError(f"{where}: truncated: {len(data)} of {nbytes} bytes")
    arr = np.frombuffer(data, dtype=dtype, count=count) if nbytes else np.zeros(count, dtype=dtype)
    return arr.reshape(shape, order="F" if fortran else "C").copy()


def _read_npz(path: str, key: str):
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise CLIError(f"{path}: empty file, expected a .npz archive")
    if head == _NPY_MAGIC[:4]:
        raise CLIError(f"{path}: a .npy file, not a .npz archive (name it .npy)")
    if head not in _ZIP_MAGIC:
        raise CLIError(f"{path}: not a .npz archive (not a zip file)")
    with zipfile.ZipFile(path) as zf:
        members = [n for n in zf.namelist() if not n.endswith("/")]
        keys = {(n[:-4] if n.endswith(".npy") else n): n for n in members}
        if key:
            if key not in keys:
                raise CLIError(f"{path}: no array {key!r}; it has {', '.join(keys) or 'none'}")
        elif len(keys) != 1:
            raise CLIError(f"{path}: holds {len(keys)} arrays ({', '.join(keys)}); name one as {path}:KEY")
        else:
            key = next(iter(keys))
        member = keys[key]
        with zf.open(member) as f:
            return _read_npy(f, zf.getinfo(member).file_size, f"{path}:{key}")


def _read_csv(path: str):
    import numpy as np

    with open(path, encoding="utf-8") as f:
        text = f.read()
    rows = [r for r in (line.strip() for line in text.splitlines()) if r and not r.startswith("#")]
    if not rows:
        raise CLIError(f"{path}: no numbers (only blank or '#' comment lines)")
    cells = [[v.strip() for v in r.split(",")] for r in rows]
    if len({len(r) for r in cells}) != 1:
        raise CLIError(f"{path}: rows of different lengths ({', '.join(str(len(r)) for r in cells[:5])}, ...)")
    # Whole numbers are decided on the data rows only: a comment may hold '.' or 'e'.
    arr = None
    if not any(c in "".join(rows) for c in ".eE"):
        try:
            ints = [[int(v) for v in r] for r in cells]
        except ValueError:  # inf, nan: floats
            ints = None
        if ints is not None:
            for v in (v for r in ints for v in r):
                if not _INT64[0] <= v <= _INT64[1]:
                    raise CLIError(f"{path}: the integer {v} does not fit in 64 bits")
            arr = np.array(ints, dtype=np.int64)
    if arr is None:
        arr = np.array([[float(v) for v in r] for r in cells])
    if arr.shape[0] == 1 or arr.shape[1] == 1:
        arr = arr.reshape(-1)
    return arr if arr.dtype == np.int64 else _as_array(arr)


def _check_numbers(where: str, arr):
    """``arr`` if it holds real numbers (bool, integers, floats); else a CLIError."""
    import numpy as np

    if not isinstance(arr, np.ndarray):
        raise CLIError(f"{where}: expected an array, got {type(arr).__name__}")
    why = _REFUSED.get(arr.dtype.kind)
    if why is not None:
        if arr.dtype.kind == "O" and arr.size and all(isinstance(v, int) for v in arr.flat):
            why = "integers that do not fit in 64 bits"
        raise CLIError(f"{where}: expected real numbers, got an array of dtype {arr.dtype} ({why})")
    return arr


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
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > _INT64[1]:
        raise CLIError(f"the integer {int(arr.max())} does not fit in 64 bits")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind != "f":
        raise CLIError(f"expected numbers, got an array of dtype {arr.dtype}")
    return arr.astype(np.float64)
