"""The view in the address: which parameters a link may carry, how each is read and written.

Streamlit-free and pure, so every rule is unit-tested (tests/test_address.py). A *view* is a dict
from a parameter's short name to its value, already checked (`{"model": "shipped:digits",
"z": (0.5, -1.2), "pick": 860}`); the page is the address's path (`/walk`) and appears in a view
as `"page"`. The app side (explorer/links.py) reads a view from the session and applies one to it.

    view, ignored = parse({"z": ["0.5,-1.2"], "n": ["100000"]})   # ({'z': (0.5, -1.2)}, ['n'])
    query(view)                                                     # {'z': '0.5,-1.2'}
    link("http://host/", "walk", view)                              # 'http://host/walk?z=0.5,-1.2'

An address comes from anyone: a value that does not parse, is out of range, or is given more than
once is ignored and its parameter's name (ours, never the address's text) is returned in `ignored`,
so the page can say which part of the link it did not use. Parameters that are not ours (`run`,
`embed`) are left alone. Nothing here raises on any input.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from vae_core.manifold import MAX_GRID, SPACINGS

MAX_VALUE_CHARS = 512  # longer values are ignored unread (a 100 kB value costs nothing)
MAX_QUERY_CHARS = 8192  # a query string longer than this is not parsed at all
Z_LIMIT = 10.0  # |z| per dimension: beyond the prior's 10σ nothing is to be seen
MAX_LATENT = 16
MAX_PICK = 1_000_000
MIN_GRID_SHOWN = 5  # the Manifold slider's lower end

HIDEABLE = {
    "picker": "the model picker (sidebar)",
    "sidebar": "the whole sidebar",
    "menu": "the page menu (sidebar)",
    "sliders": "the z sliders beside the latent plane (Walk)",
    "path": "the path controls under the latent plane (Walk)",
    "layers": "layer switches: Walk's manifold background, Manifold's test-set overlay",
    "grid": "the Manifold page's grid controls (size, spacing, range)",
    "share": "the Share this view button",
    "lang": "the language switch",
    "present": "the presenter-mode switch",
}
LOCKABLE = {"model": "the active model cannot be changed (the picker is shown, disabled)"}
LAYERS = {
    "test": "Manifold: the test set's latent means over the grid",
    "grid": "Walk: the decoded manifold behind the plane",
}
PATH_KINDS = ("none", "line", "circle")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MODEL_RE = re.compile(r"^(?:(shipped|class):)?([A-Za-z0-9][A-Za-z0-9_-]{0,39})$")
PAGE_RE = re.compile(r"^[a-z0-9_]{0,40}$")


class Invalid(ValueError):
    """A parameter's value cannot be used."""


def _number(text: str, lo: float, hi: float) -> float:
    try:
        v = float(text)
    except ValueError:
        raise Invalid(text) from None
    if not (math.isfinite(v) and lo <= v <= hi):
        raise Invalid(text)
    return v


def _integer(lo: int, hi: int) -> Callable[[str], int]:
    def read(text: str) -> int:
        if not re.fullmatch(r"[0-9]{1,7}", text):
            raise Invalid(text)
        v = int(text)
        if not lo <= v <= hi:
            raise Invalid(text)
        return v

    return read


def _real(lo: float, hi: float) -> Callable[[str], float]:
    return lambda text: round(_number(text, lo, hi), 4)


def _choice(options: Iterable[str]) -> Callable[[str], str]:
    options = tuple(options)

    def read(text: str) -> str:
        if text not in options:
            raise Invalid(text)
        return text

    return read


def _flag(text: str) -> bool:
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise Invalid(text)


def _vector(text: str, lengths: Collection[int]) -> tuple[float, ...]:
    parts = text.split(",")
    if len(parts) not in lengths:
        raise Invalid(text)
    return tuple(round(_number(p.strip(), -Z_LIMIT, Z_LIMIT), 4) for p in parts)


def _z(text: str) -> tuple[float, ...]:
    return _vector(text, range(1, MAX_LATENT + 1))


