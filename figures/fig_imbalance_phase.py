"""Command-line entry of the figure ``fig_imbalance_phase``; the code is :mod:`landscape.reproduction.ziyin2023.imbalance_phase`.

Run ``python figures/fig_imbalance_phase.py --help`` for the options, or ``landscape reproduce --only fig_imbalance_phase``.
"""

from landscape.reproduction.ziyin2023.imbalance_phase import main

if __name__ == "__main__":
    raise SystemExit(main())
