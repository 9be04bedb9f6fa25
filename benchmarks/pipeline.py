"""Throughput and latency of the event pipeline on real parts: a benchmark, not a test.

    uv run --frozen python benchmarks/pipeline.py [--quick] [--phases relay,drain,e2e,ingest,replay]

The code is the package next to this file (``benchmarks/pipeline/``; its ``__init__`` says what
each measure does); this file only runs it, so ``make bench-pipeline`` and ``--help`` work.
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
