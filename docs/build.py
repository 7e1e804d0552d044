"""Build the documentation site: ``python docs/build.py`` (add ``--open`` to open it).

The same build the tests run (warnings are errors); the site lands in ``build/docs/html``.
Loss figures and tutorial outputs are cached in ``build/docs-cache`` by content, so a rebuild
with nothing changed takes seconds.
"""

import argparse
import pathlib
import subprocess
import sys
import webbrowser

DOCS = pathlib.Path(__file__).resolve().parent
OUT = DOCS.parent / "build" / "docs" / "html"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", action="store_true", help="open the index in a browser when built")
    parser.add_argument("--out", default=str(OUT), help=f"output folder (default {OUT})")
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-E", "-q", str(DOCS), args.out]
    rc = subprocess.call(cmd)
    if rc == 0:
        index = pathlib.Path(args.out) / "index.html"
        print(f"built {index}")
        if args.open:
            webbrowser.open(index.as_uri())
    return rc


if __name__ == "__main__":
    sys.exit(main())
