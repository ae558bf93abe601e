"""Command-line entry of the figure ``fig_init_scale_sigma``; the code is :mod:`landscape.reproduction.cosentino2022.init_scale_sigma`.

Run ``python figures/fig_init_scale_sigma.py --help`` for the options, or ``landscape reproduce --only fig_init_scale_sigma``.
"""

from landscape.reproduction.cosentino2022.init_scale_sigma import main

if __name__ == "__main__":
    raise SystemExit(main())
