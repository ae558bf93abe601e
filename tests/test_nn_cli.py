"""``landscape nn-train``: runs, reports measured vs predicted collapse, rejects bad input with exit code 2."""

import json

from landscape import cli


def test_nn_train_json(capsys, tmp_path):
    ckpt = tmp_path / "mlp.npz"
    code = cli.main(
        ["nn-train", "--sigma2", "5", "--steps", "60", "--batch", "128", "--checkpoint", str(ckpt), "--json"]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == 60 and ckpt.is_file()
    # σ² = 5 is beyond the input-space threshold of both directions: the origin is stable
    assert out["predicted_class"] == "complete"
    assert len(out["measured_output_variances"]) == 2


def test_nn_train_bad_input(capsys):
    assert cli.main(["nn-train", "--sigma2", "-1"]) == 2
    assert "--sigma2" in capsys.readouterr().err
    assert cli.main(["nn-train", "--model", "convnet", "--data", "gaussian"]) == 2
    assert "--model convnet needs image data" in capsys.readouterr().err
