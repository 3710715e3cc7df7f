"""Lessons (lessons/*.toml, explorer/lessons.py): every shipped lesson loads, every step's view is
a real page with settings the address accepts, and a mistake names the file, the step and the field."""

import pytest
from helpers import ROOT
from streamlit.testing.v1 import AppTest

from explorer import address, lessons
from explorer.layout import PAGES
from explorer.plain import plain

PAGE_PATHS = {address.page_path(p.path) for p in PAGES}


@pytest.mark.parametrize("name", lessons.names())
def test_every_shipped_lesson_loads(name):
    lesson = lessons.load(lessons.LESSONS_DIR / f"{name}.toml", PAGE_PATHS)
    assert lesson.title[0] and lesson.title[1] and len(lesson.steps) >= 3
    for step in lesson.steps:
        assert step.view["page"] in PAGE_PATHS and step.text[0] != step.text[1]


def test_the_first_lesson_is_home_s_start_here():
    assert lessons.names()[:2] == ["first-lesson", "elbo-terms"] or lessons.names()[0] == "first-lesson"
    pages = [s.view["page"] for s in lessons.load(lessons.LESSONS_DIR / "first-lesson.toml", PAGE_PATHS).steps]
    assert pages == ["manifold", "concept_reparam", "concept_autoencoder", "concept_beta", "train"]


GOOD_STEP = '[[step]]\nview = "walk"\ntext.en = "a"\ntext.ko = "가"\n'
TITLE = 'title.en = "T"\ntitle.ko = "제목"\n'


@pytest.mark.parametrize(
    "text, message",
    [
        ("title = 3", "lessons/bad.toml, field 'title'"),
        ("title.en = 'T'\n" + GOOD_STEP, "field 'title.ko': missing"),
        (TITLE, "lessons/bad.toml: no steps"),
        (TITLE + GOOD_STEP + '[[step]]\nview = "nowhere?z=1"\ntext.en = "a"\ntext.ko = "가"\n', "step 2, field 'view'"),
        (
            TITLE + GOOD_STEP * 2 + '[[step]]\nview = "walk?z=nan,1"\ntext.en = "a"\ntext.ko = "가"\n',
            "step 3, field 'view': cannot use z",
        ),
        (TITLE + '[[step]]\nview = "walk"\ntext.en = "a"\n', "step 1, field 'text.ko'"),
        (TITLE + '[[step]]\nview = "walk"\ntxt.en = "a"\n', "step 1: unknown field(s) txt"),
        (TITLE + GOOD_STEP + 'question.en = "q"\n', "step 1, field 'question.ko'"),
        ("title = {", "not valid TOML"),
    ],
    ids=[f"mistake{i}" for i in range(9)],
)
def test_a_mistake_is_named_by_file_step_and_field(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(lessons.LessonError, match="") as info:
        lessons.load(path, PAGE_PATHS)
    assert message in str(info.value), str(info.value)


def test_a_broken_lesson_link_gives_a_message_and_the_page(models_dir):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lesson"] = "no-such-lesson"
    at.query_params["n"] = "30"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # shown as plain text: the name comes from the address, so it is escaped, never markdown
    assert any(plain("lessons/no-such-lesson.toml: no such lesson") in e.value for e in at.error)
    assert any("lesson" in w.value for w in at.warning)


def test_home_starts_the_first_lesson_and_next_follows_it(models_dir):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert any("1. What the decoder learned" in m.value for m in at.markdown)
    at = at.button(key="lesson_start_first-lesson").click().run()  # the step's page opens on the next run
    at = at.run() if at.title[0].value != "Learned manifold" else at
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Learned manifold"
    assert any("step 1 of 5" in m.value for m in at.markdown) and at.button(key="lesson_prev").disabled
    at = at.button(key="lesson_next").click().run()
    at = at.run() if "step 2 of 5" not in " ".join(m.value for m in at.markdown) else at
    assert any("step 2 of 5" in m.value for m in at.markdown)
    assert at.title[0].value == "The reparameterisation trick, step by step"
