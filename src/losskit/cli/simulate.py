"""`losskit simulate` (being written)."""


def register(subparsers):
    p = subparsers.add_parser("simulate", help="(not available yet)")
    p.set_defaults(func=_run)


def _run(args):
    from losskit.cli import CLIError

    raise CLIError("`losskit simulate` is not available in this version")