def _box(text: str) -> tuple[float, float, float, float]:
    z1lo, z1hi, z2lo, z2hi = _vector(text, (4,))
    if not (z1lo < z1hi and z2lo < z2hi):
        raise Invalid(text)
    return z1lo, z1hi, z2lo, z2hi


def _names(allowed: Collection[str]) -> Callable[[str], frozenset[str]]:
    def read(text: str) -> frozenset[str]:
        items = {t.strip() for t in text.split(",") if t.strip()} - {"none"}
        if not items <= set(allowed):
            raise Invalid(text)
        return frozenset(items)

    return read


def _model(text: str) -> str:
    m = MODEL_RE.fullmatch(text)
    if not m:
        raise Invalid(text)
    return f"{m.group(1) or 'shipped'}:{m.group(2)}"


def _lesson(text: str) -> str:
    if not NAME_RE.fullmatch(text):
        raise Invalid(text)
    return text


def _num_text(v: float) -> str:
    return f"{v:.4f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))


def _write_model(v: str) -> str:
    kind, _, name = v.partition(":")
    return name if kind == "shipped" else v


def _write_names(v: Collection[str]) -> str:
    return ",".join(sorted(v)) or "none"


@dataclass(frozen=True)
class Param:
    name: str  # in the address and in a view
    read: Callable[[str], Any]  # text -> value; raises Invalid
    write: Callable[[Any], str]
    doc: str  # what it restores (docs/links.md is written from these)
    pages: tuple[str, ...] = ()  # the pages it belongs to; () for every page


WALK, MANIFOLD = ("walk",), ("manifold",)
PARAMS: tuple[Param, ...] = (
    Param("model", _model, _write_model, "the active model: a shipped name, or class:NAME for the gallery's"),
    Param("lang", _choice(("en", "ko")), str, "the language: en or ko"),
    Param("present", _flag, lambda v: "1" if v else "0", "presenter mode: 1 or 0"),
    Param("z", _z, lambda v: ",".join(map(_num_text, v)), "Walk's z, comma-separated (|z| ≤ 10)", WALK),
    Param("pick", _integer(0, MAX_PICK), str, "Walk's selected test image (its index)", WALK),
    Param("path", _choice(PATH_KINDS), str, "Walk's path: none, line or circle", WALK),
    Param("from", _integer(0, MAX_PICK), str, "the line path's first test image", WALK),
    Param("to", _integer(0, MAX_PICK), str, "the line path's last test image", WALK),
    Param("r", _real(0.1, 3.0), _num_text, "the circle path's radius, 0.1 to 3", WALK),
    Param("frames", _integer(2, 60), str, "frames along the path, 2 to 60", WALK),
    Param("fps", _integer(1, 30), str, "the path's speed in frames per second, 1 to 30", WALK),
    Param("loop", _flag, lambda v: "1" if v else "0", "the path plays in a loop: 1 or 0", WALK),
    Param(
        "n", _integer(MIN_GRID_SHOWN, MAX_GRID), str, f"Manifold's grid size, {MIN_GRID_SHOWN} to {MAX_GRID}", MANIFOLD
    ),
    Param("spacing", _choice(SPACINGS), str, "Manifold's spacing: icdf or linear", MANIFOLD),
    Param("box", _box, lambda v: ",".join(map(_num_text, v)), "linear spacing's range: z1lo,z1hi,z2lo,z2hi", MANIFOLD),
    Param(
        "layers",
        _names(LAYERS),
        _write_names,
        "layers shown: test (Manifold), grid (Walk), or none",
        ("walk", "manifold"),
    ),
    Param("hide", _names(HIDEABLE), _write_names, "controls to hide, comma-separated (table below)"),
    Param("lock", _names(LOCKABLE), _write_names, "what cannot be changed: model"),
    Param("lesson", _lesson, str, "a lesson in lessons/ (its file name without .toml)"),
    Param("step", _integer(1, 99), str, "the lesson's step, from 1"),
)
BY_NAME = {p.name: p for p in PARAMS}


