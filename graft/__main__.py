"""``python -m graft`` runs the command line."""

import sys

from graft.main import main

if __name__ == "__main__":
    sys.exit(main())
