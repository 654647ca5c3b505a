"""The Pythia processes of the study, registered once: adding a process is one entry here plus config.

Kept free of heavy imports: the Snakefile reads the names at parse time and every command line builds its
``--process`` choices from them.
"""

from __future__ import annotations

from dataclasses import dataclass

PDG_Z = 23


@dataclass(frozen=True)
class Process:
    """A Pythia process of the study."""

    label: int  # the class label of its jets: 1 signal, 0 background
    settings: tuple[str, ...]  # its Pythia settings; "{decays}" stands for the allowed Z decay modes
    z_truth: bool  # its jets are matched to the hadronic Z bosons of the event record


PROCESSES: dict[str, Process] = {
    "zz": Process(
        label=1,
        settings=(
            "WeakDoubleBoson:ffbar2gmZgmZ = on",
            "WeakZ0:gmZmode = 2",
            f"{PDG_Z}:onMode = off",
            f"{PDG_Z}:onIfAny = {{decays}}",
        ),
        z_truth=True,
    ),
    "qcd": Process(label=0, settings=("HardQCD:all = on",), z_truth=False),
}
