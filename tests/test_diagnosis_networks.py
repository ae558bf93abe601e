"""The collapse diagnosis on trained networks, full grid (slow): what the theory guarantees must hold.

The fast version is ``test_diagnosis_networks_smoke`` in tests/test_figures_smoke.py.  Here the report's
run (two data sets, 3×3 grids) is computed and the statements that follow from the theory are checked
against the refits: the number of unstable directions of W = 0 bounds the rank from above, complete
collapse is decided by the second moments alone, and on Gaussian features with the same A0 and C the
prediction is at least as good as on the real ones.  The ResNet-18 command line runs at a toy width.
"""

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.x64_only]


@pytest.fixture(scope="module")
def grid():
    from landscape.reproduction.extensions import diagnosis_networks as m

    return m, m.compute()


def test_full_grid_rank_bounds(grid):
    m, d = grid
    for name in ("digits", "images"):
        lo, hi, fr = (d[f"{name}_{k}"] for k in ("predicted_low", "predicted_high", "rank_frozen"))
        assert lo.shape == (3, 3) and np.all(lo <= hi)
        assert np.all(fr <= hi), name  # an upper bound in every cell
        assert not np.any((hi == 0) & (fr > 0)) and not np.any((lo > 0) & (fr == 0)), name
        f, g = m.summary(d, name, "frozen"), m.summary(d, name, "gauss")
        assert abs(g["mean_signed"]) <= abs(f["mean_signed"]), name
        # the grid spans several regimes: a rank change along each axis
        assert len(np.unique(d[f"{name}_predicted_rank"])) >= 3
    from landscape.reproduction.claims import verdict

    verdicts = {c.key: verdict(c) for c in m.claims(d)}
    assert verdicts["diagnosis-net-complete"] == "reproduced" and verdicts["diagnosis-net-gaussian"] == "reproduced"


def test_resnet18_command_line(tmp_path):
    """The GPU run's entry point at a toy size: it writes the file, renders, and refuses to overwrite it."""
    from landscape.reproduction.extensions import diagnosis_networks as m
    from landscape.studies import diagnosis_validation as dv

    out = tmp_path / "rn.npz"
    args = ["--resnet-width", "2", "--image-size", "8", "--n-samples", "64", "--steps", "2", "--batch-size", "16"]
    args += ["--refit-samples", "32", "--refit-steps", "2", "--bootstrap", "0", "--strengths", "1"]
    args += ["--weight-decays", "0.01", "--out", str(out)]
    assert dv.main(args) == 0
    with np.load(out) as f:
        d = {k: f[k] for k in f.files}
    assert str(d["models"][0]) == "resnet18" and d["images_b_minus_gamma"].shape == (1, 1, 16)
    assert m.main(["--plot-only", str(out), "--out", str(tmp_path / "fig")]) == 0
    with pytest.raises(SystemExit) as e:
        dv.main(args)
    assert e.value.code == 2
