#!/usr/bin/env python
"""Thin wrapper: `python scripts/train.py --help` (see xaugjets.cli)."""

import sys

from xaugjets.cli import main

main(["train", *sys.argv[1:]])
