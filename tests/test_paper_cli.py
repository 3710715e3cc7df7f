"""`python -m vae_core paper fig2|fig5` at a tiny size: the files it writes, resuming from its work folder."""

from __future__ import annotations

import csv
import json

from PIL import Image

from vae_core.__main__ import main

TINY = [
    "--datasets",
    "digits",
    "--hidden",
    "16",
    "--select-samples",
    "200",
    "--eval-n",
    "100",
    "--step-sizes",
    "0.02,0.1",
]


def test_fig2_writes_png_csv_and_json_and_resumes(tmp_path, capsys):
    out, work = tmp_path / "out", tmp_path / "work"
    args = ["paper", "fig2", *TINY, "--latent", "2,3", "--samples", "1000", "--out", str(out), "--work", str(work)]
    assert main(args) == 0
    rows = list(csv.DictReader((out / "fig2.csv").open()))
    assert {(r["latent_dim"], r["algorithm"]) for r in rows} == {
        (n, a) for n in ("2", "3") for a in ("aevb", "wake-sleep")
    }
    assert max(int(r["samples"]) for r in rows) == 1000
    doc = json.loads((out / "fig2.json").read_text())
    assert doc["command"].startswith("python -m vae_core paper fig2") and doc["budget_samples"] == {"digits": 1000}
    assert doc["machine"] and doc["versions"]["torch"] and len(doc["curves"]) == 4
    with Image.open(out / "fig2.png") as img:
        assert img.width > 2 * 250 and img.height > 200  # two panels side by side
    assert len(list(work.glob("*.pt"))) == 4  # one resumable state per curve
    capsys.readouterr()
    assert main(args) == 0  # a second run resumes every curve: nothing left to train
    assert json.loads((out / "fig2.json").read_text())["curves"] == doc["curves"]


def test_fig5_draws_prior_samples_of_each_latent_size(tmp_path):
    out = tmp_path / "out"
    args = ["paper", "fig5", *TINY, "--latent", "2,5", "--samples", "500", "--images", "20", "--out", str(out)]
    assert main([*args, "--work", str(tmp_path / "work")]) == 0
    doc = json.loads((out / "fig5.json").read_text())
    assert [c["latent_dim"] for c in doc["curves"]] == [2, 5] and {c["algorithm"] for c in doc["curves"]} == {"aevb"}
    with Image.open(out / "fig5.png") as img:
        assert img.width > img.height > 50


def test_per_dataset_options_must_name_a_chosen_dataset(tmp_path, capsys):
    assert main(["paper", "fig2", *TINY, "--samples", "mnist=1000", "--out", str(tmp_path)]) == 2
    assert "not among --datasets" in capsys.readouterr().err
