"""Links that open a view: the session's shareable keys, read from and written to the address.

explorer/address.py says what a link may carry and checks it (pure). Here, in Streamlit:

- `current_view(page)` is the view on screen, from the shareable keys of explorer/session.py;
- `apply_view(view, page)` sets those keys (before widgets render: from page_setup or a callback);
- `read_address(page)` applies the address once per session, on its first page run, so a link
  opens its view on any server, fresh or not; what it ignored is kept for one notice;
- `write_address(page, where)` puts the view in the browser's address bar with
  `history.replaceState` (a tiny JS component: st.query_params would push a history entry on
  every change), keeping parameters that are not ours (`run`, `embed`). It is mounted in the
  sidebar on every run and at the end of each fragment that changes the view, so a link copied
  from the address bar, a reload and a failover all open what is on screen;
- `share_panel()` is "Share this view": the link, a copy button, its QR code.
"""

from __future__ import annotations

import functools

import numpy as np
import streamlit as st

from . import address, session, state
from .i18n import tr

_WRITER_JS = """
export default function (component) {
  const { data, setStateValue } = component;
  if (!data) return;
  // Streamlit drops an address of over 1000 parameters (or 512 KiB) before Python sees it: say
  // which of ours it had, once per page load, so the page can name them in its notice.
  const raw = window.location.search;
  if (data.first && !window.__vaeAddressChecked) {
    window.__vaeAddressChecked = true;
    if (raw.split("&").length > 1000 || raw.length > 512 * 1024) {
      const found = data.names.filter((n) => raw.includes("?" + n + "=") || raw.includes("&" + n + "="));
      setStateValue("dropped", found.length ? found : ["?"]);
    }
  }
  // Writers in the sidebar and in fragments: the one written last in the session wins.
  if (data.seq < (window.__vaeAddressSeq || 0) && data.session === window.__vaeAddressSession) return;
  window.__vaeAddressSeq = data.seq;
  window.__vaeAddressSession = data.session;
  const ours = new Set(data.names);
  const url = new URL(window.location.href);
  const kept = url.search.replace(/^\\?/, "").split("&").filter((part) => {
    if (!part) return false;
    let name = part.split("=")[0];
    try { name = decodeURIComponent(name.replace(/\\+/g, " ")); } catch (e) { return false; }
    return !ours.has(name);
  });
  if (data.query) kept.push(data.query);
  const search = kept.length ? "?" + kept.join("&") : "";
  if (search !== url.search) {
    url.search = search;
    window.history.replaceState(window.history.state, "", url.toString());
  }
  const keys = window.__vaeLessonKeys;
  if (data.arrows && !keys) {
    // Presenter mode in a lesson: the arrow keys press Previous / Next (unless a control has focus).
    window.__vaeLessonKeys = (e) => {
      const t = e.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|CANVAS|BUTTON)$/.test(t.tagName))) return;
      const which = { ArrowLeft: "lesson_prev", ArrowRight: "lesson_next" }[e.key];
      const button = which && document.querySelector(".st-key-" + which + " button");
      if (button && !button.disabled) { e.preventDefault(); button.click(); }
    };
    window.addEventListener("keydown", window.__vaeLessonKeys);
  } else if (!data.arrows && keys) {
    window.removeEventListener("keydown", keys);
    window.__vaeLessonKeys = null;
  }
}
"""

try:
    _writer = st.components.v2.component("vae_address", html="", js=_WRITER_JS)
except AttributeError:  # a Streamlit without st.components.v2: the address is not written
    _writer = None

OURS = [p.name for p in address.PARAMS]


# ---- the view on screen ---------------------------------------------------------------------


def _manifold_box() -> tuple[float, float, float, float] | None:
    keys = [session.MANIFOLD_RANGE.of(s) for s in ("1lo", "1hi", "2lo", "2hi")]
    if not all(k.is_set() for k in keys):
        return None
    box = tuple(round(float(k.get()), 4) for k in keys)
    ok = all(abs(v) <= address.Z_LIMIT for v in box) and box[0] < box[1] and box[2] < box[3]
    return box if ok else None


