"""Which models the app can show, and the class's shared models folder (the gallery).

Every model trained in the app is saved in MODELS_DIR (env `VAE_EXPLORER_MODELS`, default
`<repo>/models`): visible to every session, every server process and every replica, and kept
across restarts. Each model is two files written atomically: `<name>.safetensors` (the
checkpoint, which describes itself) and `<name>.json` (who trained it, when, and a summary for
the gallery, so listing the class's models reads no checkpoint). The folder is bounded by a
quota that one save cannot empty (`admit`, limits in docs/safety.md): a new model takes room
only from models older than a grace period, at most a few per save, within its student's
share; otherwise the new save is refused and nothing else is deleted. Every eviction is written
to a log the teacher reads on the gallery page. Shipped checkpoints live in `checkpoints/` and
are never touched.

Streamlit-free, so the rules (names, folders, quota, pin) are tested without a browser.
"""

from __future__ import annotations

import fcntl
import hmac
import json
import logging
import os
import re
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vae_core.checkpoint import (
    MAX_CHECKPOINT_BYTES,
    atomic_write,
    checkpoint_bytes,
    largest_loadable_width,
    load_checkpoint,
    remove_stale_temps,
)
from vae_core.errors import ConfigError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = ROOT / "checkpoints"
MODELS_DIR = Path(os.environ.get("VAE_EXPLORER_MODELS", ROOT / "models"))
DEFAULT_QUOTA_MB = 500.0
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
# A trainer's display name: letters of any script (Hangul too), digits, spaces, . ' _ -
TRAINER_RE = re.compile(r"^[^\W_][\w .'-]{0,29}$")
DEFAULT_MODEL = "fashion-mnist"
PIN_FILE = ".pinned.json"  # {"name": ...}: the model new visitors start with
EVICTION_LOG = ".evictions.jsonl"  # one JSON line per model the quota removed (the teacher reads it)
LOCK_FILE = ".quota.lock"  # one admission at a time, across processes
DEFAULT_GRACE_HOURS = 24.0  # a model younger than this is never evicted
DEFAULT_EVICT_MAX = 3  # at most this many models removed to make room for one save
DEFAULT_SHARE = 0.25  # one student's models may use at most this share of the quota

Text = tuple[str, str]  # (English, Korean), shown by the app with i18n.tr_text


class QuotaFull(ConfigError):
    """A new model does not fit the gallery without breaking its rules; it was not kept."""

    def __init__(self, en: str, ko: str) -> None:
        super().__init__(en)
        self.text: Text = (en, ko)


@dataclass(frozen=True)
class ModelRef:
    kind: str  # "shipped", "class" (in MODELS_DIR, trained in the app) or "upload"
    name: str  # display name, also the file stem
    path: str | None  # file on disk; None for uploads, which live in session state

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class GalleryEntry:
    name: str
    who: str
    created: float  # seconds since the epoch
    dataset: str
    beta: float | None
    epochs: int
    test_elbo: float | None  # nats per image
    bytes: int  # checkpoint and its description on disk
    path: str
    owner: str | None = None  # hash of the saving browser's secret (explorer.owner), for the quota share

    @property
    def ref(self) -> ModelRef:
        return ModelRef("class", self.name, self.path)


def models_dir() -> Path:
    return MODELS_DIR


def quota_bytes() -> int:
    """The folder's bound, from `VAE_EXPLORER_QUOTA_MB` (megabytes, 10**6 bytes; default 500)."""
    raw = os.environ.get("VAE_EXPLORER_QUOTA_MB", "")
    try:
        mb = float(raw) if raw.strip() else DEFAULT_QUOTA_MB
    except ValueError:
        raise ConfigError(f"VAE_EXPLORER_QUOTA_MB={raw!r} is not a number of megabytes (for example 500)") from None
    if not mb > 0:
        raise ConfigError(f"VAE_EXPLORER_QUOTA_MB={raw!r} must be more than 0")
    return int(mb * 1e6)


def _env_number(name: str, default: float, minimum: float = 0.0) -> float:
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw.strip() else default
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not value >= minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum:g}")
    return value


def grace_seconds() -> float:
    """A model younger than this is never evicted: `VAE_EXPLORER_GRACE_HOURS` (default 24)."""
    return _env_number("VAE_EXPLORER_GRACE_HOURS", DEFAULT_GRACE_HOURS) * 3600


def evict_max() -> int:
    """Most models one save may evict: `VAE_EXPLORER_EVICT_MAX` (default 3)."""
    return int(_env_number("VAE_EXPLORER_EVICT_MAX", DEFAULT_EVICT_MAX))


