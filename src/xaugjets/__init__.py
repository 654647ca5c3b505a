"""xaugjets: explain boosted-jet taggers with expert variables (XAUG) and layerwise relevance propagation.

Modules by stage: ``toy`` and ``generation`` make events, ``jets`` clusters and computes substructure,
``images`` and ``particles`` build network inputs, ``datasets`` splits and scales, ``models`` and
``training`` fit networks, ``relevance`` runs LRP, ``aggregation`` and ``plots`` summarize.
"""

__version__ = "0.1.0"
