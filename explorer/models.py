"""Which models the app can show, and the class's shared models folder (the gallery).

Every model trained in the app is saved in MODELS_DIR (env `VAE_EXPLORER_MODELS`, default
`<repo>/models`): visible to every session, every server process and every replica, and kept
across restarts. Each model is two files written atomically: `<name>.safetensors` (the
checkpoint, which describes itself) and `<name>.json` (who trained it, when, and a summary for
the gallery, so listing the class's models reads no checkpoint). The folder is bounded by a
quota: when it is over, the oldest unpinned models go first. Shipped checkpoints live in
`checkpoints/` and are never touched.

Streamlit-free, so the rules (names, folders, quota, pin) are tested without a browser.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from vae_core.checkpoint import atomic_write, load_checkpoint, remove_stale_temps
from vae_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = ROOT / "checkpoints"
MODELS_DIR = Path(os.environ.get("VAE_EXPLORER_MODELS", ROOT / "models"))
DEFAULT_QUOTA_MB = 500.0
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
# A trainer's display name: letters of any script (Hangul too), digits, spaces, . ' _ -
TRAINER_RE = re.compile(r"^[^\W_][\w .'-]{0,29}$")
DEFAULT_MODEL = "fashion-mnist"
PIN_FILE = ".pinned.json"  # {"name": ...}: the model new visitors start with


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


def checked_name(name: str) -> str:
    """A model name typed by a user: letters, digits, - and _, at most 40, not a shipped one."""
    name = name.strip()
    if not NAME_RE.fullmatch(name):
        raise ConfigError(
            f"model name {name!r:.60} is not allowed: use 1-40 letters, digits, '-' or '_', starting with a "
            "letter or digit (no paths, dots or spaces)"
        )
    if name in {r.name for r in shipped_models()}:
        raise ConfigError(f"{name!r} is the name of a shipped model; choose another name")
    return name


def checked_trainer(who: str) -> str:
    """A trainer's display name: 1-30 letters (any script), digits, spaces, . ' _ -"""
    who = " ".join(who.split())
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
    return model_path(name).exists() or model_path(name).with_suffix(".json").exists()


def _info_path(ckpt_path: Path) -> Path:
    return ckpt_path.with_suffix(".json")


def describe(path: str | Path, who: str, created: float | None = None) -> dict:
    """Write `<name>.json` beside a saved checkpoint (atomically) and return it."""
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
    if pinned() is None and (models_dir() / PIN_FILE).exists():
        set_pin(None)


def disk_use() -> int:
    """Bytes of every file in MODELS_DIR (models, descriptions, pin, leftovers)."""
    folder = models_dir()
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.is_dir() else 0


def enforce_quota(limit: int | None = None, keep: tuple[str, ...] = ()) -> list[str]:
    """Delete the oldest unpinned models until the gallery fits `limit` bytes; returns their names.

    `keep` (the model just saved) and the pinned model are never removed, so a single model
    larger than the quota stays (the quota is a bound on the rest, not a reason to lose a run)."""
    limit = quota_bytes() if limit is None else limit
    entries = gallery()
    total = sum(e.bytes for e in entries)
    spare = {pinned(), *keep}
    removed = []
    for e in sorted(entries, key=lambda e: (e.created, e.name)):
        if total <= limit:
            break
        if e.name in spare:
            continue
        delete_model(e.name)
        total -= e.bytes
        removed.append(e.name)
    return removed


def teacher_key_matches(given: str, key: str | None) -> bool:
    """True only when a teacher key is configured and `given` equals it (constant-time)."""
    if not key or not given:
        return False
    return hmac.compare_digest(given.encode(), key.encode())