def share_bytes() -> int:
    """What one student's models may use: `VAE_EXPLORER_QUOTA_SHARE` (a fraction of the quota, default 0.25)."""
    share = _env_number("VAE_EXPLORER_QUOTA_SHARE", DEFAULT_SHARE)
    if share > 1:
        raise ConfigError(f"VAE_EXPLORER_QUOTA_SHARE={share:g} must be a fraction of the quota, at most 1")
    return int(share * quota_bytes())


_shipped: dict[str, tuple[int, list[ModelRef]]] = {}  # folder -> (its mtime_ns, refs)


def shipped_models() -> list[ModelRef]:
    """The checkpoints in checkpoints/, the default first; listed again only when the folder changes."""
    try:
        mtime = SHIPPED_DIR.stat().st_mtime_ns
    except OSError:
        return []
    cached = _shipped.get(str(SHIPPED_DIR))
    if cached is None or cached[0] != mtime:
        refs = [ModelRef("shipped", f.stem, str(f)) for f in sorted(SHIPPED_DIR.glob("*.safetensors"))]
        refs.sort(key=lambda r: (r.name != DEFAULT_MODEL, r.name))
        cached = (mtime, refs)
        if time.time() - mtime / 1e9 > 1.0:  # a folder changed within the clock's resolution is listed again
            _shipped[str(SHIPPED_DIR)] = cached
    return list(cached[1])


def name_key(name: str) -> str:
    """What two names must not share: NFKC-normalised and case-folded (Ｍｉｎａ, MINA and mina are one)."""
    return unicodedata.normalize("NFKC", name).casefold()


def checked_name(name: str) -> str:
    """A model name typed by a user (NFKC-normalised): letters, digits, - and _, at most 40, and
    not a shipped model's name in any case."""
    name = unicodedata.normalize("NFKC", name).strip()
    if not NAME_RE.fullmatch(name):
        raise ConfigError(
            f"model name {name!r:.60} is not allowed: use 1-40 letters, digits, '-' or '_', starting with a "
            "letter or digit (no paths, dots or spaces)"
        )
    if name_key(name) in {name_key(r.name) for r in shipped_models()}:
        raise ConfigError(f"{name!r} is the name of a shipped model; choose another name")
    return name


def checked_trainer(who: str) -> str:
    """A trainer's display name: 1-30 letters (any script), digits, spaces, . ' _ -"""
    who = " ".join(unicodedata.normalize("NFKC", who).split())
    if not TRAINER_RE.fullmatch(who):
        raise ConfigError(
            f"display name {who!r:.40} is not allowed: use 1-30 letters or digits (spaces, '.', \"'\", '-' and "
            "'_' inside), for example Mina or 김민아"
        )
    return who


def model_path(name: str) -> Path:
    """Where a model trained in the app is saved: always directly inside MODELS_DIR."""
    folder = models_dir().resolve()
    path = (folder / f"{checked_name(name)}.safetensors").resolve()
    if path.parent != folder:  # belt and braces after the name check
        raise ConfigError(f"model name {name!r} would write outside the model folder")
    return path


def name_taken(name: str) -> bool:
    """Whether a gallery model has this name, ignoring case and Unicode width (see name_key)."""
    path = model_path(name)
    if path.exists() or path.with_suffix(".json").exists():
        return True
    key = name_key(path.stem)
    folder = models_dir()
    return folder.is_dir() and any(
        name_key(f.stem) == key for f in folder.iterdir() if f.suffix in (".safetensors", ".json")
    )


def _info_path(ckpt_path: Path) -> Path:
    return ckpt_path.with_suffix(".json")


def describe(path: str | Path, who: str, created: float | None = None, owner: str | None = None) -> dict:
    """Write `<name>.json` beside a saved checkpoint (atomically) and return it. `owner` is the hash
    of the saving browser's secret (explorer.owner): the quota share counts models by it."""
    path = Path(path)
    meta = load_checkpoint(path).meta
    train = meta.get("train", {})
    info = {
        "name": path.stem,
        "who": checked_trainer(who),
        "created": time.time() if created is None else created,
        "dataset": meta.get("dataset", {}).get("name", "?"),
        "beta": train.get("beta"),
        "epochs": len(meta.get("history", [])),
        "test_elbo": meta.get("metrics", {}).get("test_elbo"),
        "owner": owner,
    }
    atomic_write(_info_path(path), json.dumps(info, ensure_ascii=False).encode())
    return info


def _read_info(ckpt: Path) -> dict:
    try:
        info = json.loads(_info_path(ckpt).read_text(encoding="utf-8"))
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}  # a checkpoint without its description (copied in by hand): listed with what is known


def _size(*paths: Path) -> int:
    total = 0
    for p in paths:
        try:
            total += p.stat().st_size
        except OSError:
            pass
    return total


