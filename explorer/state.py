"""Session state and caches shared by all pages: the active model and what is derived from it.

Models are cached with st.cache_resource keyed by file and modification time and are never
mutated by a session (no .to(), no training: trained models are new objects). What is derived
from a model (latent codes, grids) is cached by `shared.of_model`, keyed by the model's key.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from vae_core.checkpoint import MAX_CHECKPOINT_BYTES, Checkpoint, from_bytes, load_checkpoint
from vae_core.errors import VAECoreError
from vae_core.evaluate import encode
from vae_core.manifold import decode_images, manifold_image
from vae_core.scores import DENSITY, SCORE, omitted_normaliser, score_name

from . import models, session
from .i18n import class_names, tr
from .models import DEFAULT_MODEL, ModelRef, shipped_models
from .shared import of_model

MAX_UPLOADS = 4


@dataclass(frozen=True)
class Active:
    ref: ModelRef
    ckpt: Checkpoint
    key: str  # identifies the model's contents, for cache keys


@st.cache_resource(max_entries=32, show_spinner=False)
def _load_file(path: str, mtime_ns: int) -> Checkpoint:
    return load_checkpoint(path)


def file_key(path: str) -> tuple[str, int]:
    return path, os.stat(path).st_mtime_ns


def available_models() -> list[ModelRef]:
    uploads = [ModelRef("upload", name, None) for name in session.UPLOADS.get()]
    return shipped_models() + models.class_models() + uploads


def resolve(ref: ModelRef) -> Active:
    """Load a model by reference (cached). Raises VAECoreError for a bad or vanished file."""
    if ref.kind == "upload":
        digest, ckpt = session.UPLOADS.get()[ref.name]
        return Active(ref, ckpt, f"upload:{digest}")
    try:
        path, mtime = file_key(ref.path)
    except OSError:
        raise VAECoreError(f"model file {ref.path} is no longer there (deleted from the gallery?)") from None
    return Active(ref, _load_file(path, mtime), f"{path}@{mtime}")


def active() -> Active:
    """The session's active model; the pinned one (else the default shipped one) when none was chosen yet."""
    ref = session.ACTIVE_MODEL.get()
    if ref is not None:
        try:
            return resolve(ref)
        except (VAECoreError, KeyError):
            session.ACTIVE_MODEL.clear()
    available = [m for m in available_models() if m.kind != "upload"]
    if not available:
        st.error(
            tr(
                "No model found: the checkpoints/ folder is empty. Train one on the Train page.",
                "모델이 없습니다. checkpoints/ 폴더가 비어 있습니다. 학습 페이지에서 모델을 학습하세요.",
            )
        )
        st.stop()
    pin = models.pinned()
    ref = next((m for m in available if m.name == pin), None) or next(
        (m for m in available if m.name == DEFAULT_MODEL), available[0]
    )
    session.ACTIVE_MODEL.set(ref)
    return resolve(ref)


def active_id() -> str | None:
    """The id of the model this session has chosen, without loading it (None before the first page)."""
    ref = session.ACTIVE_MODEL.get()
    return None if ref is None else ref.id


def set_active(ref: ModelRef) -> None:
    session.ACTIVE_MODEL.set(ref)


def forget_active() -> None:
    """Forget the session's choice (its model was deleted): the next page starts with the default."""
    session.ACTIVE_MODEL.clear()


def add_upload(name: str, data: bytes) -> ModelRef:
    """Validate an uploaded checkpoint fully before it can become active. Raises VAECoreError."""
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise VAECoreError(f"{name}: {len(data) / 2**20:.1f} MiB is over the {MAX_CHECKPOINT_BYTES // 2**20} MiB limit")
    ckpt = from_bytes(data, name)
    digest = hashlib.sha256(data).hexdigest()[:16]
    uploads = session.UPLOADS.setdefault()
    stem = name.rsplit(".", 1)[0][:40] or "upload"
    uploads.pop(stem, None)
    while len(uploads) >= MAX_UPLOADS:  # keep memory bounded per session
        uploads.pop(next(iter(uploads)))
    uploads[stem] = (digest, ckpt)
    return ModelRef("upload", stem, None)


# ---- cached computations on the active model (keyed by Active.key) ----


def _sample_latents(ckpt: Checkpoint) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = ckpt.sample_x()
    if x is None:
        d = ckpt.config.latent_dim
        return np.zeros((0, d), np.float32), np.zeros((0, d), np.float32), np.zeros(0, np.int64)
    mu, logvar = encode(ckpt.model, x)
    return mu.numpy(), logvar.numpy(), ckpt.sample_labels.numpy()


def sample_latents(key: str, ckpt: Checkpoint) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mu, logvar of the checkpoint's stored test sample, and its labels (numpy; shared, read-only)."""
    return of_model(key, ckpt, _sample_latents)


def _manifold(ckpt: Checkpoint, n: int, spacing: str, lo: tuple, hi: tuple, rest: tuple):
    return manifold_image(ckpt.model, n, spacing, lo, hi, rest or None)


