"""Dev-only code that the deployed functions never import: the generative learner simulator
(`smartpractice_dev.simulation`, used by the demo, tests and benchmarks) and the demo
(`python -m smartpractice_dev.demo`, run by `make demo`). It lives outside `functions/`, the deploy unit,
and is installed only by the dev environment (`pip install -e .`, see the Makefile's setup)."""