def gallery() -> list[GalleryEntry]:
    """The class's models, newest first."""
    folder = models_dir()
    if not folder.is_dir():
        return []
    remove_stale_temps(folder)
    entries = []
    for f in folder.glob("*.safetensors"):
        if not NAME_RE.fullmatch(f.stem):
            continue
        info = _read_info(f)
        try:
            created = float(info.get("created") or f.stat().st_mtime)
        except (OSError, TypeError, ValueError):
            continue  # removed meanwhile
        beta = info.get("beta")
        elbo = info.get("test_elbo")
        entries.append(
            GalleryEntry(
                name=f.stem,
                who=str(info.get("who") or "?"),
                created=created,
                dataset=str(info.get("dataset") or "?"),
                beta=float(beta) if isinstance(beta, (int, float)) else None,
                epochs=int(info.get("epochs") or 0),
                test_elbo=float(elbo) if isinstance(elbo, (int, float)) else None,
                bytes=_size(f, _info_path(f)),
                path=str(f),
                owner=info.get("owner") if isinstance(info.get("owner"), str) else None,
            )
        )
    entries.sort(key=lambda e: (-e.created, e.name))
    return entries


def class_models() -> list[ModelRef]:
    return [e.ref for e in gallery()]


def pinned() -> str | None:
    """The pinned model's name (the default for new visitors), if it still exists."""
    try:
        name = json.loads((models_dir() / PIN_FILE).read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        return None
    shipped = {r.name for r in shipped_models()}
    if name in shipped or (models_dir() / f"{name}.safetensors").is_file():
        return name
    return None


def set_pin(name: str | None) -> None:
    """Pin a model (shipped or in the gallery) for everyone, or unpin with None."""
    if name is None:
        atomic_write(models_dir() / PIN_FILE, b"{}")
        return
    known = {r.name for r in shipped_models()} | {e.name for e in gallery()}
    if name not in known:
        raise ConfigError(f"no model named {name!r} to pin")
    atomic_write(models_dir() / PIN_FILE, json.dumps({"name": name}).encode())


def delete_model(name: str) -> None:
    """Remove a gallery model (never a shipped one)."""
    if name in {r.name for r in shipped_models()}:
        raise ConfigError(f"{name!r} is a shipped model; shipped models are never deleted")
    if not NAME_RE.fullmatch(name):
        raise ConfigError(f"no model named {name!r:.60}")
    path = models_dir() / f"{name}.safetensors"
    path.unlink(missing_ok=True)
    _info_path(path).unlink(missing_ok=True)
    log.info("deleted gallery model %s (%s)", name, path)
    if pinned() is None and (models_dir() / PIN_FILE).exists():
        set_pin(None)


def disk_use() -> int:
    """Bytes of every file in MODELS_DIR (models, descriptions, pin, leftovers)."""
    folder = models_dir()
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.is_dir() else 0


@dataclass(frozen=True)
class Usage:
    """The gallery's use of its quota, for the teacher."""

    used: int  # bytes of every gallery model
    quota: int
    share: int  # what one student may use
    by_student: dict[str, tuple[str, int, int]]  # owner (or who) -> (display name, models, bytes)
    unreadable: list[GalleryEntry]  # files the app could not load back (over the size limit)


def usage() -> Usage:
    entries = gallery()
    by: dict[str, tuple[str, int, int]] = {}
    for e in entries:
        key = e.owner or f"name:{e.who}"
        who, n, b = by.get(key, (e.who, 0, 0))
        by[key] = (who, n + 1, b + e.bytes)
    over = [e for e in entries if e.bytes > MAX_CHECKPOINT_BYTES]
    return Usage(sum(e.bytes for e in entries), quota_bytes(), share_bytes(), by, over)


def too_big(e: GalleryEntry) -> bool:
    """A file the app cannot load back (put in the folder by hand): the teacher may delete it."""
    return e.bytes > MAX_CHECKPOINT_BYTES


@contextmanager
def quota_lock() -> Iterator[None]:
    """One admission at a time across processes and replicas sharing the folder."""
    folder = models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f}"


