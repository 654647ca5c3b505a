#!/usr/bin/env python
"""Thin wrapper: `python scripts/toy.py --help` (see xaugjets.cli)."""

import sys

from xaugjets.cli import main

main(["toy", *sys.argv[1:]])
