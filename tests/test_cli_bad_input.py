"""Bad command-line input: one line on stderr naming the option, exit code 2, never a traceback.

Every call is in-process (:func:`landscape.cli.main`); the console script's own
exit code is checked once in tests/test_cli.py.  The sweep feeds each command
group a handful of bad values per numeric option; the cases before it are the
inputs that used to escape as tracebacks, vague messages or silent results.
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
from numpy.lib import format as npy_format

from landscape.cli import main

BIG = "12345678901234567890123"  # 23 digits: beyond int64


def usage_error(capsys, argv, *fields) -> str:
    """Run ``landscape argv``; assert exit 2, nothing on stdout, one stderr line naming ``fields``."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (argv, code, err)
    assert out == ""
    assert lines[0].startswith(f"landscape {argv[0]}: error: "), lines[0]
    for f in fields:
        assert f in lines[0], (f, lines[0])
    return lines[0]


PROBLEM = ["--a", "3,1", "--c", "1,1"]


# ----------------------------------------------------------------------------- seeds and sizes
@pytest.mark.parametrize(
    "argv",
    [
        ["flow", *PROBLEM, "--steps", "1", "--seed", BIG],
        ["run", "--grid", "8", "--seed", BIG],
        [
            "two-layer",
            "--signal-var",
            "1,1",
            "--aug-var",
            "0,1",
            "--sigmas",
            "1",
            "--steps",
            "1",
            "--out-dim",
            "1",
            "--seed",
            BIG,
        ],
        ["cover", "--seed", BIG],
        ["nn-train", "--steps", "1", "--seed", BIG],
    ],
    ids=lambda a: a[0],
)
def test_seed_beyond_int64(capsys, argv):
    usage_error(capsys, argv, "--seed", "[0, 4294967295]")


def test_negative_seed_is_refused_where_float32_would_change_its_key(capsys):
    # jax.random.PRNGKey(-1) differs between float32 and float64; [0, 2^32 - 1] is where they agree.
    assert [int(v) for v in jax.random.PRNGKey(2**32 - 1)] == [0, 2**32 - 1]
    usage_error(capsys, ["flow", *PROBLEM, "--steps", "1", "--seed", "-1"], "--seed")


def test_out_dim_beyond_memory_refused_with_the_estimate(capsys):
    # flow holds the d1×d1 product WΣWᵀ: 10⁸ outputs is ~10¹⁷ bytes (a runtime error before).
    line = usage_error(
        capsys,
        ["flow", *PROBLEM, "--steps", "1", "--out-dim", "100000000"],
        "--out-dim 100000000",
        "asks for about",
        "allowed",
    )
    assert "d0 = 2" in line
    # solve holds d1×d0 weights: 10¹² × 2 float64 is ~16 TB.
    usage_error(capsys, ["solve", *PROBLEM, "--out-dim", str(10**12)], "--out-dim", "asks for about")


def test_weighted_infonce_without_negatives_or_positive_weight(capsys):
    # N = 1 leaves only α·e^{pos} in the denominator; α = 0 makes it vanish (NaN spectra, exit 0 before).
    usage_error(
        capsys,
        ["solve", "--loss", "weighted-infonce", "--n-samples", "1", "--alpha", "0", *PROBLEM],
        "--n-samples",
        "--alpha",
    )


@pytest.mark.parametrize("signal, aug", [("1,1", "1,1"), ("1,1", "0,0")], ids=["no clean", "no augmented"])
def test_two_layer_needs_clean_and_augmented_directions(capsys, signal, aug):
    # The report's subspace angles need both (a NumPy reduction error before).
    usage_error(
        capsys,
        ["two-layer", "--signal-var", signal, "--aug-var", aug, "--sigmas", "1", "--steps", "1"],
        "--signal-var",
        "--aug-var",
        "clean",
    )


# ----------------------------------------------------------------------------- .npy files
def _header_only(path, shape, descr="<f8"):
    """A .npy file whose header claims ``shape`` but holds no data."""
    with open(path, "wb") as fh:
        npy_format.write_array_header_1_0(fh, {"descr": descr, "fortran_order": False, "shape": shape})
    return path