def cached_manifold(key: str, ckpt: Checkpoint, n: int, spacing: str, lo: tuple, hi: tuple, rest: tuple):
    """(mosaic, z1, z2) of a grid, once per model and grid (vae_core.manifold.manifold_image)."""
    return of_model(key, ckpt, _manifold, n, spacing, tuple(lo), tuple(hi), tuple(rest))


def decode_one(ckpt: Checkpoint, z) -> np.ndarray:
    """One decoded image (H, W) uint8 for a latent vector (not cached: it is ~0.1 ms)."""
    img = decode_images(ckpt.model, torch.as_tensor(np.asarray(z, np.float32)).view(1, -1))[0]
    return img[0].numpy() if img.shape[0] == 1 else img.permute(1, 2, 0).numpy()


def class_name(ckpt: Checkpoint, label: int) -> str:
    names = class_names(ckpt.class_names)
    return names[label] if 0 <= label < len(names) else str(label)


@st.cache_data(max_entries=64, show_spinner=False)
def omitted_nats(key: str, _ckpt: Checkpoint) -> float | None:
    """The continuous Bernoulli normaliser this model's log-probabilities leave out, nats per image
    of its stored test sample (vae_core.scores.omitted_normaliser); None without a stored sample."""
    x = _ckpt.sample_x()
    return None if x is None or len(x) == 0 else omitted_normaliser(_ckpt.model, x)


def _omitted_text(act: Active) -> str:
    ckpt = act.ckpt
    nats = omitted_nats(act.key, ckpt)
    if nats is None:
        return tr("it is left out", "빠진 항이 있습니다")
    return tr(
        "measured on this model's test images: about +{n:,.0f} nats per image of {d} pixels",
        "이 모델의 테스트 이미지에서 측정하면 픽셀 {d}개짜리 이미지 한 장에 약 +{n:,.0f} nats",
        n=nats,
        d=ckpt.config.input_dim,
    )


def score_only(act: Active) -> bool:
    """Whether the model's ELBO and IW numbers are scores, not bounds on log p(x) (vae_core.scores)."""
    return score_name(act.ckpt.meta) == SCORE


def elbo_help(act: Active) -> str:
    """What a model's ELBO is, for a metric's help: a lower bound on log p(x) only where the decoder
    is a normalised distribution of the pixels it saw (the same caveat as its IW number)."""
    if score_only(act):
        return tr(
            "Negative, in nats per image. These pixels are continuous and a Bernoulli decoder is not a normalised "
            "density on them, so this ELBO is a score for comparing models of the same kind, not a bound on "
            "log p(x): the normaliser is missing ({omitted}).",
            "이미지 한 장당 nats이며 음수입니다. 픽셀이 연속값이라 베르누이 디코더는 정규화된 밀도가 아니므로, 이 ELBO는 "
            "log p(x)의 하한이 아니라 같은 종류의 모델끼리 비교하는 점수입니다. 정규화 항이 빠져 있습니다({omitted}).",
            omitted=_omitted_text(act),
        )
    return tr(
        "Evidence lower bound, negative, in nats per image: ELBO ≤ log p(x).",
        "증거 하한으로, 이미지 한 장당 nats이며 음수입니다. ELBO ≤ log p(x).",
    )


def iw_label(act: Active) -> tuple[str, str]:
    """What a model's importance-weighted number is (vae_core.scores), as a short label and its
    explanation, in the session's language: a log-likelihood only where the decoder is a normalised
    distribution over the pixels the model saw."""
    name = score_name(act.ckpt.meta)
    if name == SCORE:
        return tr("IW score", "IW 점수"), tr(
            "Importance-weighted estimate with k samples. These pixels are continuous and a Bernoulli decoder is "
            "not a normalised density on them, so this is a score for comparing models of the same kind, not a "
            "log-likelihood (the normaliser is missing: {omitted}).",
            "k개 샘플로 낸 중요도 가중 추정값입니다. 픽셀이 연속값이라 베르누이 디코더는 정규화된 밀도가 아니므로, "
            "이 값은 로그 우도가 아니라 같은 종류의 모델끼리 비교하는 점수입니다(정규화 항이 빠져 있습니다: {omitted}).",
            omitted=_omitted_text(act),
        )
    if name == DENSITY:
        return tr("IW log p(x) (density)", "IW log p(x) (밀도)"), tr(
            "Importance-weighted lower bound on the log-density of x under a Gaussian decoder (a density on all "
            "real values, not only [0, 1]); not comparable with log-probabilities of binary images.",
            "가우시안 디코더에서 x의 로그 밀도에 대한 중요도 가중 하한입니다(실수 전체에서의 밀도이며 [0, 1]에 "
            "한정되지 않습니다). 이진 이미지의 로그 확률과는 비교할 수 없습니다.",
        )
    return "IW log p(x)", tr(
        "Importance-weighted lower bound on log p(x) of the binarised image, in nats (Burda et al. 2015); "
        "tighter as k grows.",
        "이진화한 이미지의 log p(x)에 대한 중요도 가중 하한(nats, Burda 외 2015)입니다. k가 클수록 log p(x)에 더 가까워집니다.",
    )
