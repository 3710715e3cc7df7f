"""Who owns what: an unguessable secret that only one browser holds.

A display name is a label anyone can type, and a run id is in a shareable link; neither can prove
who started a run or sent a drawing. Each browser therefore holds a secret (`new_secret()`, 256
random bits), kept in a cookie so a reload or a second tab of the same browser is the same owner,
and what is stored with a run or a submission is only its hash (`secret_hash`), never the secret:

    from explorer import owner
    job.owner = owner.secret_hash(owner.secret())      # stored with the run
    owner.owns(job.owner, owner.secret())              # True only in the browser that started it

The secret is read from the `vae_explorer_owner` cookie (`st.context.cookies`, the public API);
when the browser has none yet, the session makes one, keeps it for the tab (`session.OWNER_SECRET`)
and `secret()` mounts a tiny inline component that writes it into the cookie, so the next page
load of this browser finds it. A browser that refuses cookies keeps a secret per tab: its runs
are still its own, for as long as the tab lives.

The hashing half is Streamlit-free (explorer/class_store.py uses it); Streamlit is imported only
by `secret()`.
"""

from __future__ import annotations

import hmac
import re
import secrets
from hashlib import sha256

from vae_core.errors import InputError

COOKIE = "vae_explorer_owner"
COOKIE_DAYS = 365
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")  # token_urlsafe's alphabet
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def new_secret() -> str:
    """A fresh browser secret: 32 random bytes, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def valid_secret(s: object) -> bool:
    """Whether `s` looks like a browser secret (16 to 256 URL-safe characters); a cookie is user input."""
    return isinstance(s, str) and _SECRET_RE.fullmatch(s) is not None


def secret_hash(s: str) -> str:
    """What is stored of a browser secret: 64 lowercase hex digits (sha256), never the secret itself."""
    if not valid_secret(s):
        raise InputError("a browser secret is at least 16 (at most 256) URL-safe characters")
    return sha256(b"vae-explorer browser secret\0" + s.encode()).hexdigest()


def valid_hash(h: object) -> bool:
    return isinstance(h, str) and _HASH_RE.fullmatch(h) is not None


def owns(owner_hash: str | None, s: str | None) -> bool:
    """True when `s` is the secret whose hash is `owner_hash` (constant-time); False for anything missing."""
    if not owner_hash or not valid_secret(s):
        return False
    return hmac.compare_digest(owner_hash, secret_hash(s))


# ---- the browser's side (Streamlit) ----

_JS = """
export default function (component) {
  const { data } = component;
  const name = data && data.name, value = data && data.value;
  if (!name || !value) return;
  const has = document.cookie.split(";").some((c) => c.trim().startsWith(name + "="));
  if (has) return;  // another tab of this browser set one first: the next load uses it
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `${name}=${value}; Path=/; Max-Age=${data.maxAge}; SameSite=Strict${secure}`;
}
"""
_component = None


def _cookie_writer():
    global _component
    if _component is None:
        import streamlit as st

        _component = st.components.v2.component("vae_owner_cookie", html="", js=_JS)
    return _component


def cookie_secret() -> str | None:
    """The secret in this browser's cookie, if it sent a valid one with the page's request."""
    import streamlit as st

    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no request behind the session (AppTest, a bare script run)
        return None
    return value if valid_secret(value) else None


def secret(*, write_cookie: bool = True) -> str:
    """This browser's secret: from its cookie, else the tab's own (made now, and written to the cookie).

    Call it from the page's script; in a widget callback pass `write_cookie=False` (no element there)."""
    from . import session

    found = cookie_secret()
    if found is not None:
        return found
    tab = session.OWNER_SECRET.get()
    if not valid_secret(tab):
        tab = new_secret()
        session.OWNER_SECRET.set(tab)
    if not write_cookie:
        return tab
    try:
        _cookie_writer()(
            key="vae_owner_cookie",
            data={"name": COOKIE, "value": tab, "maxAge": COOKIE_DAYS * 86400},
        )
    except Exception:  # no st.components.v2, or already mounted in this run: the tab secret still holds
        pass
    return tab


def my_hash() -> str:
    """`secret_hash(secret())`: what to store with something this browser makes."""
    return secret_hash(secret())
