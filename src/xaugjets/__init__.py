"""xaugjets: explain boosted-jet taggers with expert variables (XAUG) and layerwise relevance propagation.

Modules by stage: ``toy`` and ``generation`` make events (``truth`` matches the signal's Z to its jet),
``jets`` clusters and computes substructure and the particle lists (``native`` is its compiled FastJet
library), ``images`` builds jet images, ``datasets`` selects, splits and scales, ``models``, ``training``
and ``runtime`` fit networks, ``relevance`` runs LRP, ``metrics``, ``aggregation`` and ``plots``
summarize.  Shared: ``study`` (the samples of a study and their conventions), ``config`` (validation),
``io`` (file formats, atomic writes, provenance), ``seeds``, and ``cli`` (``python -m xaugjets <stage>``,
what the Snakemake rules call).
"""

__version__ = "0.1.0"
