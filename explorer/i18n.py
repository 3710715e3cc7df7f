"""English and Korean, side by side where each text is written: `tr("Train", "학습")`.

Every user-facing string in the app goes through `tr(en, ko)`, so a text cannot exist in one
language only (tests/test_i18n.py checks every call has both). The language follows the
browser's locale (`st.context.locale`) on a session's first run, a `?lang=ko|en` URL
parameter, and the sidebar switch; it lives in session state (`session.LANG`).
Mathematical notation is the same in both languages.
"""

from __future__ import annotations

import streamlit as st

from . import session
from .glossary import CLASS_NAMES_KO

LANGS = {"en": "English", "ko": "한국어"}


def locale_language(locale: str | None) -> str:
    """'ko' for a Korean browser locale (ko, ko-KR, ...), else 'en'."""
    return "ko" if (locale or "").lower().replace("_", "-").split("-")[0] == "ko" else "en"


def lang() -> str:
    """The session's language, chosen on its first run from the URL or the browser."""
    language = session.LANG.get()
    if language is None:
        wanted = st.query_params.get("lang")
        language = wanted if wanted in LANGS else locale_language(st.context.locale)
        session.LANG.set(language)
    return language


def tr(en: str, ko: str, /, **values) -> str:
    """The text in the session's language, formatted with `values` (str.format)."""
    text = ko if lang() == "ko" else en
    return text.format(**values) if values else text


Text = tuple[str, str]  # (English, Korean), for text made where no session is (training threads)


def both(en: str, ko: str, /, **values) -> Text:
    """The text in both languages, formatted now; shown later with `tr_text`."""
    return (en.format(**values), ko.format(**values)) if values else (en, ko)


def tr_text(text: Text) -> str:
    return text[1] if lang() == "ko" else text[0]


def class_names(names) -> list[str]:
    """A dataset's class names in the session's language (Fashion-MNIST's are English words)."""
    names = [str(n) for n in names]
    return [CLASS_NAMES_KO.get(n, n) for n in names] if lang() == "ko" else names