def plan_room(new: GalleryEntry, others: list[GalleryEntry], now: float | None = None) -> list[GalleryEntry]:
    """The models to evict so that `new` fits, by the gallery's rules, or QuotaFull.

    Within its owner's share; then, if the quota is exceeded, the oldest unpinned models older
    than the grace period, only as many as the new file needs and at most evict_max()."""
    now = time.time() if now is None else now
    quota, share = quota_bytes(), share_bytes()
    if new.owner is not None:
        mine = sum(e.bytes for e in others if e.owner == new.owner) + new.bytes
        if mine > share:
            raise QuotaFull(
                f"Not saved: your models would use {_mb(mine)} MB, over one student's share of {_mb(share)} MB. "
                "Ask the teacher to delete one of your models, or train a smaller one.",
                f"저장하지 않았습니다. 내 모델이 {_mb(mine)} MB가 되어 학생 한 명의 몫 {_mb(share)} MB를 넘습니다. "
                "선생님께 내 모델 하나를 지워 달라고 하거나 더 작은 모델을 학습하세요.",
            )
    over = sum(e.bytes for e in others) + new.bytes - quota
    if over <= 0:
        return []
    spare, grace = pinned(), grace_seconds()
    old = [e for e in sorted(others, key=lambda e: (e.created, e.name)) if e.name != spare and now - e.created >= grace]
    chosen, freed = [], 0
    for e in old:
        if freed >= over:
            break
        chosen.append(e)
        freed += e.bytes
    if freed < over or len(chosen) > evict_max():
        hours = grace / 3600
        raise QuotaFull(
            f"Not saved: the class gallery is full ({_mb(quota)} MB) and making room would remove models younger "
            f"than {hours:g} hours or more than {evict_max()} models. Nothing was deleted; ask the teacher to "
            "delete old models, or train a smaller one.",
            f"저장하지 않았습니다. 우리 반 갤러리가 가득 찼고({_mb(quota)} MB), 자리를 만들려면 {hours:g}시간이 안 된 "
            f"모델이나 {evict_max()}개보다 많은 모델을 지워야 합니다. 아무것도 지우지 않았습니다. 선생님께 오래된 "
            "모델을 지워 달라고 하거나 더 작은 모델을 학습하세요.",
        )
    return chosen


def admit(name: str, now: float | None = None) -> list[str]:
    """Keep the just-saved model `name` under the gallery's rules; returns the names evicted for it.

    Raises QuotaFull, after removing the new model's files only, when it does not fit. Call it
    under quota_lock(), after saving and describing the model."""
    entries = gallery()
    new = next((e for e in entries if e.name == name), None)
    if new is None:
        return []
    others = [e for e in entries if e.name != name]
    try:
        chosen = plan_room(new, others, now)
    except QuotaFull:
        delete_model(name)
        log.warning("gallery quota: refused %s (%d bytes)", name, new.bytes)
        raise
    for e in chosen:
        delete_model(e.name)
        _log_eviction(e, name)
    return [e.name for e in chosen]


def _log_eviction(e: GalleryEntry, for_name: str) -> None:
    line = {"when": time.time(), "name": e.name, "who": e.who, "created": e.created, "bytes": e.bytes, "for": for_name}
    with open(models_dir() / EVICTION_LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
    log.info("gallery quota: evicted %s (%d bytes) for %s", e.name, e.bytes, for_name)


def evictions(last: int = 50) -> list[dict]:
    """The models the quota removed, newest first (at most `last`)."""
    try:
        lines = (models_dir() / EVICTION_LOG).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out = []
    for raw in reversed(lines[-last:]):
        try:
            item = json.loads(raw)
        except ValueError:
            continue
        if isinstance(item, dict):
            out.append(item)
    return out


SAMPLE_IMAGES = 2000  # test images saved with a model trained in the app (explorer.training)


def size_refusal(config, sample_images: int = SAMPLE_IMAGES) -> Text | None:
    """Why a model of this VAEConfig cannot be trained in the app (its checkpoint would be over the
    load limit), with the largest hidden sizes allowed; None when it fits."""
    size = checkpoint_bytes(config, sample_images)
    if size <= MAX_CHECKPOINT_BYTES:
        return None
    w = largest_loadable_width(config, sample_images)
    allowed = ",".join([str(w)] * len(config.hidden))
    mib, limit = f"{size / 2**20:,.0f}", f"{MAX_CHECKPOINT_BYTES // 2**20}"
    return (
        f"Not started: these hidden sizes make a model file of about {mib} MiB, and the app loads files of at "
        f"most {limit} MiB. With {len(config.hidden)} layers, use hidden sizes of at most {allowed}.",
        f"시작하지 않았습니다. 이 은닉층 크기로는 모델 파일이 약 {mib} MiB가 되는데, 앱은 {limit} MiB까지만 "
        f"불러올 수 있습니다. 층이 {len(config.hidden)}개라면 은닉층 크기를 {allowed} 이하로 하세요.",
    )


FREE_TRIES = 3  # wrong teacher keys a session may try before each try must wait
MAX_WAIT_SECONDS = 60.0


def key_wait_seconds(fails: int) -> float:
    """How long a session waits before its next teacher key is checked, after `fails` wrong ones:
    nothing for the first FREE_TRIES, then 2, 4, 8 ... seconds, at most MAX_WAIT_SECONDS."""
    return 0.0 if fails < FREE_TRIES else min(MAX_WAIT_SECONDS, 2.0 ** (fails - FREE_TRIES + 1))


def teacher_key_matches(given: str, key: str | None) -> bool:
    """True only when a teacher key is configured and `given` equals it (constant-time)."""
    if not key or not given:
        return False
    return hmac.compare_digest(given.encode(), key.encode())
