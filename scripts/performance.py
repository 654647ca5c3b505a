#!/usr/bin/env python
"""Thin wrapper: `python scripts/performance.py --help` (see xaugjets.cli)."""

import sys

from xaugjets.cli import main

main(["performance", *sys.argv[1:]])
