import sys

from losskit.cli import main

sys.exit(main())
