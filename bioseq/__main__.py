"""``python -m bioseq`` (and ``torchrun -m bioseq``) runs the command line."""

import sys

from .cli import main

sys.exit(main())
