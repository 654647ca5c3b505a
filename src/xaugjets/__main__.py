"""`python -m xaugjets <stage> ...`: the entry point the Snakemake rules call."""

from .cli import main

main()
