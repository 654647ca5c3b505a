#!/usr/bin/env python
"""Thin wrapper: `python scripts/relevance.py --help` (see xaugjets.cli)."""

import sys

from xaugjets.cli import main

main(["relevance", *sys.argv[1:]])
