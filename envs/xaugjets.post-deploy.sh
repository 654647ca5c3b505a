#!/usr/bin/env bash
# Run by Snakemake after it creates envs/xaugjets.yaml: the packages of requirements-nodeps.txt (same pins,
# checked by tests/test_packaging.py), installed without their dependencies (that file says why).
set -euo pipefail
python -m pip install --no-deps energyflow==1.4.0 wasserstein==1.1.0 wurlitzer==3.1.1
