#!/usr/bin/env python
"""Thin wrapper: `python scripts/relevance_summary.py --help` (see xaugjets.cli)."""

import sys

from xaugjets.cli import main

main(["relevance-summary", *sys.argv[1:]])
