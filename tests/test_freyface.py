"""Frey Face through the registry: its MATLAB file read, its absence explained, its decoder."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import savemat

from vae_core.data import load_dataset, read_frey_mat
from vae_core.datasets import DATASETS
from vae_core.errors import DataUnavailableError
from vae_core.paper import model_config, paper_hidden
from vae_core.settings import build_configs


def write_frey(folder, n=30, seed=0):
    """A small file in the real one's format: MATLAB v5, variable ff, (560, n) uint8."""
    ff = np.random.default_rng(seed).integers(0, 256, size=(560, n), dtype=np.uint8)
    savemat(str(folder / "frey_rawface.mat"), {"ff": ff}, format="5")
    return ff


def test_the_loader_reads_the_mat_file_frame_by_frame(tmp_path):
    ff = write_frey(tmp_path)
    frames = read_frey_mat(tmp_path / "frey_rawface.mat")
    assert frames.shape == (30, 28, 20) and frames.dtype == np.uint8
    assert frames[7, 3, 5] == ff[3 * 20 + 5, 7]  # column j is frame j, row-major 28 x 20


def test_load_dataset_splits_every_frame_once(tmp_path):
    ff = write_frey(tmp_path)
    data = load_dataset("freyface", tmp_path)
    assert data.image_shape == DATASETS["freyface"].image_shape == (1, 28, 20)
    assert len(data.x_test) == 6 and len(data.x_train) == 24  # 400 / 1965 of the frames
    both = np.concatenate([data.x_train.numpy(), data.x_test.numpy()]) * 255
    assert np.allclose(np.sort(both.round(), axis=0), np.sort(ff.T.astype(np.float32), axis=0))
    assert data.x_train.shape[1] == 560 and 0 <= data.x_train.min() and data.x_train.max() <= 1


def test_a_missing_file_says_where_to_put_it(tmp_path):
    with pytest.raises(DataUnavailableError) as err:
        load_dataset("freyface", tmp_path / "empty")
    text = str(err.value)
    assert "frey_rawface.mat" in text and "https://cs.nyu.edu/~roweis/data/frey_rawface.mat" in text
    assert "--data-dir" in text and str(tmp_path / "empty") in text


def test_a_file_that_is_not_frey_face_is_refused(tmp_path):
    savemat(str(tmp_path / "frey_rawface.mat"), {"ff": np.zeros((100, 3), dtype=np.uint8)})
    with pytest.raises(DataUnavailableError, match="560"):
        load_dataset("freyface", tmp_path)
    (tmp_path / "frey_rawface.mat").write_bytes(b"not a MATLAB file")
    with pytest.raises(DataUnavailableError, match="not the Frey Face file"):
        load_dataset("freyface", tmp_path)


def test_its_default_decoder_is_the_papers_gaussian(tmp_path):
    model, _ = build_configs("freyface")
    assert model.likelihood == "gaussian" and model.gaussian_variance == "learned"
    write_frey(tmp_path)
    config = model_config(load_dataset("freyface", tmp_path), 5, paper_hidden("freyface"))
    assert config.likelihood == "gaussian" and config.hidden == (200,) and config.activation == "tanh"
