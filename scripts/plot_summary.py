#!/usr/bin/env python
"""Thin wrapper: `python scripts/plot_summary.py --help` (see xaugjets.cli)."""

import sys

from xaugjets.cli import main

main(["plot-summary", *sys.argv[1:]])
