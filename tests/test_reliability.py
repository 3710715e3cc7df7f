"""Interrupted and failing work, concurrent sessions, hostile input: each tried for real."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from helpers import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.models import checked_name, model_path
from explorer.training import TrainingJob, submit
from vae_core.checkpoint import load_checkpoint, remove_stale_temps, save_checkpoint
from vae_core.elbo import iw_log_likelihood
from vae_core.errors import CheckpointError, ConfigError, VAECoreError
from vae_core.evaluate import encode
from vae_core.images import to_model_input
from vae_core.manifold import clean_z, decode_images, grid_axes
from vae_core.model import VAE, VAEConfig
from vae_core.train import TrainConfig

# Imports torch once, then forks a writer for each line on stdin (a writer ready in milliseconds,
# not the seconds a new Python with torch takes); each writer saves in a loop until it is killed.
WRITER = textwrap.dedent("""
    import os, sys, torch
    torch.set_num_threads(1)  # no thread pool to inherit across fork
    sys.path.insert(0, {root!r})
    from vae_core.checkpoint import save_checkpoint
    from vae_core.model import VAE, VAEConfig
    models = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        models.append(VAE(VAEConfig(input_shape=(1, 28, 28), hidden=(256,))))
    for _ in sys.stdin:
        pid = os.fork()
        if pid == 0:
            print("ready", os.getpid(), flush=True)
            i = 0
            while True:
                save_checkpoint(sys.argv[1], models[i % 2], {{"which": i % 2, "save": i}})
                i += 1
        _, status = os.waitpid(pid, 0)
        print("killed" if os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9 else "exited", flush=True)
