"""Which models the app can show, and the per-session folder where trained ones are saved.

Streamlit-free, so the rules (names, folders, limits) are tested without a browser.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from vae_core.checkpoint import remove_stale_temps
from vae_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = ROOT / "checkpoints"
RUNS_DIR = Path(os.environ.get("VAE_EXPLORER_RUNS", ROOT / "runs"))
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
DEFAULT_MODEL = "fashion-mnist"


@dataclass(frozen=True)
class ModelRef:
    kind: str  # "shipped", "run" (trained in this session) or "upload"
    name: str  # display name, also the file stem
    path: str | None  # file on disk; None for uploads, which live in session state

    @property
    def label(self) -> str:
        return {
            "shipped": f"{self.name} (shipped)",
            "run": f"{self.name} (trained here)",
            "upload": f"{self.name} (uploaded)",
        }[self.kind]


def shipped_models() -> list[ModelRef]:
    files = sorted(SHIPPED_DIR.glob("*.safetensors"))
    refs = [ModelRef("shipped", f.stem, str(f)) for f in files]
    refs.sort(key=lambda r: (r.name != DEFAULT_MODEL, r.name))
    return refs


def session_dir(session_id: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}", session_id):
        raise ConfigError("invalid session id")
    return RUNS_DIR / session_id


def run_models(session_id: str) -> list[ModelRef]:
    folder = session_dir(session_id)
    if folder.is_dir():
        remove_stale_temps(folder)
    return [ModelRef("run", f.stem, str(f)) for f in sorted(folder.glob("*.safetensors"))]


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


def run_path(session_id: str, name: str) -> Path:
    """Where a model trained in this session is saved: always inside the session's folder."""
    path = (session_dir(session_id) / f"{checked_name(name)}.safetensors").resolve()
    if path.parent != session_dir(session_id).resolve():  # belt and braces after the name check
        raise ConfigError(f"model name {name!r} would write outside the model folder")
    return path
