#!/usr/bin/env python
"""Thin wrapper: `python scripts/dataset.py --help` (see xaugjets.cli)."""

import sys

from xaugjets.cli import main

main(["dataset", *sys.argv[1:]])
