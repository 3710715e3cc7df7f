"""The class board page and Encode's "send to the class" under AppTest: what a student sends lands on the
board, refusals are shown in words, and the teacher's controls need the teacher key."""

from io import BytesIO

import numpy as np
import pytest
from helpers import ROOT
from streamlit.testing.v1 import AppTest

from explorer import owner
from explorer.class_store import DEFAULT_BOARD, class_store

KEY = "board-test-key"


@pytest.fixture
def app(models_dir):
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()


def box_png() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("L", (120, 120), 255)
    ImageDraw.Draw(img).rectangle([30, 20, 90, 100], outline=0, width=10)
    buf = BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def encoded(at: AppTest) -> AppTest:
    at = at.switch_page("pages/encode.py").run()
    at = at.radio(key="enc_mode").set_value("upload").run()
    at.file_uploader(key="enc_upload").set_value(("box.png", box_png(), "image/png"))
    return at.run()


def student_submits(n: int = 1, name: str = "Jun", label: str | None = "Bag") -> None:
    for i in range(n):
        class_store().submit(
            DEFAULT_BOARD,
            who=owner.secret_hash(owner.new_secret()),
            name=f"{name}{i}",
            image=np.full((28, 28), 40 * i % 255, np.uint8),
            mu=[0.1 * i, -0.2],
            sigma=[0.5, 0.5],
            label=label,
        )


def texts(at: AppTest) -> str:
    return " ".join(
        str(e.value)
        for kind in ("markdown", "caption", "text", "info", "success", "error", "subheader")
        for e in getattr(at, kind)
    )


def test_a_drawing_sent_from_encode_is_on_the_board_and_refusals_are_words(app):
    at = encoded(app)
    at.button(key="board_send").click().run()  # no name yet: refused, in words
    assert "display name" in at.error[0].value and not class_store().submissions(DEFAULT_BOARD)
    at.text_input(key="board_name_input").set_value("<b>Mina</b>")
    at.selectbox(key="board_label").set_value("Bag")
    at = at.button(key="board_send").click().run()
    assert "Sent to the class board" in at.success[0].value
    (sub,) = class_store().submissions(DEFAULT_BOARD)
    assert sub.name == "<b>Mina</b>" and sub.label == "Bag" and len(sub.mu) == 2
    for _ in range(4):  # four a minute: the fifth is refused with how long to wait
        at = at.button(key="board_send").click().run()
    assert "a minute" in at.error[0].value
    at = at.switch_page("pages/class_board.py").run()
    assert not at.exception, [e.value for e in at.exception]
    look = at.selectbox(key="board_look")
    assert len(look.options) == 5  # (none) and the four accepted drawings
    at = look.set_value(look.options[1]).run()  # shown: name as plain text, the drawing, its reconstruction
    shown = " ".join(t.value for t in at.text)
    assert "<b>Mina</b>" in shown and "label: Bag" in shown
    placed = [float(v) for v in shown.split("μ = (")[1].split(")")[0].split(",")]
    assert np.allclose(placed, sub.mu, atol=0.05)  # re-encoded by the board's model: where the student saw it


def test_without_the_teacher_key_no_teacher_control_is_drawn(app, monkeypatch):
    student_submits(2)
    at = app.switch_page("pages/class_board.py").run()
    assert not at.exception
    assert "No teacher key is set" in texts(at)
    assert not [b for b in at.button if b.key and b.key.startswith("board_")]
    monkeypatch.setenv("VAE_EXPLORER_TEACHER_KEY", KEY)
    at = at.run()
    at.text_input(key="teacher_key_input").set_value("wrong").run()
    assert "not the teacher key" in texts(at)
    assert not [b for b in at.button if b.key and b.key.startswith("board_")]


def test_the_teacher_asks_students_answer_and_the_reveal_says_how_far(app, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_TEACHER_KEY", KEY)
    at = app.switch_page("pages/class_board.py").run()
    at = at.text_input(key="teacher_key_input").set_value(KEY).run()
    at.text_input(key="board_prompt").set_value("Where does a bag land?")
    at.selectbox(key="board_target").set_value(8)  # Bag
    at = at.button(key="board_ask").click().run()
    q = class_store().question(DEFAULT_BOARD)
    assert q.prompt == "Where does a bag land?" and q.state == "open" and q.target == {"class": 8}
    for i, z in enumerate([(0.0, 1.0), (0.5, 1.5), (2.0, -1.0)]):
        class_store().answer(DEFAULT_BOARD, q.id, who=owner.secret_hash(owner.new_secret()), name=f"s{i}", value=z)
    at = at.run()
    assert [m.value for m in at.metric] == ["3"]  # the projector's count
    at = at.button(key="board_reveal_go").click().run()
    assert class_store().question(DEFAULT_BOARD).state == "revealed"
    assert "3 answers" in texts(at) and "median" in texts(at)
