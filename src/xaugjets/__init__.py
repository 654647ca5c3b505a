"""xaugjets: explain boosted-jet taggers with expert variables (XAUG) and layerwise relevance propagation.

Modules by stage: ``toy`` and ``generation`` make events (``processes`` registers the Pythia processes,
``truth`` matches the signal's Z to its jet), ``readers`` reads your own jets from files; ``jets`` clusters
and computes substructure and expert variables through one of two FastJet backends (``native``, a compiled
library, or ``fastjet_binding``, the scikit-hep binding); ``particles`` builds the particle lists and
``images`` the jet images; ``datasets`` selects, splits and encodes; ``models`` (with ``examples``, a network
brought in by import path), ``training`` and ``runtime`` fit networks; ``explain`` runs every explanation
method of a job (``relevance``: the LRP rules; ``deeplift``: DeepLIFT's multipliers; ``attribution``: the
other attribution methods; ``occlusion``: masked inputs); ``crosscheck`` compares methods and taggers, with
``ado`` (decision ordering), ``activations`` (neuron activation patterns) and ``sanity`` (cascading
randomization); ``reduced`` ranks the expert variables and retrains on the top k; ``efp`` computes energy flow
polynomials and ``efp_search`` runs the black-box guided search through them; ``metrics``, ``aggregation``,
``plots`` and ``answer`` (the one-page answer per sample) summarize. Shared: ``study`` (the samples of a study
and their conventions), ``config`` (validation), ``io`` (file formats, atomic writes, provenance), ``seeds``,
and ``cli`` (``python -m xaugjets <stage>``, what the Snakemake rules call).
"""

__version__ = "0.1.0"