def _path_view(path: dict | None) -> dict:
    if not path or path.get("kind", "none") == "none":
        return {}
    out = {"path": path["kind"], "frames": path["frames"], "fps": path["fps"], "loop": path["loop"]}
    if path["kind"] == "line":
        out |= {"from": path["from"], "to": path["to"]}
    else:
        out["r"] = round(float(path["radius"]), 4)
    return out


def current_view(page: str) -> dict:
    """The view on `page` (an address path: "walk", "" for Home) as explorer.address writes it."""
    view: dict = {"page": page}
    ref = session.ACTIVE_MODEL.get()
    if ref is not None and ref.kind != "upload":
        view["model"] = ref.id
    if session.LANG.get() is not None:
        view["lang"] = session.LANG.get()
    if session.PRESENT.get():
        view["present"] = True
    if page == "walk":
        z = session.WALK.z.get()
        if z and len(z) <= address.MAX_LATENT and all(abs(v) <= address.Z_LIMIT for v in z):
            view["z"] = tuple(round(float(v), 4) for v in z)
        if session.WALK.pick.get() is not None:
            view["pick"] = session.WALK.pick.get()
        view |= _path_view(session.WALK.path.get())
        if session.WALK.grid.get():
            view["layers"] = frozenset({"grid"})
    elif page == "manifold":
        if session.MANIFOLD_N.is_set():
            view["n"] = session.MANIFOLD_N.get()
        spacing = session.MANIFOLD_SPACING.get()
        if session.MANIFOLD_SPACING.is_set():
            view["spacing"] = spacing
        if spacing == "linear" and _manifold_box() is not None:
            view["box"] = _manifold_box()
        if not session.MANIFOLD_OVERLAY.get():
            view["layers"] = frozenset()
    if session.HIDE.get():
        view["hide"] = session.HIDE.get()
    if session.LOCK.get():
        view["lock"] = session.LOCK.get()
    if session.LESSON.get() is not None:
        view["lesson"] = session.LESSON.get()
        view["step"] = session.LESSON_STEP.get()
    return view


# ---- applying a view ------------------------------------------------------------------------


def model_ids() -> list[str]:
    return [m.id for m in state.available_models() if m.kind != "upload"]


def apply_view(view: dict, page: str) -> list[str]:
    """Set the session's keys from a checked view (address.parse); returns what the active model
    could not show (address.for_model). Call before the widgets it sets render."""
    if "model" in view:
        ref = next((m for m in state.available_models() if m.id == view["model"]), None)
        if ref is not None:
            state.set_active(ref)
    if "lang" in view:
        session.LANG.set(view["lang"])
    if "present" in view:
        session.PRESENT.set(view["present"])
    for key, name in ((session.HIDE, "hide"), (session.LOCK, "lock")):
        if name in view:
            key.set(frozenset(view[name]))
    if "spacing" in view:
        session.MANIFOLD_SPACING.set(view["spacing"])
    if "n" in view:
        session.MANIFOLD_N.set(view["n"])
    if "box" in view:
        for suffix, v in zip(("1lo", "1hi", "2lo", "2hi"), view["box"], strict=True):
            session.MANIFOLD_RANGE.of(suffix).set(float(v))
    if "layers" in view and page == "manifold":
        session.MANIFOLD_OVERLAY.set("test" in view["layers"])
    walk_names = {"z", "pick", "path", "from", "to", "r", "frames", "fps", "loop"}
    if page != "walk" or not (walk_names | {"layers"}) & set(view):
        return []
    from . import latent_plane
    from .widgets import set_z

    act = state.active()
    mu, _, _ = state.sample_latents(act.key, act.ckpt)
    d = act.ckpt.config.latent_dim
    view, ignored = address.for_model(view, d, len(mu))
    if "z" in view or "pick" in view:
        pick = view.get("pick")
        z = view.get("z") or (mu[pick].tolist() if pick is not None else session.WALK.z.get() or [0.0] * d)
        latent_plane.set_z(session.WALK, np.asarray(z, np.float64), pick)
        set_z(z)  # the plain sliders, where no JS plane runs
        session.WALK_MODEL.set(act.key)  # Walk keeps this z (it resets z when the model changes)
    path = None
    if {"path", "from", "to", "r", "frames", "fps", "loop"} & set(view):
        old = session.WALK.path.get() or latent_plane.PATH_DEFAULT
        given = {
            "kind": view.get("path"),
            "from": view.get("from"),
            "to": view.get("to"),
            "radius": view.get("r"),
            "frames": view.get("frames"),
            "fps": view.get("fps"),
            "loop": view.get("loop"),
        }
        merged = {k: (old.get(k) if v is None else v) for k, v in given.items()}
        path = latent_plane.clean_path(merged, len(mu))
    grid = "grid" in view["layers"] if "layers" in view else None
    latent_plane.set_view(session.WALK, path, grid)
    return ignored