""")


@pytest.mark.slow
def test_sigkill_during_saves_never_leaves_a_broken_checkpoint(tmp_path):
    path = tmp_path / "model.safetensors"
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=str(ROOT)))
    torch.manual_seed(1)
    first = VAE(VAEConfig(input_shape=(1, 28, 28), hidden=(256,)))
    save_checkpoint(path, first, {"which": 0, "save": -1})
    rng = random.Random(0)
    seen, saves = set(), set()
    forks = subprocess.Popen([sys.executable, str(script), str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        for _ in range(12):
            forks.stdin.write(b"go\n")
            forks.stdin.flush()
            word, pid = forks.stdout.readline().split()
            assert word == b"ready"
            time.sleep(rng.uniform(0.0, 0.4))  # somewhere inside one of many ~1 MB writes
            os.kill(int(pid), signal.SIGKILL)
            assert forks.stdout.readline().strip() == b"killed"  # gone before the file is read
            ckpt = load_checkpoint(path)  # must load: the old file or a new one, never a part
            seen.add(ckpt.meta["which"])
            saves.add(ckpt.meta["save"])
    finally:
        forks.kill()
        forks.wait()
    assert seen <= {0, 1} and max(saves) >= 0  # whole files only, and the writers did replace it
    leftovers = list(tmp_path.glob(".*.tmp"))
    assert remove_stale_temps(tmp_path, older_than=0) == len(leftovers)
    assert not list(tmp_path.glob(".*.tmp"))
    save_checkpoint(path, first, {"which": 0})  # and saving again still works
    assert load_checkpoint(path).meta["which"] == 0


def test_stale_temporary_files_are_removed_by_the_next_save(tmp_path):
    stale = tmp_path / ".m.safetensors.abc.tmp"
    stale.write_bytes(b"partial")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = tmp_path / ".m.safetensors.def.tmp"  # another writer may be busy with this one
    fresh.write_bytes(b"in progress")
    save_checkpoint(tmp_path / "m.safetensors", VAE(VAEConfig(input_shape=(1, 2, 2), hidden=(2,))), {})
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "..",
        "/etc/passwd",
        "a/b",
        "a\\b",
        "x.safetensors",
        "",
        " ",
        "é",
        "a" * 41,
        "-lead",
        "nul\0byte",
        "fashion-mnist",
        "digits",
    ],
)
def test_unsafe_or_shipped_names_are_refused(name):
    with pytest.raises(ConfigError):
        checked_name(name)


def test_model_paths_stay_in_the_models_folder(models_dir):
    p = model_path("my-model_2")
    assert p.name == "my-model_2.safetensors" and p.parent == models_dir.resolve()
    with pytest.raises(ConfigError):
        model_path("../../etc/x")


def _job(name, **train):
    cfg = TrainConfig(**{"epochs": 1, "batch_size": 64, "device": "cpu", **train})
    return TrainingJob("digits", {"hidden": (32,)}, cfg, name, "tester")


def test_stop_request_ends_after_the_epoch_and_saves(tmp_path):
    job = submit(_job("stopped", epochs=200))
    while not job.history and job.thread.is_alive():
        time.sleep(0.05)
    job.request_stop()
    job.thread.join(60)
    assert job.status == "done" and "stopped early" in job.message[0]
    ckpt = load_checkpoint(job.out)
    assert ckpt.meta["stopped_early"] and 1 <= len(ckpt.meta["history"]) < 200


def test_a_diverging_run_in_the_app_saves_nothing_and_says_why(models_dir):
    job = submit(_job("boom", lr=1e9, epochs=3))
    job.thread.join(60)
    en, ko = job.message
    assert job.status == "failed" and "diverged" in en and "lower the learning rate" in en and "학습 실패" in ko
    assert not (models_dir / "boom.safetensors").exists()


def test_missing_dataset_in_the_app_names_it(tmp_path):
    job = TrainingJob(
        "kmnist",
        {"hidden": (32,)},
        TrainConfig(epochs=1, device="cpu"),
        "k",
        "tester",
        data_dir=str(tmp_path / "nowhere"),
    )
    submit(job).thread.join(60)
    en, ko = job.message  # said plainly: the folders searched are the server's (its log has them)
    assert job.status == "failed" and "kmnist" in en and "not on this server" in en and "kmnist" in ko
    assert "nowhere" not in en + ko and "/" not in en + ko


def test_two_sessions_training_at_once_get_separate_models(models_dir):
    a = submit(_job("ma", seed=1, epochs=2))
    with pytest.raises(ConfigError, match="already exists or is being trained"):
        submit(_job("ma", seed=3))  # one name, one model: the second is refused before it starts
    b = submit(_job("mb", seed=2, epochs=2))
    a.thread.join(120)
    b.thread.join(120)
    assert a.status == b.status == "done", (a.message, b.message)
    ma, mb = load_checkpoint(a.out).model, load_checkpoint(b.out).model
    assert a.out != b.out and not torch.equal(ma.dec_out.weight, mb.dec_out.weight)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_out_of_gpu_memory_gives_a_message(models_dir):
    job = TrainingJob(
        "digits",
        {"hidden": (4096, 4096)},  # the widest allowed; L = 1000 draws of z per image: > 140 GB of activations
        TrainConfig(epochs=1, batch_size=1437, n_samples=1000, device="cuda"),
        "oom",
        "tester",
    )
    submit(job)
    job.thread.join(300)
    assert job.status == "failed" and "out of GPU memory" in job.message[0]
    assert job.out is None and not (models_dir / "oom.safetensors").exists()


# ---- fuzzing the public functions that take user input ----

MODEL = VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(8,), latent_dim=2)).eval()
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=32)
SHAPES = st.lists(st.integers(0, 20), min_size=0, max_size=4).map(tuple)
DTYPES = st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_, np.float16])
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def any_array():
    return st.one_of(
        arrays(DTYPES, SHAPES, elements=None),
        arrays(np.float64, SHAPES, elements=FLOATS),
        st.just(np.full((3, 16), 1e30)),
        st.just(np.full((2, 2), np.nan)),
    )


@FUZZ
@given(any_array())
def test_fuzz_decode(z):
    try:
        out = decode_images(MODEL, z)
    except VAECoreError:
        return
    assert out.dtype == torch.uint8 and out.shape[1:] == (1, 4, 4)


@FUZZ
@given(any_array())
def test_fuzz_encode(x):
    try:
        mu, logvar = encode(MODEL, x)
    except VAECoreError:
        return
    assert mu.shape == logvar.shape and torch.isfinite(mu).all()


@FUZZ
@given(any_array(), st.integers(-5, 50))
def test_fuzz_iw_estimate(x, k):
    try:
        ll = iw_log_likelihood(MODEL, x, k)
    except VAECoreError:
        return
    assert ll.shape[0] >= 1 and torch.isfinite(ll).all()


@FUZZ
@given(
    st.one_of(st.integers(-10, 100), st.floats(), st.text(max_size=3)),
    st.sampled_from(["icdf", "linear", "x"]),
    st.tuples(FLOATS, FLOATS),
    st.tuples(FLOATS, FLOATS),
)
def test_fuzz_grid(n, spacing, lo, hi):
    try:
        z1, z2 = grid_axes(n, spacing, lo, hi)
    except VAECoreError:
        return
    assert len(z1) == len(z2) == n and np.isfinite(z1).all() and np.isfinite(z2).all()


@FUZZ
@given(any_array())
def test_fuzz_clean_z(z):
    try:
        out = clean_z(z, 2)
    except VAECoreError:
        return
    assert out.shape == (2,) and torch.isfinite(out).all() and out.abs().max() <= 10


@FUZZ
@given(any_array())
def test_fuzz_image_preprocessing(a):
    try:
        x = to_model_input(a, (1, 8, 8))
    except VAECoreError:
        return
    assert x.shape == (1, 64) and torch.isfinite(x).all() and 0 <= x.min() and x.max() <= 1


def test_cached_shipped_models_are_not_mutated_by_sessions(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    for page in ("pages/walk.py", "pages/manifold.py", "pages/metrics.py", "pages/encode.py"):
        at = at.switch_page(page).run()
    cached = at.session_state["active_model"]
    from explorer import state

    fresh = load_checkpoint(cached.path).model.state_dict()
    live = state._load_file(*state.file_key(cached.path)).model.state_dict()
    assert all(torch.equal(fresh[k], live[k]) for k in fresh)


def test_checkpoint_errors_are_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path)
