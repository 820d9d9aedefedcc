#!/usr/bin/env python
"""Entry point: ``python run_search.py configs/g_rea.yaml [--runs N] [--seed S] [--out DIR]``."""
import sys

from nasearch.cli import run_search_main

if __name__ == "__main__":
    sys.exit(run_search_main())
