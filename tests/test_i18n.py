"""English and 한국어: every text is written in both, and a page in Korean mode shows no English.

(a) reads the source: each `tr(en, ko)` / `both(en, ko)` call has two non-empty string literals
    (no f-strings: values go through str.format, so both languages get the same ones), the
    Korean one is Korean (has Hangul), and both name the same {placeholders}.
(b) renders every page under AppTest with `?lang=ko` and fails if a shown text (title, header,
    markdown, caption, alert, widget label, help, option, metric, expander, image caption)
    has no Hangul and is not maths, numbers or a name.
"""

import ast
import string
from pathlib import Path

import pytest
from helpers import HANGUL, ROOT, shown_texts, untranslated
from streamlit.testing.v1 import AppTest

from explorer.i18n import locale_language

SOURCES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "explorer").glob("*.py"))]
PAGE_FILES = ["app.py", *(f"pages/{p.name}" for p in sorted((ROOT / "pages").glob("*.py")))]
TRANSLATORS = {"tr", "both", "page_setup"}
PASS_THROUGH = ["title_en", "title_ko"]  # page_setup hands its own two literals on to tr()


def _calls(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            if name in TRANSLATORS:
                yield node


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


def problems_in(path: Path) -> list[str]:
    problems = []
    for call in _calls(path):
        where = f"{path.name}:{call.lineno}"
        args = call.args[:2]
        if [getattr(a, "id", None) for a in args] == PASS_THROUGH:
            continue
        if len(args) != 2 or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
            problems.append(f"{where}: needs two string literals (en, ko), no f-strings or variables")
            continue
        en, ko = (a.value for a in args)
        if not en.strip() or not ko.strip():
            problems.append(f"{where}: an empty text")
        elif not HANGUL.search(ko):
            problems.append(f"{where}: the Korean text has no Hangul: {ko!r:.60}")
        elif _fields(en) != _fields(ko):
            problems.append(f"{where}: placeholders differ: {sorted(_fields(en))} vs {sorted(_fields(ko))}")
    return problems


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_tr_call_has_english_and_korean_literals(path):
    problems = problems_in(path)
    assert not problems, "\n".join(problems)


def test_the_source_check_catches_what_it_should(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        'tr("Train", "Train")\ntr(f"x {y}", "엑스")\ntr("a {n}", "가 {m}", n=1)\ntr("ok", "좋아요")\nboth("", "빈")\n'
    )
    text = "\n".join(problems_in(bad))
    assert "bad.py:1: the Korean text has no Hangul" in text and "bad.py:2: needs two string literals" in text
    assert "bad.py:3: placeholders differ" in text and "bad.py:5: an empty text" in text and ":4:" not in text


def test_browser_locale_picks_the_language():
    assert [locale_language(x) for x in ("ko", "ko-KR", "KO_kr", "en-US", "de", None, "")] == [
        "ko",
        "ko",
        "ko",
        "en",
        "en",
        "en",
        "en",
    ]


# ---- (b) what a page shows in Korean mode ----


def test_the_render_check_catches_english():
    assert untranslated("Grid size n") and untranslated("Download PNG")
    assert not untranslated("격자 크기 n") and not untranslated("β = 1, 30 에폭")
    assert untranslated("fashion-mnist · bernoulli · 12.3 nats") and not untranslated("fashion-mnist · 12.3 nats")
    assert not untranslated("$q_\\phi(z\\mid x)$")
    assert not untranslated("z₁") and not untranslated("log p(x), k=100 (nats)")


@pytest.fixture(scope="module")
def korean_app():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = "ko"
    return at.run()


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_in_korean_mode_shows_no_english(korean_app, page):
    at = korean_app.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["lang"] == "ko"
    shown = [t for root in (at.main, at.sidebar) for t in shown_texts(root)]
    assert shown, "nothing rendered"
    bad = sorted({f"{kind}: {text[:90]!r}" for kind, text in shown if untranslated(text)})
    assert not bad, f"{page} in Korean mode shows English:\n" + "\n".join(bad)


def test_the_reparam_diagram_is_in_korean(korean_app):
    at = korean_app.switch_page("pages/concept_reparam.py").run()
    spec = at.get("graphviz_chart")[0].proto.spec
    assert 'label="인코더"' in spec and 'label="디코더"' in spec and "encoder" not in spec
