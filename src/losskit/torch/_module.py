"""The base class of every ``losskit.torch`` shell."""

from __future__ import annotations

import inspect
from typing import Any, Callable, ClassVar

import torch

_EMPTY = inspect.Parameter.empty


class LossModule(torch.nn.Module):
    """An ``nn.Module`` that calls one losskit function with stored options.

    Subclasses set ``function``; the constructor accepts exactly that function's
    keyword-only options (unknown names raise ``TypeError``, required ones must be given).
    Tensor options (class weights, ...) are registered as buffers, so ``.to(device)``
    moves them and ``state_dict`` saves them. ``forward(*arrays, **extra)`` is
    ``function(*arrays, **options)`` with ``extra`` overriding stored options for that call:
    no logic lives in the shell.
    """

    function: ClassVar[Callable[..., Any]]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fn = cls.__dict__.get("function")
        if fn is None:
            return
        fn = fn.__func__ if isinstance(fn, staticmethod) else fn
        cls.function = staticmethod(fn)
        if not cls.__doc__:
            summary = (inspect.getdoc(fn) or "").strip().splitlines()
            cls.__doc__ = (
                f"Module form of :func:`losskit.{fn.__name__}`"
                + (f": {summary[0][0].lower() + summary[0][1:]}" if summary else ".")
                + f"\n\nOptions are the keyword arguments of ``losskit.{fn.__name__}``; "
                "see its docstring for the formula and conventions."
            )

    def __init__(self, **options: Any) -> None:
        super().__init__()
        params = {
            p.name: p
            for p in inspect.signature(self.function).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        unknown = sorted(set(options) - set(params))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unexpected option(s) {', '.join(unknown)}; "
                f"expected some of {', '.join(params)}"
            )
        missing = [n for n, p in params.items() if p.default is _EMPTY and n not in options]
        if missing:
            raise TypeError(f"{type(self).__name__}: missing required option(s) {', '.join(missing)}")
        self._option_names = tuple(n for n in params if n in options or params[n].default is not _EMPTY)
        self._plain_options: dict[str, Any] = {}
        for name in self._option_names:
            value = options.get(name, params[name].default)
            if isinstance(value, torch.Tensor):
                self.register_buffer(name, value)
            else:
                self._plain_options[name] = value

    @property
    def options(self) -> dict[str, Any]:
        """The effective options (defaults filled in), tensors included."""
        return {
            n: (self._buffers[n] if n in self._buffers else self._plain_options[n])
            for n in self._option_names
        }

    def forward(self, *arrays: Any, **extra: Any) -> Any:
        # Per-call keywords (e.g. a batch's ``weight``) override the stored options.
        return self.function(*arrays, **{**self.options, **extra})

    def extra_repr(self) -> str:
        parts = []
        for name, value in self.options.items():
            if isinstance(value, torch.Tensor):
                value = f"tensor(shape={tuple(value.shape)})"
            else:
                value = repr(value)
            parts.append(f"{name}={value}")
        return ", ".join(parts)


def generate_shells(existing: dict[str, Any], module: str) -> dict[str, type]:
    """A :class:`LossModule` shell for every registered loss that runs on torch and has no
    hand-written module in ``existing`` (a module that owns state or parameters, or takes
    more than the function's options), named :attr:`~losskit._meta.LossInfo.shell_name`.
    The classes live in ``module`` (``losskit.torch``), so they pickle by reference."""
    from .. import registry

    written = {getattr(obj, "function", None) for obj in existing.values() if isinstance(obj, type)}
    shells = {}
    for info in registry.infos():
        if "torch" not in info.backends or info.fn in written or info.shell_name in existing:
            continue
        shells[info.shell_name] = type(
            info.shell_name, (LossModule,),
            {"function": info.fn, "__module__": module, "__qualname__": info.shell_name},
        )
    return shells
