#!/usr/bin/env python
"""Thin wrapper: `python scripts/pythia.py --help` (see xaugjets.cli)."""

import sys

from xaugjets.cli import main

main(["pythia", *sys.argv[1:]])
