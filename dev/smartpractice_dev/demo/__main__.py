"""Entry point of `make demo`: python -m smartpractice_dev.demo [flags] (see --help)."""

import sys

from smartpractice_dev.demo.cli import main

sys.exit(main())
