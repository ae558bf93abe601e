"""Command-line entry of the figure ``fig4_nonlinear``; the code is :mod:`landscape.reproduction.ziyin2023.fig4_nonlinear`.

Run ``python figures/fig4_nonlinear.py --help`` for the options, or ``landscape reproduce --only fig4_nonlinear``.
"""

from landscape.reproduction.ziyin2023.fig4_nonlinear import main

if __name__ == "__main__":
    raise SystemExit(main())