@pytest.fixture
def npys(tmp_path):
    np.save(tmp_path / "eye.npy", np.eye(3))
    np.save(tmp_path / "vec.npy", np.ones(3))
    np.save(tmp_path / "rect.npy", np.ones((3, 2)))
    np.save(tmp_path / "obj.npy", np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    _header_only(tmp_path / "huge.npy", (100_000, 100_000))
    (tmp_path / "text.npy").write_text("not an array")
    return tmp_path


@pytest.mark.parametrize(
    "opts, fields",
    [
        (["--data-cov", "vec.npy", "--sigma2", "1"], ["--data-cov", "vec.npy", "square", "(3,)"]),
        (["--data-cov", "eye.npy", "--aug-cov", "vec.npy"], ["--aug-cov", "square", "(3,)"]),
        (["--data-cov", "rect.npy", "--sigma2", "1"], ["--data-cov", "square", "(3, 2)"]),
        (["--data-cov", "huge.npy", "--sigma2", "1"], ["--data-cov", "(100000, 100000)", "asks for about"]),
        (["--data-cov", "obj.npy", "--sigma2", "1"], ["--data-cov", "Python objects"]),
        (["--data-cov", "text.npy", "--sigma2", "1"], ["--data-cov", "cannot read"]),
        (["--data-cov", ".", "--sigma2", "1"], ["--data-cov", "folder"]),
    ],
    ids=["1-D data-cov", "1-D aug-cov", "rectangular", "huge header", "object", "not npy", "folder"],
)
def test_npy_inputs(capsys, npys, monkeypatch, opts, fields):
    monkeypatch.chdir(npys)
    usage_error(capsys, ["solve", *opts], *fields)


def test_huge_npy_labels_refused_from_the_header(capsys, npys):
    _header_only(npys / "labels.npy", (10**12,), "<i8")
    usage_error(
        capsys, ["ideal", "--codes", npys / "eye.npy", "--labels", npys / "labels.npy"], "--labels", "asks for about"
    )


# ----------------------------------------------------------------------------- --classes files
GOOD = {"means": [[1.0, 0.0], [-1.0, 0.0]], "proportions": [0.3, 0.7], "aug_var": 0.1}


def _with(**changes):
    spec = {**GOOD, **changes}
    return json.dumps({k: v for k, v in spec.items() if v is not None})


CLASS_FILES = [
    ("missing means", _with(means=None), ["means", "missing"]),
    ("list", json.dumps([1, 2]), ["JSON object", "list"]),
    ("not JSON", "{means: [", ["not valid JSON"]),
    ("string entry", _with(means=[[1.0, 0.0], ["a", 0.0]]), ["means row 1, column 0", "number", "'a'"]),
    ("bool entry", _with(means=[[True, 0.0], [-1.0, 0.0]]), ["means row 0, column 0", "number"]),
    ("ragged", _with(means=[[1.0, 0.0], [1.0]]), ["means row 1", "2 numbers", "1 entries"]),
    ("row not a list", _with(means=[[1.0, 0.0], 3.0]), ["means row 1", "list"]),
    ("NaN mean", '{"means": [[1.0, 0.0], [NaN, 0.0]], "proportions": [0.3, 0.7]}', ["means row 1, column 0", "finite"]),
    (
        "NaN proportion",
        '{"means": [[1.0, 0.0], [-1.0, 0.0]], "proportions": [NaN, 0.7]}',
        ["proportions entry 0", "finite"],
    ),
    ("negative proportion", _with(proportions=[-0.5, 1.5]), ["proportions entry 0", "(0, 1)", "-0.5"]),
    ("proportions length", _with(proportions=[0.3, 0.3, 0.4]), ["proportions", "one entry per class"]),
    ("proportions object", _with(proportions={"a": 1}), ["proportions", "a number or a list"]),
    ("huge integer", _with(means=[[10**400, 0.0], [-1.0, 0.0]]), ["means row 0, column 0", "finite"]),
    ("kappa list", _with(kappa=[1]), ["kappa", '"inf"']),
    ("kappa text", _with(kappa="x"), ["kappa", "'x'"]),
    ("norm_target text", _with(norm_target="abc"), ["norm_target", "number", "'abc'"]),
    ("within_cov length", _with(within_cov=[1.0, 2.0, 3.0]), ["within_cov", "length 2"]),
    ("unknown field", _with(sigma=1.0), ["'sigma'", "allowed"]),
]


@pytest.mark.parametrize("text, fields", [c[1:] for c in CLASS_FILES], ids=[c[0] for c in CLASS_FILES])
def test_classes_file_errors_name_file_field_and_row(capsys, tmp_path, text, fields):
    path = tmp_path / "classes.json"
    path.write_text(text)
    usage_error(capsys, ["solve", "--classes", path], f"--classes {path}:", *fields)


def test_classes_file_missing_and_toml(capsys, tmp_path):
    usage_error(capsys, ["solve", "--classes", tmp_path / "none.json"], "none.json", "cannot read")
    bad = tmp_path / "c.toml"
    bad.write_text('means = [[1.0, 0.0], [-1.0, "x"]]\nproportions = [0.3, 0.7]\n')
    usage_error(capsys, ["solve", "--classes", bad], "c.toml", "means row 1, column 1")


# ----------------------------------------------------------------------------- nn-train --checkpoint
def test_nn_checkpoint_that_is_not_ours_is_refused_and_kept(capsys, tmp_path):
    notes = tmp_path / "notes.npz"
    notes.write_text("my notes")
    usage_error(
        capsys,
        ["nn-train", "--steps", "1", "--batch", "8", "--checkpoint", notes],
        "--checkpoint",
        "not a landscape checkpoint",
    )
    assert notes.read_text() == "my notes"
    usage_error(
        capsys, ["nn-train", "--steps", "1", "--batch", "8", "--checkpoint", tmp_path], "--checkpoint", "not a file"
    )


# ----------------------------------------------------------------------------- precision is scoped
def test_main_leaves_the_callers_x64_setting(capsys, monkeypatch):
    from landscape.cli import _common as cli_common

    before = bool(jax.config.jax_enable_x64)
    # Ask the CLI for the other precision, so that a process-wide switch would show.
    monkeypatch.setenv("JAX_ENABLE_X64", "0" if before else "1")
    try:
        assert main(["cover", "--points", "3", "--dims", "1"]) == 0
        assert bool(jax.config.jax_enable_x64) == before
        with cli_common.precision():  # the command itself runs in the precision asked for
            assert jax.numpy.ones(1).dtype == (np.float32 if before else np.float64)
        assert bool(jax.config.jax_enable_x64) == before
    finally:
        jax.config.update("jax_enable_x64", before)
    assert "separable dichotomies" in capsys.readouterr().out


# ----------------------------------------------------------------------------- the sweep
NONNEG = ["-1", "nan", "inf", "x", "True", ""]  # a real number >= 0
POSITIVE = ["0", *NONNEG]  # a real number > 0
COUNT = ["0", "-3", "2.5", "1e3", "True", "x", BIG]  # an integer >= 1
SEED = ["-1", "2.5", "True", "4294967296", BIG]
LIST = ["1,nan", "1,inf", "1,-1", "1,x", "True", ","]  # comma-separated values >= 0
COUNTS = ["0", "-1", "2.5", "x", "1,True", BIG]  # comma-separated integers >= 1

SOLVE = ["solve", *PROBLEM]
TWO = ["--signal-var", "1,1", "--aug-var", "0,1", "--sigmas", "1", "--steps", "1", "--out-dim", "1"]
SWEEP = {
    "solve": [
        (SOLVE, "--weight-decay", NONNEG),
        (SOLVE, "--quartic", POSITIVE),
        (SOLVE, "--alpha", NONNEG),
        (SOLVE + ["--loss", "beta-infonce"], "--beta", ["0", "1.5", *NONNEG]),
        (SOLVE, "--invariance-weight", NONNEG),
        (SOLVE, "--kappa", NONNEG),
        (SOLVE, "--norm-target", POSITIVE),
        (SOLVE, "--out-dim", COUNT),
        (["solve", "--c", "1,1"], "--a", LIST),
        (["solve", "--a", "1,1"], "--c", LIST),
        (["solve", "--a", "1,1"], "--sigma2", NONNEG),
        (SOLVE + ["--loss", "weighted-infonce"], "--n-samples", ["0.5", *NONNEG]),
    ],
    "flow": [
        (["flow", *PROBLEM], "--lr", POSITIVE),
        (["flow", *PROBLEM], "--steps", COUNT),
        (["flow", *PROBLEM], "--init-scale", POSITIVE),
        (["flow", *PROBLEM], "--seed", SEED),
    ],
    "run": [(["run"], "--grid", ["7", "2001", *COUNT]), (["run", "--grid", "8"], "--seed", SEED)],
    "classes": [
        (["solve", "--classes", "{good}"], opt, vals)
        for opt, vals in (
            ("--sigma2", NONNEG),
            ("--weight-decay", NONNEG),
            ("--beta", POSITIVE),
            ("--quartic", POSITIVE),
            ("--out-dim", COUNT),
        )
    ],
    "ideal": [(["ideal", "--codes", "{codes}", "--labels", "{labels}"], "--tol", NONNEG)],
    "two-layer": [
        (["two-layer", *TWO], opt, vals)
        for opt, vals in (
            ("--signal-var", LIST),
            ("--aug-var", LIST),
            ("--sigmas", LIST),
            ("--hidden", COUNT),
            ("--out-dim", COUNT),
            ("--steps", COUNT),
            ("--weight-decay", NONNEG),
            ("--init-scale", POSITIVE),
            ("--seed", SEED),
        )
    ],
    "two-layer-phase": [(["two-layer-phase", *TWO], "--init-scales", ["0", *LIST])],
    "cover": [
        (["cover"], "--points", ["1001", *COUNTS]),
        (["cover"], "--dims", ["-1", "x", "2.5", BIG]),
        (["cover"], "--seed", SEED),
    ],
    "worst-risk": [(["worst-risk"], "--classes", COUNTS), (["worst-risk"], "--samples", ["-1", "x", "2.5", BIG])],
    "dissl": [
        (["dissl"], "--lambdas", ["nan", "inf", "x", ","]),
        (["dissl"], "--betas", LIST),
        (["dissl"], "--batch", COUNT),
        (["dissl"], "--classes", COUNT),
    ],
    "nn-train": [
        (["nn-train", "--steps", "1"], opt, vals)
        for opt, vals in (
            ("--lr", POSITIVE),
            ("--sigma2", NONNEG),
            ("--weight-decay", NONNEG),
            ("--beta", ["0", "1.5", *NONNEG]),
            ("--steps", COUNT),
            ("--batch", ["1", "513", *COUNT]),
            ("--out-dim", ["100000000", *COUNT]),
            ("--seed", SEED),
        )
    ],
}


@pytest.mark.parametrize("group", list(SWEEP))
def test_bad_values_sweep(capsys, tmp_path, group):
    np.save(tmp_path / "codes.npy", np.eye(3))
    np.save(tmp_path / "labels.npy", np.arange(3))
    (tmp_path / "good.json").write_text(json.dumps(GOOD))
    files = {k: str(tmp_path / f) for k, f in (("codes", "codes.npy"), ("labels", "labels.npy"), ("good", "good.json"))}
    failures = []
    for base, opt, values in SWEEP[group]:
        for value in values:
            argv = [a.format(**files) for a in base] + [f"{opt}={value}"]
            try:
                usage_error(capsys, argv, opt)
            except Exception as e:  # noqa: BLE001 - an escaped exception is a failure of the contract too
                capsys.readouterr()
                failures.append(f"{' '.join(argv)}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)
