"""What tests share besides fixtures: paths, small helpers, hostile files. Tests import from here
(`from helpers import ROOT`), never from conftest or from another test file; conftest holds only
fixtures, and tests/browser.py the helpers for a Streamlit server and Chromium."""

from __future__ import annotations

import json
import os
import pickle
import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "checkpoints"
MNIST_10K = ROOT.parent / "shared" / "data" / "mnist-10k"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def picker(at):
    """The sidebar's model picker in an AppTest run (its key names the model active when it was drawn)."""
    from explorer.sidebar import picker_key

    return at.selectbox(key=picker_key(at.session_state["active_model"].id))


def wait_for(predicate, timeout: float = 10.0) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` seconds pass (False): a bound against a hang,
    never a speed goal."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class RunsCode:
    """Unpickling this creates a marker file: proof that code from the file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def evil_files(tmp_path):
    """A torch-style pickle and a raw pickle, each of which would create the marker if loaded."""
    import torch

    marker = tmp_path / "PWNED"
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps({"state": RunsCode(marker)}))
    pt = tmp_path / "evil.safetensors"
    torch.save({"config": {}, "payload": RunsCode(marker)}, pt)  # torch's zip+pickle format
    return marker, [raw, pt]


def checkpoint_with_meta(model, **changes) -> bytes:
    """A checkpoint's bytes with header fields replaced by `changes` (to build damaged or foreign files)."""
    from safetensors.torch import save as st_save

    from vae_core.checkpoint import FORMAT

    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "config": model.config.to_dict(), **changes}
    return st_save(tensors, metadata={"vae_core": json.dumps(meta)})


# ---- what a page shows in Korean mode ----

# Names and notation that stay as they are in Korean: datasets, likelihoods, model names, units,
# the estimators' names, file types. Kept short: a word not here must be translated.
NAMES = {
    "digits", "mnist", "fashion", "kmnist", "beta4", "relu", "tanh",
    "nats", "elbo", "kl", "iw", "log", "vae", "vae_core", "png", "mib", "mb", "safetensors",
    "cpu", "cuda", "gpu", "auto", "icdf", "fig", "english", "min", "max", "sec",
    "kuzushiji", "sklearn",  # the dataset Kuzushiji-MNIST and the library of "sklearn digits"
    "frey", "face",  # the dataset Frey Face (the paper's second)
}  # fmt: skip
MATH = re.compile(r"\$[^$]*\$")
SHIPPED_NAMES = sorted((p.stem for p in (ROOT / "checkpoints").glob("*.safetensors")), key=len, reverse=True)


def untranslated(text: str) -> bool:
    """True when `text` has no Hangul and has a word that is not maths, a number or a name."""
    if HANGUL.search(text):
        return False
    text = re.sub(r"\S*/\S*", " ", MATH.sub(" ", text))  # maths, paths and addresses
    for name in SHIPPED_NAMES:
        text = text.replace(name, " ")
    words = re.findall(r"[A-Za-z][A-Za-z_]+", text)
    return any(w.lower() not in NAMES for w in words)


def shown_texts(node):
    """(where, text) for every shown text under a node of AppTest's element tree."""
    proto = getattr(node, "proto", None)
    kind = getattr(node, "type", type(node).__name__)
    if kind in ("code", "html", "latex", "plotly_chart", "exception") or getattr(node, "key", None) == "lang_switch":
        return  # code, CSS, maths, figures (their text is the figure owner's), the language names
    if kind in ("expander", "tab"):
        yield kind, node.label
    elif proto is not None:
        for field in ("label", "help", "body", "placeholder", "caption"):
            value = getattr(proto, field, None)
            if isinstance(value, str) and value.strip():
                yield kind, value
        for option in getattr(proto, "options", []) or []:
            if isinstance(option, str) and option.strip():
                yield f"{kind} option", option
        for img in getattr(proto, "imgs", []) or []:
            if img.caption:
                yield "image caption", img.caption
    for child in (getattr(node, "children", None) or {}).values():
        yield from shown_texts(child)
