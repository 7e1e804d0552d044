"""`losskit demo` (being written)."""


def register(subparsers):
    p = subparsers.add_parser("demo", help="(not available yet)")
    p.set_defaults(func=_run)


def _run(args):
    from losskit.cli import CLIError

    raise CLIError("`losskit demo` is not available in this version")