def read_address(page: str) -> None:
    """On a session's first page run, open the view its address describes (once)."""
    if session.ADDRESS_READ.get():
        return
    session.ADDRESS_READ.set(True)
    query = {name: st.query_params.get_all(name) for name in OURS if name in st.query_params}
    if not query:
        return
    view, ignored = address.parse(query, model_ids())
    if "lesson" in view:
        from . import lessons

        ignored += lessons.start(view["lesson"], view.get("step", 1), page, apply_page=False)
    ignored += apply_view(view, page)
    if ignored:
        session.ADDRESS_IGNORED.set(list(dict.fromkeys(ignored)))


def ignored_notice() -> None:
    """One notice naming the link's parameters that were not used (shown once)."""
    names = session.ADDRESS_IGNORED.pop()
    if names:
        st.warning(
            tr(
                "Part of this link could not be used and was ignored: {names}. The rest of the view is shown.",
                "이 링크의 일부는 쓸 수 없어 무시했습니다: {names}. 나머지 화면은 그대로 보여 줍니다.",
                names=", ".join(names),
            ),
            icon=":material/link_off:",
        )


def _on_dropped(where: str) -> None:
    value = session.ADDRESS_WRITER.of(where).get() or {}
    dropped = value.get("dropped") if hasattr(value, "get") else None
    names = [n for n in OURS if isinstance(dropped, list) and n in dropped] or [tr("the whole address", "주소 전체")]
    session.ADDRESS_IGNORED.set(names)


def write_address(page: str, where: str = "page") -> None:
    """Put the view on screen in the browser's address (replacing the history entry)."""
    if _writer is None:
        return
    view = current_view(page)
    arrows = bool(view.get("present")) and "lesson" in view
    seq = session.ADDRESS_SEQ.get() + 1
    session.ADDRESS_SEQ.set(seq)
    data = {
        "names": OURS,
        "query": address.query_string(view),
        "arrows": arrows,
        "seq": seq,
        "session": _session_tag(),
        "first": seq == 1,
    }
    _writer(
        key=session.ADDRESS_WRITER.of(where).name,
        data=data,
        height="content",
        default={"dropped": None},
        on_dropped_change=functools.partial(_on_dropped, where),
    )


def _session_tag() -> str:
    tag = session.ADDRESS_TAG.get()
    if tag is None:
        import secrets

        tag = secrets.token_hex(4)
        session.ADDRESS_TAG.set(tag)
    return tag


# ---- Share this view ------------------------------------------------------------------------


def view_link(page: str) -> str | None:
    """The link to the view on `page`, on the address students can reach (join.join_url)."""
    from .join import join_url

    base = join_url()
    if base is None:
        return None
    view = current_view(page)
    view.pop("page", None)
    return address.link(base, page, view)


def share_panel(page: str, presenting: bool) -> None:
    """The dialog's content: the link (with a copy button), and its QR code."""
    from .join import _offline_warning, qr_png

    url = view_link(page)
    if url is None:
        _offline_warning()
        return
    st.caption(
        tr(
            "This link opens exactly this view (page, model, z, path, grid, language …) on any computer that "
            "reaches this server.",
            "이 링크를 열면 지금 이 화면(페이지, 모델, z, 경로, 격자, 언어 …)이 그대로 열립니다. 이 서버에 접속할 수 "
            "있는 컴퓨터라면 어디서든 됩니다.",
        )
    )
    st.code(url, language=None, wrap_lines=True)  # its copy button copies the link
    st.image(qr_png(url, scale=16 if presenting else 8), width=560 if presenting else 280, output_format="PNG")
