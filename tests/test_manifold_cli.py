"""Latent grids, tiling, paths, and one smoke run of each CLI command."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import ROOT, evil_files
from PIL import Image

from vae_core.errors import ConfigError, InputError
from vae_core.manifold import (
    circle_path,
    clean_z,
    data_range,
    grid_axes,
    latent_grid,
    line_path,
    manifold_image,
    posterior_ellipse,
    tile,
)


def test_icdf_axes_are_symmetric_gaussian_quantiles():
    z1, z2 = grid_axes(20, "icdf")
    assert np.allclose(z1, -z1[::-1]) and np.all(np.diff(z1) > 0) and np.array_equal(z1, z2)
    from scipy.stats import norm

    assert np.allclose(norm.cdf(z1), (np.arange(20) + 0.5) / 20)


def test_linear_axes_and_bad_grids():
    z1, z2 = grid_axes(5, "linear", (-1, -2), (1, 2))
    assert np.allclose(z1, [-1, -0.5, 0, 0.5, 1]) and np.allclose(z2, [-2, -1, 0, 1, 2])
    for bad in [
        dict(n=1),
        dict(n=41),
        dict(n=10, spacing="log"),
        dict(n=5, spacing="linear", lo=(1, 0), hi=(0, 1)),
        dict(n=5, spacing="linear", lo=(float("nan"), 0), hi=(1, 1)),
    ]:
        with pytest.raises(ConfigError):
            grid_axes(**bad)


def test_grid_orientation_top_left_is_low_z1_high_z2():
    z = latent_grid(np.array([-1.0, 0.0, 1.0]), np.array([-2.0, 2.0]), latent_dim=3, rest=[0.5])
    assert z.shape == (6, 3)
    assert z[0].tolist() == [-1.0, 2.0, 0.5] and z[-1].tolist() == [1.0, -2.0, 0.5]


def test_tile_puts_image_i_at_row_i_div_n_and_column_i_mod_n():
    imgs = torch.arange(6, dtype=torch.uint8).view(6, 1, 1, 1).expand(6, 1, 2, 3).contiguous()
    m = tile(imgs, 3)
    assert m.shape == (4, 9)
    assert m[0, 0] == 0 and m[0, 3] == 1 and m[2, 0] == 3 and m[3, 8] == 5
    padded = tile(imgs[:5], 3, pad=1)
    assert padded.shape == (5, 11)  # 2 rows of 2+1, 3 columns of 3+1, less the outer pad
    assert padded[3, 8] == 255  # the missing sixth cell is blank


def test_manifold_image_of_the_shipped_model():
    from vae_core.checkpoint import load_checkpoint

    ckpt = load_checkpoint(ROOT / "checkpoints" / "digits.safetensors")
    img, z1, z2 = manifold_image(ckpt.model, 10)
    assert (
        img.shape == (10 * 32 + 9 * 2,) * 2 and img.dtype == np.uint8 and img.std() > 10
    )  # 8x8 enlarged 4x, 2-px gaps


def test_clean_z_refuses_nan_and_wrong_length_and_clamps():
    assert clean_z([1e30, -2.0], 2).tolist() == [10.0, -2.0]
    for bad in ([float("nan"), 0.0], [1.0], [1.0, 2.0, 3.0], "abc", None, [[1.0, 2.0], [3.0, 4.0]]):
        with pytest.raises(InputError):
            clean_z(bad, 2)


def test_paths_ellipse_and_data_range():
    p = line_path([0, 0], [1, 2], 5)
    assert p.shape == (5, 2) and p[0].tolist() == [0, 0] and p[-1].tolist() == [1, 2]
    c = circle_path([1.0, 1.0, 3.0], 2.0, 8)
    assert torch.allclose((c[:, :2] - 1).norm(dim=1), torch.full((8,), 2.0)) and (c[:, 2] == 3).all()
    e = posterior_ellipse([0.0, 0.0], [np.log(4.0), 0.0])
    assert np.isclose(e[:, 0].max(), 4.0) and np.isclose(e[:, 1].max(), 2.0, atol=1e-2)
    flat = posterior_ellipse([1.0], [0.0])  # a 1-D latent: the ellipse is a segment on z2 = 0
    assert np.allclose(flat[:, 1], 0) and np.isclose(flat[:, 0].max(), 3.0)
    lo, hi = data_range(torch.randn(1000, 2))
    assert -3 < lo[0] < -1.5 and 1.5 < hi[1] < 3


def cli(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "vae_core", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, **kw
    )


@pytest.mark.slow
def test_cli_train_eval_manifold_smoke(tmp_path):
    out = tmp_path / "tiny.safetensors"
    r = cli(
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--hidden",
        "32",
        "--eval-k",
        "5",
        "--batch-size",
        "128",
    )
    assert r.returncode == 0, r.stderr
    assert "epoch   2/2" in r.stdout and out.is_file()
    # continuous pixels and a Bernoulli decoder: a score, named as such, with its standard error
    assert "IW score (not a normalised density), k=5, 360 of 360 test images" in r.stdout and "±" in r.stdout
    r = cli("eval", str(out), "--k", "5")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert {"test_elbo", "test_iw_ll", "k", "dataset", "n_test", "test_iw_se", "score_name"} <= set(result)
    assert result["score_name"] == "IW score (not a normalised density)"
    assert result["n_test"] == 360 and result["k"] == 5 and result["test_elbo"] < 0
    png = tmp_path / "m.png"
    r = cli("manifold", str(out), "--out", str(png), "--n", "6", "--spacing", "linear")
    assert r.returncode == 0, r.stderr
    assert Image.open(png).size == (6 * 32 + 5 * 2,) * 2  # 8x8 tiles enlarged 4x with 2-pixel gaps


def cli_here(capsys, *args) -> tuple[int, str]:
    """The command's exit code and standard error, run in this process (an exception would fail the test)."""
    from vae_core.__main__ import main

    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse refuses an option
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.slow
def test_cli_errors_are_messages_not_tracebacks(tmp_path, capsys):
    marker, files = evil_files(tmp_path)
    r = cli("eval", str(files[0]))  # once as a user runs it: a message, exit code 2, nothing else
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr
    for f in files:
        code, err = cli_here(capsys, "eval", str(f))
        assert code == 2 and "error:" in err, (f, err)
    assert not marker.exists()
    code, err = cli_here(
        capsys, "train", "--dataset", "kmnist", "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "k.st")
    )
    assert code == 2 and "kmnist" in err and "To get it" in err
    for bad in (["--epochs", "0"], ["--lr", "-1"], ["--latent-dim", "0"], ["--batch-size", "99999"]):
        code, err = cli_here(capsys, "train", "--dataset", "digits", "--out", str(tmp_path / "x.safetensors"), *bad)
        assert code == 2 and "error:" in err, (bad, err)
    assert not (tmp_path / "x.safetensors").exists()
