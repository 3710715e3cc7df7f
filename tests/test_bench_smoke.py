"""One tiny run of every benchmark, so none of them can rot. No timing is asserted here."""

import gzip
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from browser import chromium_missing_reason
from helpers import MNIST_10K

ROOT = Path(__file__).resolve().parents[1]


def in_git_checkout() -> bool:
    git = shutil.which("git")
    return git is not None and subprocess.run([git, "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode == 0


def write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def fake_fashion(tmp_path_factory):
    """A small folder of the four Fashion-MNIST IDX files (random pixels, right format)."""
    d = tmp_path_factory.mktemp("fashion")
    rng = np.random.default_rng(0)
    for split, n in (("train", 600), ("t10k", 200)):
        write_idx(d / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(d / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    return d


def test_train_speed_smoke(fake_fashion):
    from bench import train_speed

    r = train_speed.main(
        ["--data-dir", str(fake_fashion), "--device", "cpu", "--epochs", "2", "--ref-epochs", "2", "--target", "100000"]
    )
    assert r["vae_core"]["epochs"] == 2 and r["reference"]["epochs"] == 2
    assert r["reference"]["n_train"] == r["vae_core"]["n_train"] == 600
    ratios = r["ratio_reference_over_ours"]  # the line the benchmark prints last
    assert ratios and all(v == v for v in ratios.values())  # present and not NaN
    assert ratios["vae_core_time_to_target"]["epoch"] == ratios["reference_time_to_target"]["epoch"] == 1


def test_decode_latency_smoke():
    from bench import decode_latency

    r = decode_latency.main(["--repeats", "4", "--grid", "5", "--n-encode", "50"])
    assert r["single_z_decode_to_uint8"]["n"] == 4 and r["grid_5x5_decode_and_tile"]["median_ms"] > 0


def test_drawings_smoke():
    from bench import drawings

    if not MNIST_10K.exists() or not Path("/usr/share/datasets/fashion-mnist").exists():
        pytest.skip("needs the MNIST subset and Fashion-MNIST files")
    r = drawings.main(["--n", "4"])
    assert set(r["mnist_traced"]) == {"before", "now"} and r["fashion_traced"]["now"]["pixel_abs_error_mean"] >= 0


@pytest.mark.slow
def test_floor_smoke():
    from bench import floor

    r = floor.main(["--device", "cpu", "--size", "128", "--n-train", "100"])
    assert 0.0006 < r["epoch_tflop"] < 0.0007  # 100 images x 6.4 MFLOP for 784-512-256-2
    assert r["epoch_floor_ms"]["float32"] > 0
    assert r["epoch_products_alone_ms"]["bfloat16"] > 0 and r["steps_per_epoch"] == 1


def test_scaling_smoke(fake_fashion):
    from bench import scaling

    r = scaling.main(
        [
            "--data-dir",
            str(fake_fashion),
            "--device",
            "cpu",
            "--sizes",
            "300",
            "1200",
            "--batches",
            "64",
            "128",
            "--batch-n",
            "300",
            "--epochs",
            "2",
        ]
    )
    assert [row["n"] for row in r["by_size"]] == [300, 1200] and [row["batch"] for row in r["by_batch"]] == [64, 128]


@pytest.mark.browser
@pytest.mark.skipif(chromium_missing_reason() is not None, reason=str(chromium_missing_reason()))
def test_app_latency_smoke():
    from bench import app_latency

    r = app_latency.main(["--starts", "1", "--moves", "20"])
    plane = r["latent_plane"]
    assert plane["decode_and_draw"]["n"] >= 20 and plane["event_to_next_frame"]["n"] >= 1
    assert plane["points_drawn"] == 2000
    sent = plane["payload_bytes"]["fashion-mnist"]
    assert sent["params"] > 100_000 and sent["sent_weight_bytes"] < sent["float32_weight_bytes"]


@pytest.mark.slow
def test_load_test_short_form_has_no_errors():
    from bench import load_test

    r = load_test.main(
        [
            "--sessions",
            "4",
            "--seconds",
            "8",
            "--think",
            "0.2",
            "--grid-max",
            "6",
            "--trainers",
            "2",
            "--train-epochs",
            "2",
        ]
    )
    assert r["errors"] == 0, r["error_messages"]
    t = r["training"]
    assert t["errors"] == [] and t["started"] == 2 and t["second_refused"] == 2  # one run per student
    assert r["sessions"] == 4 and r["actions"] == sum(r["actions_by_kind"].values()) >= 4 * 5
    assert r["action_under_load"]["n"] == r["actions"] and r["action_under_load"]["p95_ms"] > 0
    assert all(r["actions_by_kind"][k] > 0 for k in ("page_switch", "walk_commit", "point_click", "grid_change"))


@pytest.mark.slow
def test_class_board_bench_smoke():
    from bench import class_board

    r = class_board.main(["--students", "2", "--seconds", "3", "--submissions", "2", "--gap", "1"])
    assert r["errors"] == 0 and r["missed"] == 0 and r["idle"]["ticks"] >= 2
    assert r["submission_to_projector"]["n"] == 2 and r["idle"]["cores"] > 0


@pytest.mark.slow
def test_server_time_smoke():
    from bench import load_test

    r = load_test.main(["--server-time", "2", "--grid-max", "6"])
    assert r["errors"] == 0, r["error_messages"]
    assert r["walk_commit"]["n"] == r["walk_page_run"]["n"] == 2


@pytest.mark.slow
@pytest.mark.skipif(not in_git_checkout(), reason="needs git and a git checkout (it compares against a git revision)")
def test_ab_trainer_smoke():
    from bench import ab_trainer

    def worktrees():
        return subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True).stdout

    before = worktrees()
    r = ab_trainer.main(["--base", "HEAD", "--dataset", "digits", "--epochs", "2", "--rounds", "1"])
    assert r["base"]["precision"] == r["this"]["precision"]
    assert r["ratio_base_over_this"] > 0
    assert worktrees() == before  # the temporary worktree is gone


@pytest.mark.slow
def test_train_speed_whole_process_smoke(fake_fashion):
    from bench import train_speed

    r = train_speed.main(
        [
            "--whole-process",
            "--data-dir",
            str(fake_fashion),
            "--device",
            "cpu",
            "--train-args",
            "--epochs 1 --hidden 32 --eval-k 2 --device cpu",
            "--ref-epochs",
            "1",
            "--target-override",
            "100000",
        ]
    )
    ours, ref = r["vae_core_cli"], r["reference_process"]
    assert ours["epochs"] == 1 and ours["wall_seconds"] > ours["train_seconds"] > 0
    assert any("IW score" in line for line in ours["printed"])  # the CLI's own output, named honestly
    assert ref["reached"]["epoch"] == 1 and ref["epochs_run"] == 1
    assert r["ratio_reference_over_ours"] > 0


def test_eval_speed_smoke():
    from bench import eval_speed

    ckpt = str(ROOT / "checkpoints" / "digits.safetensors")
    r = eval_speed.main(["--checkpoint", ckpt, "--on-sample", "--k", "3", "--n", "20"])
    assert r["n_images"] == 20 and r["k"] == 3 and set(r["median_seconds"]) == {"float32", "bf16"}
    assert abs(r["iw_difference_bf16_minus_float32"]) < 1.0


def test_gallery_quota_smoke(models_dir):
    import os

    from bench import gallery_quota
    from explorer import models

    r = gallery_quota.main(["--runs", "3", "--quota-mb", "0.1", "--hidden", "16"])  # room for 2 of ~38 KB
    assert r["pinned_kept"] and r["shipped_untouched"] and r["newest_kept"]
    assert r["kept_models"] == ["run-000", "run-002"]  # the pinned one and the one just saved (run-001 evicted)
    assert models.MODELS_DIR == models_dir and "VAE_EXPLORER_GRACE_HOURS" not in os.environ  # left as it was


def test_batched_train_smoke():
    from bench import batched_train

    r = batched_train.main(
        ["--models", "2", "--epochs", "1", "--n-train", "64", "--scaling", "1", "--gradient-steps", "2"]
    )
    assert r["batched"]["statuses"] == ["done", "done"] and len(r["alone_two_at_a_time"]["test_elbo"]) == 2
    assert r["max_abs_elbo_difference"] < 1.0 and r["scaling"][1]["seconds"] > 0
    assert r["gradient"]["vmap"]["median_ms"] > 0
