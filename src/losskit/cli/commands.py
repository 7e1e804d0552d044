"""`losskit list`, `losskit info NAME` and `losskit eval NAME INPUT TARGET ...`."""

from __future__ import annotations

import inspect
import re
import sys
import textwrap

from . import CLIError
from ._common import add_command, add_option_argument, check_options, load_array, parse_options

BACKENDS = ("numpy", "torch", "jax")


_EVAL = """
Evaluate a loss. Arrays come from .npy, .npz (FILE.npz:KEY), .csv files or inline literals
such as '[0.1, 0.9]'. Pickled data is never loaded.
"""


def register(subparsers) -> None:
    p = add_command(subparsers, "list", _list, "list the losses, by family")
    p.add_argument("--family", help="only this family")
    p.add_argument("--markdown", action="store_true", help="a Markdown table (as in the README)")

    p = add_command(subparsers, "info", _info, "formula, options and reference of a loss")
    p.add_argument("name")

    summary = "evaluate a loss on arrays from .npy/.npz/.csv files or inline literals"
    p = add_command(subparsers, "eval", _eval, summary, _EVAL)
    p.add_argument("name")
    p.add_argument("arrays", nargs="+", metavar="ARRAY", help="input, target (and any further array arguments)")
    add_option_argument(p, "a loss option (repeatable); Python literals: lists become arrays (weight=[1,2,1]), "
                        "tuples stay tuples (image_size=(640,480))")
    p.add_argument("--reduction", choices=("mean", "sum", "none"), help="overrides the loss's default")
    p.add_argument("--backend", choices=BACKENDS, default="numpy", help="array library to run on (default numpy)")
    p.add_argument("--grad", action="store_true", help="also print the gradient with respect to the input")


def plain(text: str, math: str = "") -> str:
    """Docstring markup for a terminal (``math=""``) or Markdown (``math="$"``):
    ``:math:`x` `` -> ``x`` or ``$x$``; double backticks -> single."""
    text = re.sub(r":math:`([^`]*)`", lambda m: f"{math}{m.group(1)}{math}", text)
    return text.replace("``", "`")


def _registry():
    from losskit import registry

    return registry


def _list(args) -> int:
    registry = _registry()
    if args.family is not None:
        registry.names(args.family)  # validates the family name
    infos = [i for i in registry.infos() if args.family in (None, i.family)]
    if args.markdown:
        print(markdown_table(infos))
        return 0
    family = None
    width = max((len(i.name) for i in infos), default=10)
    for info in infos:
        if info.family != family:
            family = info.family
            print(f"\n{family}")
        aliases = f" ({', '.join(info.aliases)})" if info.aliases else ""
        print(f"  {info.name:<{width}}  {plain(info.summary)}{aliases}")
    print(f"\n{len(infos)} losses. `losskit info NAME` for the formula and options.")
    return 0


def markdown_table(infos) -> str:
    """The README's table of losses, generated from the registry."""
    lines = ["| loss | family | what it is | reference |", "|---|---|---|---|"]
    for info in infos:
        ref = (info.reference or "").replace("|", "/")
        summary = plain(info.summary, math="$").replace("|", "/")
        lines.append(f"| `{info.name}` | {info.family} | {summary} | {ref} |")
    return "\n".join(lines)


def _info(args) -> int:
    info = _registry().get(args.name)
    print(f"{info.name}  ({info.family})")
    print(f"  {plain(info.summary)}")
    if info.aliases:
        print(f"  aliases: {', '.join(info.aliases)}")
    print(f"\nformula (LaTeX):\n  {info.formula}")
    sig = inspect.signature(info.fn)
    print(f"\ncall:\n  {info.path}{sig}")
    if info.options:
        print("\noptions:")
        for name, default in info.options.items():
            shown = "required" if default is inspect.Parameter.empty else f"default {default!r}"
            print(f"  {name:<18} {shown}")
    print(f"\nbackends: {', '.join(info.backends)}")
    print(f"\ndifferentiable: {'yes' if info.differentiable else 'no'}"
          + ("; hand-derived gradient for NumPy" if info.grad is not None else ""))
    if info.fast_paths:
        from losskit._fastpath import declared

        paths = declared()
        print("\nfast paths (the reference code runs otherwise; `losskit.fast_paths(False)` "
              "or LOSSKIT_FAST_PATHS=0 switch them off):")
        for name in info.fast_paths:
            print(textwrap.fill(paths[name].describe(), 88, initial_indent="  ", subsequent_indent="    "))
    if info.reference:
        print("\nreference:\n" + textwrap.fill(info.reference, 88, initial_indent="  ", subsequent_indent="  "))
    return 0


def _to_backend(arr, backend: str):
    import numpy as np

    if backend == "numpy":
        return arr
    if backend == "torch":
        try:
            import torch
        except ImportError:
            raise CLIError("--backend torch: torch is not installed (pip install 'losskit[torch]')") from None
        return torch.from_numpy(np.ascontiguousarray(arr))
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
    except ImportError:
        raise CLIError("--backend jax: jax is not installed (pip install 'losskit[jax]')") from None
    return jnp.asarray(arr)


def _eval(args) -> int:
    import numpy as np

    import losskit
    from losskit._xp import to_numpy

    info = _registry().get(args.name)
    options = parse_options(args.option)
    if args.reduction is not None:
        options["reduction"] = args.reduction
    check_options(info, options)
    if args.backend not in info.backends:
        raise CLIError(f"{info.name} runs on {', '.join(info.backends)} arrays only; "
                       f"--backend {args.backend} is not supported")
    n_expected = len(info.arguments)
    if len(args.arrays) != n_expected:
        raise CLIError(
            f"{info.name} takes {n_expected} array(s) ({', '.join(info.arguments)}), got {len(args.arrays)}"
        )
    arrays = [load_array(a) for a in args.arrays]
    # The first argument is a prediction: always real-valued.
    arrays[0] = arrays[0].astype(np.float64)
    arrays = [_to_backend(a, args.backend) for a in arrays]
    # A list-valued option is an array (class weights, pos_weight, per-class alpha), in the
    # input's library and dtype; tuples stay tuples (image_size=(640, 480)).
    for key, value in options.items():
        if isinstance(value, list):
            arr = np.asarray(value, dtype=np.float64 if any(isinstance(v, float) for v in value) else None)
            if arr.dtype.kind == "f":
                arr = arr.astype(np.asarray(to_numpy(arrays[0])).dtype)
            options[key] = _to_backend(arr, args.backend)
    if args.grad:
        if not info.differentiable:
            raise CLIError(f"{info.name} is not differentiable (its gradient is zero almost everywhere)")
        value, grad = losskit.value_and_grad(info.fn)(*arrays, **options)
    else:
        value, grad = info.fn(*arrays, **options), None
    np.set_printoptions(precision=6, suppress=True)
    value = to_numpy(value)
    print(f"{info.name} = {value.item():.6g}" if value.ndim == 0 else f"{info.name} =\n{value}")
    if grad is not None:
        print(f"gradient with respect to {info.arguments[0]} =\n{to_numpy(grad)}")
    sys.stdout.flush()
    return 0
