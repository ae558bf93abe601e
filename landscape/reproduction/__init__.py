r"""The three papers, reproduced: each figure's data, its drawing, and the claims it tests.

One module per figure or group of claims, in a sub-package per paper
(:mod:`.ziyin2023`, :mod:`.cosentino2022`, :mod:`.dubois2022`).  Every module is an
*experiment* with the same interface:

* ``NAME``: the file stem of its stored data and figure (``<NAME>.npz``, ``<NAME>.png``);
* ``REPORT_SIZE``: ``"full"`` or ``"quick"``, the size ``landscape reproduce`` computes;
* ``PAPER_SCALE``: one line on how that run compares with the paper's set-up (what is
  smaller, and why);
* ``compute(quick=False, smoke=False) -> dict`` of NumPy arrays (``smoke``: the test
  suite's tiny size, every array present and the numbers meaningless);
* ``render(data) -> matplotlib.figure.Figure``: draws the stored arrays, never computes;
* ``claims(data) -> list[Claim]``: the paper's claims with our numbers read from ``data``
  (:mod:`.claims`);
* ``main(argv)``: the figure's own command line (``figures/<NAME>.py``);
* optionally ``report_markdown(data) -> str``: tables built from ``data`` that the report
  prints in the experiment's section, between snippet markers named ``NAME``, so that a
  docs page includes them (``--8<-- "paper_repro/REPORT.md:NAME"``) instead of copying numbers.

:data:`EXPERIMENTS` lists them in the report's order; :mod:`.runner` computes, stores and
draws them; :mod:`.report` writes ``REPORT.md`` and ``REPORT.html`` from the stored data.
"""

from __future__ import annotations

import importlib
import types

__all__ = ["EXPERIMENTS", "experiment", "experiment_names"]

#: Module paths under ``landscape.reproduction``, in the report's order.
EXPERIMENTS = (
    "ziyin2023.theorems",
    "ziyin2023.loss_expansions",
    "ziyin2023.phase_diagrams",
    "ziyin2023.fig1_resnet",
    "ziyin2023.fig2_linear_model",
    "ziyin2023.fig3_normalization",
    "ziyin2023.fig4_nonlinear",
    "ziyin2023.beneficial_collapse",
    "ziyin2023.imbalance_phase",
    "ziyin2023.probe_vs_imbalance",
    "cosentino2022.encoder_projector",
    "cosentino2022.init_scale_sigma",
    "cosentino2022.networks",
    "dubois2022.cover_wn",
    "dubois2022.dissl_phase",
    "dubois2022.digits_networks",
    "extensions.learning_dynamics",
    "extensions.stepwise_networks",
    "extensions.diagnosis_networks",
)


def experiment(path: str | types.ModuleType) -> types.ModuleType:
    """The experiment module at ``landscape.reproduction.<path>`` (a module is returned as it is)."""
    if isinstance(path, types.ModuleType):
        return path
    return importlib.import_module(f"landscape.reproduction.{path}")


def experiment_names() -> dict[str, str]:
    """``NAME`` → module path of every registered experiment."""
    return {experiment(p).NAME: p for p in EXPERIMENTS}
