"""xaugjets: explain boosted-jet taggers with expert variables (XAUG) and layerwise relevance propagation.

Modules by stage: ``toy`` and ``generation`` make events (``processes`` registers the Pythia processes)
(``truth`` matches the signal's Z to its jet), ``jets`` clusters and computes substructure and expert
variables (FastJet through one of two backends: ``native``, a compiled library, or ``fastjet_binding``,
the scikit-hep binding), ``particles`` builds the particle lists, ``images`` builds jet images,
``datasets`` selects, splits and scales, ``models``, ``training`` and ``runtime`` fit networks,
``relevance`` runs LRP, ``occlusion`` masks inputs and ``attribution`` runs the other attribution
methods, ``activations`` records neuron activation patterns, ``ado`` compares decision orderings,
``metrics``, ``aggregation`` and ``plots`` summarize. Shared: ``study`` (the samples of a study and
their conventions), ``config`` (validation), ``io`` (file formats, atomic writes, provenance),
``seeds``, and ``cli`` (``python -m xaugjets <stage>``, what the Snakemake rules call).
"""

__version__ = "0.1.0"
