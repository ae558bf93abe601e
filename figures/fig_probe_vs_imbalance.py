"""Command-line entry of the figure ``fig_probe_vs_imbalance``; the code is :mod:`landscape.reproduction.ziyin2023.probe_vs_imbalance`.

Run ``python figures/fig_probe_vs_imbalance.py --help`` for the options, or ``landscape reproduce --only fig_probe_vs_imbalance``.
"""

from landscape.reproduction.ziyin2023.probe_vs_imbalance import main

if __name__ == "__main__":
    raise SystemExit(main())
