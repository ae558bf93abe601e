"""Command-line entry of the figure ``fig_dissl_phase``; the code is :mod:`landscape.reproduction.dubois2022.dissl_phase`.

Run ``python figures/fig_dissl_phase.py --help`` for the options, or ``landscape reproduce --only fig_dissl_phase``.
"""

from landscape.reproduction.dubois2022.dissl_phase import main

if __name__ == "__main__":
    raise SystemExit(main())
