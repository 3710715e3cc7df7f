"""Crafted checkpoints are refused from their header alone, before they cost memory or fail later.

The attacks: a small file whose header declares a huge network (8 × 4096 hidden units, or an input
shape of 4096 × 4096 × 4096), and metadata fields of the wrong type (`"dataset": "not-a-dict"`).
A hypothesis fuzz over every header field checks that any header gives a checkpoint or one
CheckpointError, never another exception, and that a refusal allocates little (tracemalloc for
Python's heap; the process's peak RSS, in a fresh interpreter, for torch's).
"""

import copy
import json
import resource
import struct
import subprocess
import sys
import tracemalloc

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vae_core.checkpoint import from_bytes, to_bytes
from vae_core.errors import CheckpointError
from vae_core.model import VAE, VAEConfig, param_shapes, weight_bytes
from vae_core.scores import score_name

SMALL = VAEConfig(input_shape=(1, 4, 4), hidden=(8,))


def good_bytes() -> bytes:
    """A real checkpoint (2 KB) with every metadata field the app writes, and a test sample."""
    meta = {
        "dataset": {
            "name": "digits",
            "pixels": "continuous",
            "n_train": 10,
            "n_test": 3,
            "class_names": ["0", "1"],
            "source": "sklearn",
            "levels": 16,
        },
        "train": {"epochs": 1, "beta": 1.0, "batch_size": 4},
        "history": [{"epoch": 1, "train": {"recon": -1.0, "kl": 0.5, "elbo": -1.5}, "test": None, "beta": 1.0}],
        "metrics": {"test_elbo": -1.5, "kl_per_dim": [0.1, 0.2], "active_units": 2, "normalised": True},
        "stopped_early": False,
        "command": None,
        "kind": "vae",
        "beta": 1.0,
    }
    images = torch.randint(0, 17, (3, 1, 4, 4), dtype=torch.uint8)
    return to_bytes(VAE(SMALL), meta, images, torch.arange(3))


def split(data: bytes) -> tuple[dict, dict, bytes]:
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = json.loads(header.pop("__metadata__")["vae_core"])
    return header, meta, data[8 + n :]


def join(header, meta, body: bytes, raw_meta=None) -> bytes:
    if isinstance(header, dict):
        header = {**header, "__metadata__": {"vae_core": raw_meta if raw_meta is not None else json.dumps(meta)}}
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def with_meta(**changes) -> bytes:
    header, meta, body = split(good_bytes())
    return join(header, {**meta, **changes}, body)


def test_param_shapes_match_the_built_network():
    for cfg in [
        SMALL,
        VAEConfig(input_shape=(1, 8, 8), hidden=(16, 8, 4), latent_dim=3),
        VAEConfig(input_shape=(3, 4, 4), hidden=(5,), likelihood="gaussian", gaussian_variance="learned"),
    ]:
        built = {k: tuple(v.shape) for k, v in VAE(cfg).state_dict().items()}
        assert param_shapes(cfg) == built
        assert weight_bytes(cfg) == 4 * sum(v.numel() for v in VAE(cfg).state_dict().values())


def test_the_good_file_loads():
    ckpt = from_bytes(good_bytes())
    assert ckpt.config == SMALL and ckpt.levels == 16 and ckpt.sample_x().shape == (3, 16)


@pytest.mark.parametrize(
    "config",
    [
        {"hidden": [4096] * 8},  # the 53 KB file: ~870 MB allocated before the refusal
        {"input_shape": [4096, 4096, 4096]},  # a traceback naming server files
        {"input_shape": [4096, 4096, 4096], "hidden": [4096] * 8, "latent_dim": 512},
    ],
)
def test_a_huge_declared_network_is_refused_before_allocation(config):
    header, meta, body = split(good_bytes())
    data = join(header, {**meta, "config": {**meta["config"], **config}}, body)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="MiB of weights"):
            from_bytes(data, "crafted.safetensors")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, peak


WRONG_TYPES = {
    "dataset": "not-a-dict",
    "dataset.name": 3,
    "dataset.pixels": "colour",
    "dataset.n_train": "ten",
    "dataset.n_test": -1,
    "dataset.class_names": "0123",
    "dataset.class_names.0": 7,
    "dataset.source": ["x"],
    "dataset.levels": "16",
    "dataset.note": {},
    "train": [],
    "train.epochs": 1.5,
    "train.beta": "one",
    "train.batch_size": True,
    "history": {"epoch": 1},
    "history.0": "epoch 1",
    "history.0.epoch": "1",
    "history.0.train": [1, 2],
    "history.0.train.elbo": "high",
    "history.0.test": 3,
    "history.0.beta": [],
    "metrics": 1.0,
    "metrics.test_elbo": "good",
    "metrics.kl_per_dim": {"a": 1},
    "metrics.kl_per_dim.0": None,
    "metrics.active_units": 2.5,
    "metrics.normalised": "yes",
    "metrics.score_name": {"a": "b"},
    "stopped_early": "no",
    "command": 12,
    "kind": "gan",
    "beta": None,
    "created": 20261208,
    "versions": "torch 2",
    "versions.torch": 2.4,
    "config": "small",
    "config.hidden": "eight",
    "config.latent_dim": "2",
    "config.likelihood": 1,
}


