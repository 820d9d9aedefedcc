"""``python -m nasearch ...`` is the ``nasearch`` command."""
import sys

from nasearch.cli import main

if __name__ == "__main__":
    sys.exit(main())
