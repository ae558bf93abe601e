"""Command-line entry of the figure ``fig2_linear_model``; the code is :mod:`landscape.reproduction.ziyin2023.fig2_linear_model`.

Run ``python figures/fig2_linear_model.py --help`` for the options, or ``landscape reproduce --only fig2_linear_model``.
"""

from landscape.reproduction.ziyin2023.fig2_linear_model import main

if __name__ == "__main__":
    raise SystemExit(main())