def _set(tree, path: str, value) -> None:
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    for p in parents:
        tree = tree[p]
    tree[int(last) if isinstance(last, int) else last] = value


@pytest.mark.parametrize("path", sorted(WRONG_TYPES))
def test_every_metadata_field_of_the_wrong_type_is_refused(path):
    header, meta, body = split(good_bytes())
    meta = copy.deepcopy(meta)
    _set(meta, path, WRONG_TYPES[path])
    with pytest.raises(CheckpointError) as err:
        from_bytes(join(header, meta, body), "crafted.safetensors")
    assert str(err.value).startswith("crafted.safetensors: ")


def test_kl_per_dim_must_have_one_entry_per_latent_dimension():
    header, meta, body = split(good_bytes())
    meta["metrics"]["kl_per_dim"] = [0.1] * 3  # the config's latent_dim is 2
    with pytest.raises(CheckpointError, match="kl_per_dim"):
        from_bytes(join(header, meta, body))


@pytest.mark.parametrize(
    "raw",
    [
        {"__metadata__": "x"},
        {"__metadata__": {"vae_core": 5}},
        {"__metadata__": {"vae_core": "[" * 100_000}},
        {"__metadata__": {"vae_core": '{"format": ' + "9" * 5000 + "}"}},
        [1, 2],
        {"dec_out.bias": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 2**42]}},
    ],
)
def test_damaged_header_structures_are_refused(raw):
    text = json.dumps(raw).encode()
    with pytest.raises(CheckpointError):
        from_bytes(struct.pack("<Q", len(text)) + text)


def test_tensor_table_must_match_the_config_and_the_data():
    header, meta, body = split(good_bytes())
    bad = copy.deepcopy(header)
    bad["dec_out.bias"]["shape"] = [8]  # the offsets no longer agree with the shape
    with pytest.raises(CheckpointError, match="damaged"):
        from_bytes(join(bad, meta, body))
    with pytest.raises(CheckpointError, match="truncated"):
        from_bytes(join(header, meta, body[:-4]))
    bad = copy.deepcopy(header)
    bad["sample.images"]["dtype"] = "I8"
    with pytest.raises(CheckpointError, match="sample"):
        from_bytes(join(bad, meta, body))


# ---- the fuzz ----

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, 1, -1, 16, 255, 256, 4096, 2**31, 2**63, 2**200])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def _replace(tree, path, value):
    for p in path[:-1]:
        tree = tree[p]
    tree[path[-1]] = value


BASE = split(good_bytes())


def crafted(data) -> bytes:
    """A valid checkpoint with 1-3 header fields (metadata, config or tensor table) replaced."""
    header, meta, body = copy.deepcopy(BASE)
    tree = {"header": header, "meta": meta}
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        path = data.draw(st.sampled_from(list(_paths(tree))[1:]), label="path")
        _replace(tree, path, data.draw(JSON, label="value"))
    raw = data.draw(st.none() | st.just("not json {"), label="raw meta")
    return join(tree["header"], tree["meta"], body, raw_meta=raw)


def load_or_refuse(blob: bytes) -> None:
    """One header: a usable checkpoint or a CheckpointError, nothing else, at a small heap cost."""
    tracemalloc.start()
    try:
        try:
            ckpt = from_bytes(blob, "fuzz.safetensors")
        except CheckpointError:
            return
        finally:
            _, peak = tracemalloc.get_traced_memory()
            assert peak < 2_000_000, f"{peak} bytes on the heap for a {len(blob)}-byte file"
        # what pages read from an accepted file works
        assert isinstance(ckpt.class_names, list) and 1 <= ckpt.levels <= 255
        score_name(ckpt.meta)
        if ckpt.sample_levels is not None:
            assert ckpt.sample_x().shape[1] == ckpt.config.input_dim
    finally:
        tracemalloc.stop()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_any_header_is_loaded_or_refused_plainly(data):
    load_or_refuse(crafted(data))


def peak_rss_of_fuzz(examples: int) -> int:
    """Run the fuzz in this process; returns how far the process's peak RSS rose, in bytes."""
    from_bytes(good_bytes())  # warm: torch's first-use costs are not the file's
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def fuzz(data):
        load_or_refuse(crafted(data))

    fuzz()
    for config in ({"hidden": [4096] * 8}, {"input_shape": [4096, 4096, 4096]}):
        header, meta, body = copy.deepcopy(BASE)
        load_or_refuse(join(header, {**meta, "config": {**meta["config"], **config}}, body))
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024  # Linux: kilobytes


@pytest.mark.slow  # a fresh interpreter and 60 examples: ~15 s
def test_fuzz_peak_memory_stays_small_in_a_fresh_process():
    # torch allocates outside Python's heap, so tracemalloc cannot see a network built from a
    # crafted config: the peak RSS of a fresh interpreter can (870 MB for the file).
    code = "from tests.test_checkpoint_header import peak_rss_of_fuzz as f; print(f(60))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    grew = int(out.stdout.split()[-1])
    assert grew < 64 * 2**20, f"peak RSS grew by {grew / 2**20:.0f} MiB"
