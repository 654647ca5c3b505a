#!/usr/bin/env python
"""Thin wrapper: `python scripts/provenance.py --help` (see xaugjets.cli)."""

import sys

from xaugjets.cli import main

main(["provenance", *sys.argv[1:]])
