"""The ``losskit`` command.

Each subcommand lives in its own module with ``register(subparsers)`` that adds its parser
and sets ``func``. Errors the user can fix (unknown loss, bad file, bad option) raise
:class:`CLIError` or ``ValueError``/``TypeError``: ``main`` prints one line to stderr and
exits with code 2, no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "CLIError"]

# (module, subcommand) in the order `losskit --help` lists them.
_SUBCOMMANDS = (
    ("losskit.cli.commands", "list"),
    ("losskit.cli.commands", "info"),
    ("losskit.cli.commands", "eval"),
    ("losskit.cli.plot", "plot"),
    ("losskit.cli.demo", "demo"),
    ("losskit.cli.simulate", "simulate"),
)


class CLIError(Exception):
    """An error the user can fix; shown as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's default prints usage too)
        self.exit(2, f"losskit: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="losskit", description="Loss functions: list, explain, evaluate, plot, demo.")
    from losskit import __version__

    parser.add_argument("--version", action="version", version=f"losskit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    registered = set()
    for modname, _ in _SUBCOMMANDS:
        if modname in registered:
            continue
        registered.add(modname)
        importlib.import_module(modname).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (CLIError, ValueError, TypeError, OSError, ImportError, MemoryError) as exc:
        # one line, whatever the message holds (numpy's may span several)
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"losskit {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
