"""Command-line entry of the figure ``fig1_resnet``; the code is :mod:`landscape.reproduction.ziyin2023.fig1_resnet`.

Run ``python figures/fig1_resnet.py --help`` for the options, or ``landscape reproduce --only fig1_resnet``.
"""

from landscape.reproduction.ziyin2023.fig1_resnet import main

if __name__ == "__main__":
    raise SystemExit(main())
