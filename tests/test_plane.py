"""The latent plane without a browser: what it sends (the model blob, float16 within tolerance,
the payload budget), what it accepts (commits validated with clean_z), and every page under
AppTest both with the component mounted (its JavaScript never runs there) and with it absent
(plain widgets)."""

import json

import numpy as np
import pytest
import torch
from helpers import ROOT
from streamlit.testing.v1 import AppTest

from explorer.latent_plane import (
    PLAIN_WIDGETS_ENV,
    decode_like_the_browser,
    encode_blob,
    float16_decoder,
    parse_commit,
    weight_bytes,
)
from vae_core.checkpoint import load_checkpoint
from vae_core.errors import VAECoreError
from vae_core.evaluate import encode
from vae_core.manifold import decoder_layers

PAGES = ["app.py", "pages/train.py", "pages/manifold.py", "pages/walk.py", "pages/encode.py", "pages/metrics.py"]
MODELS_28 = ["fashion-mnist", "mnist-10k"]


def shipped(name):
    return load_checkpoint(ROOT / "checkpoints" / f"{name}.safetensors")


def parse_blob(blob: bytes) -> tuple[dict, dict]:
    """The blob as the JS reads it: header, then arrays at header-relative offsets."""
    hlen = int.from_bytes(blob[:4], "little")
    head = json.loads(blob[4 : 4 + hlen])
    dtypes = {"f4": "<f4", "f2": "<f2", "u1": "u1"}
    arrays = {}
    for a in head["arrays"]:
        start = 4 + hlen + a["offset"]
        assert start % 4 == 0  # typed arrays need aligned offsets
        arrays[a["name"]] = np.frombuffer(blob, dtypes[a["dtype"]], a["size"], start)
    return head, arrays


@pytest.mark.parametrize("name", MODELS_28 + ["digits"])
def test_float16_decoder_agrees_with_pytorch(name):
    ckpt = shipped(name)
    layers = float16_decoder(ckpt)
    assert all(w.dtype == np.float16 for w, _ in layers[1:]) and layers[0][0].dtype == np.float32
    rng = np.random.default_rng(1)
    z = np.concatenate([rng.normal(0, 1, (500, 2)), rng.uniform(-4, 4, (500, 2))]).astype(np.float32)
    with torch.no_grad():
        ref = ckpt.model.decode(torch.from_numpy(z)).flatten(1).numpy()
    err = np.abs(decode_like_the_browser(layers, ckpt.config.activation, z) - ref).max()
    assert err <= 2e-3
    # the error-aware rounding does better than rounding each weight to the nearest float16
    plain = [(w if i == 0 else w.astype(np.float16), b) for i, (w, b) in enumerate(decoder_layers(ckpt.model))]
    assert err < np.abs(decode_like_the_browser(plain, ckpt.config.activation, z) - ref).max()


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS_28)
def test_a_28x28_model_sends_at_most_1_2_mb_of_weights(name):
    ckpt = shipped(name)
    assert weight_bytes(ckpt) <= 1_200_000
    mu, logvar = (t.numpy() for t in encode(ckpt.model, ckpt.sample_x()))
    blob = encode_blob(f"{name}@0", ckpt, mu, logvar, ckpt.sample_labels.numpy())
    assert len(blob) <= 1_200_000 + 2000 * 9 + 2000  # the points travel with it: 2 B per value
    head, arrays = parse_blob(blob)
    assert head["model_key"] == f"{name}@0" and head["latent_dim"] == 2 and head["shape"] == [1, 28, 28]
    assert len(head["layers"]) == len(float16_decoder(ckpt))
    assert np.allclose(arrays["mu"].reshape(-1, 2), mu, atol=2e-3)
    assert np.array_equal(arrays["labels"], ckpt.sample_labels.numpy())
    w1 = arrays["w1"].reshape(head["layers"][1]["rows"], head["layers"][1]["cols"])
    assert np.array_equal(w1, float16_decoder(ckpt)[1][0])


def test_commits_are_validated():
    z, pick, have = parse_commit({"z": [0.5, -20.0], "pick": 3, "have": ["m@1", 7]}, 2, 10)
    assert z == [0.5, -10.0] and pick == 3 and have == ["m@1"]  # clamped to the sane range
    assert parse_commit({"z": [0, 0], "pick": 10}, 2, 10)[1] is None  # no such point
    assert parse_commit({"z": [0, 0], "pick": True}, 2, 10)[1] is None
    for bad in ({"z": [float("nan"), 0]}, {"z": [1, 2, 3]}, {"z": "0,0"}, {"pick": 1}, None, [0, 0]):
        with pytest.raises(VAECoreError):
            parse_commit(bad, 2, 10)


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("VAE_EXPLORER_MODELS", str(tmp_path / "models"))
    import explorer.models as models

    monkeypatch.setattr(models, "RUNS_DIR", tmp_path / "runs", raising=False)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def _plane_elements(at: AppTest) -> list:
    return [e for e in at.get("bidi_component") if "latent_plane" in e.proto.component_name]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_the_component_absent(app, monkeypatch, page):
    monkeypatch.setenv(PLAIN_WIDGETS_ENV, "1")
    at = app.run().switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title
    assert not _plane_elements(at)