def _values(query: Mapping[str, Any], name: str) -> list[str]:
    v = query.get(name)
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    try:
        return [x for x in v if isinstance(x, str)] if len(v) <= 2 else list(v[:2])
    except TypeError:
        return []


def parse(query: Mapping[str, Any], model_ids: Collection[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The view a query describes, and the names of the parameters it ignored (in PARAMS order).

    `query` maps a name to its value or list of values (st.query_params as {k: get_all(k)}, or
    parse_qs). `model_ids`, when given, are the models that exist ("shipped:digits"): another
    model is ignored. A parameter given twice is ignored (which one was meant?)."""
    view: dict[str, Any] = {}
    ignored: list[str] = []
    for p in PARAMS:
        values = _values(query, p.name)
        if not values:
            continue
        if len(values) > 1 or not isinstance(values[0], str) or len(values[0]) > MAX_VALUE_CHARS:
            ignored.append(p.name)
            continue
        try:
            value = p.read(values[0].strip())
        except (Invalid, ValueError, TypeError, OverflowError):
            ignored.append(p.name)
            continue
        if p.name == "model" and model_ids is not None and value not in model_ids:
            ignored.append(p.name)
            continue
        view[p.name] = value
    if "step" in view and "lesson" not in view:
        view.pop("step")
    return view, ignored


def parse_query_string(text: str, model_ids: Collection[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """`parse` of a raw query string ("z=0.5,1&n=30"); one too long is ignored whole."""
    text = text.lstrip("?")
    if len(text) > MAX_QUERY_CHARS:
        names = {part.partition("=")[0] for part in text[:MAX_QUERY_CHARS].split("&")}
        return {}, [p.name for p in PARAMS if p.name in names]
    return parse(parse_qs(text, keep_blank_values=True, max_num_fields=10_000), model_ids)


def parse_link(text: str, model_ids: Collection[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """A view written as `page?query` (as lesson files do: "walk?z=0.5,-1.2&pick=860"): the page
    is `view["page"]` ("" for Home). A page name that cannot be one is reported as "page"."""
    page, _, qs = text.strip().lstrip("/").partition("?")
    view, ignored = parse_query_string(qs, model_ids)
    if PAGE_RE.fullmatch(page):
        view["page"] = page
    else:
        ignored.insert(0, "page")
    return view, ignored


def for_model(view: Mapping[str, Any], latent_dim: int, n_points: int) -> tuple[dict[str, Any], list[str]]:
    """The view without what the model it opens with cannot show: a z of another length, a test
    image it does not have. Returns (view, ignored names)."""
    out, ignored = dict(view), []
    if "z" in out and len(out["z"]) != latent_dim:
        out.pop("z")
        ignored.append("z")
    for name in ("pick", "from", "to"):
        if name in out and out[name] >= n_points:
            out.pop(name)
            ignored.append(name)
    return out, ignored


def query(view: Mapping[str, Any]) -> dict[str, str]:
    """The address's parameters for a view, in PARAMS order (a page's `page` is its path, not here)."""
    out = {}
    for p in PARAMS:
        if p.name in view and view[p.name] is not None:
            out[p.name] = p.write(view[p.name])
    return out


def query_string(view: Mapping[str, Any]) -> str:
    """`query(view)` as text, with commas and colons left readable."""
    return urlencode(query(view), safe=",:", quote_via=quote)


def link(base: str, page: str, view: Mapping[str, Any]) -> str:
    """The full link: `base` (the app's root address, ending in /), the page's path, the query."""
    qs = query_string(view)
    return base.rstrip("/") + "/" + page + (f"?{qs}" if qs else "")


def page_path(script: str) -> str:
    """A page's path in the address: pages/walk.py -> "walk"; app.py (Home) -> ""."""
    if script == "app.py":
        return ""
    return script.rsplit("/", 1)[-1].removesuffix(".py")


def belongs(name: str, page: str) -> bool:
    """Whether parameter `name` describes something on `page` (model, lang... belong everywhere)."""
    pages = BY_NAME[name].pages if name in BY_NAME else ()
    return not pages or page in pages
