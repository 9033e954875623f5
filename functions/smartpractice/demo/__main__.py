"""Entry point of `make demo`: python -m smartpractice.demo [flags] (see --help)."""

import sys

from smartpractice.demo.cli import main

sys.exit(main())