def test_walk_with_plain_widgets_moves_z_and_selects_points(app, monkeypatch):
    monkeypatch.setenv(PLAIN_WIDGETS_ENV, "1")
    at = app.run().switch_page("pages/walk.py").run()
    before = at.image[0].proto.imgs[0].url
    at.slider(key="walk_z0").set_value(1.5).run()
    at.slider(key="walk_z1").set_value(-0.75).run()
    assert not at.exception
    assert at.session_state["walk_z"] == [1.5, -0.75]
    assert at.image[0].proto.imgs[0].url != before
    assert any(c.value.startswith("decoded z = (1.50, -0.75)") for c in at.caption) or at.image


def test_walk_mounts_the_plane_with_python_s_z(app):
    at = app.run().switch_page("pages/walk.py").run()
    assert not at.exception
    planes = _plane_elements(at)
    assert {e.proto.component_name for e in planes} == {"vae_latent_plane", "vae_latent_plane_model"}
    data = json.loads(next(e for e in planes if e.proto.component_name == "vae_latent_plane").proto.json)
    assert data["z0"] == [0.0, 0.0] and data["model_key"] == at.session_state["walk_model"]
    assert not [c.value for c in at.caption if "z = (" in c.value]  # one z on screen: the plane's own
    at.button(key="walk_origin").click().run()
    data2 = json.loads(next(e for e in _plane_elements(at) if e.proto.component_name == "vae_latent_plane").proto.json)
    assert data2["z0_rev"] == data["z0_rev"] + 1  # Python moved z: the plane is told to follow


def test_encode_binarises_for_a_model_trained_on_binary_pixels(app, tmp_path):
    from io import BytesIO

    from PIL import Image, ImageDraw

    from vae_core.checkpoint import save_checkpoint
    from vae_core.data import binarize
    from vae_core.images import image_bytes_to_input

    ckpt = shipped("digits")
    meta = {**ckpt.meta, "dataset": {**ckpt.meta["dataset"], "pixels": "static"}}
    path = tmp_path / "binary.safetensors"
    save_checkpoint(path, ckpt.model, meta)
    img = Image.new("L", (64, 64), 255)
    ImageDraw.Draw(img).ellipse([16, 8, 48, 56], outline=90, width=6)  # grey ink: not 0/1 after scaling
    png = BytesIO()
    img.save(png, format="PNG")
    at = app.run()
    at.file_uploader(key="ckpt_upload").set_value((path.name, path.read_bytes(), "application/octet-stream"))
    at = at.run().switch_page("pages/encode.py").run()
    at = at.radio(key="enc_mode").set_value("upload").run()
    at.file_uploader(key="enc_upload").set_value(("o.png", png.getvalue(), "image/png"))
    at = at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("thresholded at 0.5" in c.value for c in at.caption)
    x = image_bytes_to_input(png.getvalue(), ckpt.config.input_shape, "auto", "digits")
    assert not torch.equal(x, binarize(x, "static"))  # the image has grey pixels
    with torch.no_grad():
        expected = ckpt.model.encode(binarize(x, "static"))[0][0]
    assert np.allclose(at.session_state["encoded_mu"], expected.numpy(), atol=1e-5)


@pytest.mark.slow
def test_the_weights_cross_the_wire_once_per_model_and_session(tmp_path):
    """Through Streamlit's own protocol, as a browser tab: the first Walk run carries the model
    blob; later page runs and commits carry the plane's small data, never the weights again."""
    import asyncio

    from browser import streamlit_server

    from bench.ws_client import StreamlitClient

    async def visit(url) -> list[int]:
        sizes = []
        async with StreamlitClient(url) as c:
            first = await c.run("walk", timeout=120)
            assert "walk_plane.model" in first.components
            sizes.append(c.bytes_received)
            for page in ("manifold", "walk"):  # away and back, without touching the plane
                r = await c.run(page)
                assert not r.exceptions
            assert "walk_plane.model" not in r.components and "walk_plane" in r.components
            sizes.append(c.bytes_received)
            widget_id, fragment = r.keyed["walk_plane"]
            model_key = r.components["walk_plane"]["model_key"]
            commit = {"z": [0.5, -0.25], "pick": None, "have": [model_key], "seq": 1}
            c.set_json(widget_id, {"commit": commit})
            r = await c.run("walk", fragment_id=fragment)
            assert not r.exceptions and "walk_plane" in r.components
            sizes.append(c.bytes_received)
            r = await c.run("encode")  # another plane, the same model: not sent again either
            assert not r.exceptions and not any(k.endswith(".model") for k in r.components)
        return sizes

    env = {"VAE_EXPLORER_RUNS": str(tmp_path), "VAE_EXPLORER_MODELS": str(tmp_path)}
    with streamlit_server(env=env) as (url, _proc, _):
        first, after_pages, after_commit = asyncio.run(visit(url))
    assert first > 1_000_000  # the fashion-mnist blob
    assert after_pages - first < 400_000  # two page runs (the Manifold figure included), no weights
    assert after_commit - after_pages < 5_000  # a commit: a reference to the unchanged plane
