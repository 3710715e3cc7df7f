"""Lessons: small TOML files in lessons/, each an ordered list of views with a short text.

A lesson file (format in docs/links.md) has a title in English and Korean and steps; a step is a
view written as a link's tail (`view = "walk?z=0.5,-1.2&pick=860"`, read by explorer/address.py),
a text in both languages, and an optional question. `load(path)` reads one with `tomllib` and
checks every field; a mistake raises LessonError naming the file, the step and the field, and
the app shows that message and keeps running. `?lesson=NAME&step=K` opens a step
(explorer/links.py); `lesson_bar()` draws the step with Previous / Next and a step counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tomllib

from . import address
from .plain import plain

LESSONS_DIR = Path(__file__).resolve().parents[1] / "lessons"
MAX_LESSON_BYTES = 200_000
MAX_STEPS = 60
MAX_TEXT = 2_000


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file, the step and the field."""


@dataclass(frozen=True)
class Step:
    view: dict  # a checked view (explorer.address), with its "page"
    link: str  # the view as written in the file
    title: tuple[str, str]  # (English, Korean); may be ("", "")
    text: tuple[str, str]
    question: tuple[str, str] | None


@dataclass(frozen=True)
class Lesson:
    name: str  # the file's stem: ?lesson=NAME
    title: tuple[str, str]
    steps: tuple[Step, ...]


def _bilingual(table, where: str, field: str, required: bool = True) -> tuple[str, str] | None:
    if table is None and not required:
        return None
    if not isinstance(table, dict):
        raise LessonError(f"{where}, field '{field}': give it as {field}.en and {field}.ko (two texts)")
    extra = set(table) - {"en", "ko"}
    if extra:
        raise LessonError(f"{where}, field '{field}': unknown language(s) {', '.join(sorted(map(str, extra)))}")
    out = []
    for language in ("en", "ko"):
        text = table.get(language)
        if not isinstance(text, str) or not text.strip():
            raise LessonError(f"{where}, field '{field}.{language}': missing or empty (both languages are needed)")
        if len(text) > MAX_TEXT:
            raise LessonError(f"{where}, field '{field}.{language}': longer than {MAX_TEXT} characters")
        out.append(text.strip())
    return out[0], out[1]


def parse(name: str, text: str, pages: set[str], where: str | None = None) -> Lesson:
    """A lesson from its TOML text. `pages`: the address paths that exist ("walk", "" for Home)."""
    where = where or f"lessons/{name}.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"{where}: not valid TOML ({exc})") from None
    unknown = set(data) - {"title", "step"}
    if unknown:
        raise LessonError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} (a lesson has title and [[step]])")
    title = _bilingual(data.get("title"), where, "title")
    steps = data.get("step")
    if not isinstance(steps, list) or not steps:
        raise LessonError(f"{where}: no steps (write each as a [[step]] table)")
    if len(steps) > MAX_STEPS:
        raise LessonError(f"{where}: more than {MAX_STEPS} steps")
    out = []
    for k, raw in enumerate(steps, start=1):
        at = f"{where}, step {k}"
        if not isinstance(raw, dict):
            raise LessonError(f"{at}: a step is a [[step]] table")
        unknown = set(raw) - {"view", "title", "text", "question"}
        if unknown:
            raise LessonError(f"{at}: unknown field(s) {', '.join(sorted(unknown))}")
        link = raw.get("view")
        if not isinstance(link, str):
            raise LessonError(f"{at}, field 'view': missing (a page and its settings, e.g. \"walk?z=0.5,-1.2\")")
        view, ignored = address.parse_link(link)
        ignored = [n for n in ignored if n != "page"] + (["page"] if "page" in ignored else [])
        if "page" not in view or view["page"] not in pages:
            raise LessonError(f"{at}, field 'view': no page called {link.partition('?')[0]!r:.60}")
        if ignored:
            raise LessonError(f"{at}, field 'view': cannot use {', '.join(ignored)} (see docs/links.md)")
        if {"lesson", "step"} & set(view):
            raise LessonError(f"{at}, field 'view': a step cannot open another lesson")
        step_title = _bilingual(raw.get("title"), at, "title", required=False) or ("", "")
        text_ = _bilingual(raw.get("text"), at, "text")
        question = _bilingual(raw.get("question"), at, "question", required=False)
        out.append(Step(view, link, step_title, text_, question))
    return Lesson(name, title, tuple(out))


def load(path: Path, pages: set[str]) -> Lesson:
    where = f"lessons/{path.name}"
    try:
        if path.stat().st_size > MAX_LESSON_BYTES:
            raise LessonError(f"{where}: larger than {MAX_LESSON_BYTES // 1000} kB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LessonError(f"{where}: cannot be read ({type(exc).__name__})") from None
    return parse(path.stem, text, pages, where)


def names(folder: Path = LESSONS_DIR) -> list[str]:
    """The lessons there are, by file name (the first lesson first)."""
    found = sorted(p.stem for p in folder.glob("*.toml") if address.NAME_RE.fullmatch(p.stem))
    return sorted(found, key=lambda n: n != "first-lesson")


# ---- in the app -----------------------------------------------------------------------------

_loaded: dict[str, tuple[int, Lesson | LessonError]] = {}  # path -> (mtime_ns, lesson or its error)


def page_paths() -> set[str]:
    from .layout import PAGES

    return {address.page_path(p.path) for p in PAGES}


def script_of(page: str) -> str:
    from .layout import PAGES

    return next(p.path for p in PAGES if address.page_path(p.path) == page)


def get(name: str) -> Lesson:
    """A shipped lesson by name, read again when its file changes. Raises LessonError."""
    path = LESSONS_DIR / f"{name}.toml"
    if not address.NAME_RE.fullmatch(name) or not path.is_file():
        raise LessonError(f"lessons/{name[:40]}.toml: no such lesson")
    mtime = path.stat().st_mtime_ns
    cached = _loaded.get(str(path))
    if cached is None or cached[0] != mtime:
        try:
            result: Lesson | LessonError = load(path, page_paths())
        except LessonError as exc:
            result = exc
        cached = (mtime, result)
        _loaded[str(path)] = cached
    if isinstance(cached[1], LessonError):
        raise cached[1]
    return cached[1]


def start(name: str, step: int, page: str, *, apply_page: bool = True) -> list[str]:
    """Open step `step` (from 1) of lesson `name`: its view, and its page on the next run.
    Returns the names of what was ignored ("lesson" when the lesson cannot be used)."""
    from . import links, session

    try:
        lesson = get(name)
    except LessonError as exc:
        session.LESSON_ERROR.set(str(exc))
        return ["lesson"]
    ignored = []
    if not 1 <= step <= len(lesson.steps):
        ignored.append("step")
        step = 1
    session.LESSON.set(name)
    session.LESSON_STEP.set(step)
    view = lesson.steps[step - 1].view
    ignored += links.apply_view(view, view["page"])
    if view["page"] != page:
        session.LESSON_GOTO.set(script_of(view["page"]))
    return ignored


def _go(step: int, page: str) -> None:
    from . import session

    name = session.LESSON.get()
    if name is not None:
        start(name, step, page)


def _leave() -> None:
    from . import session

    session.LESSON.clear()
    session.LESSON_STEP.clear()


def lesson_bar(page: str) -> None:
    """The lesson's current step above the page: counter, text, question, Previous / Next."""
    import streamlit as st

    from . import session
    from .i18n import tr

    error = session.LESSON_ERROR.pop()
    if error is not None:
        st.error(
            tr("This lesson cannot be opened: ", "이 수업을 열 수 없습니다: ") + plain(error), icon=":material/school:"
        )
    name = session.LESSON.get()
    if name is None:
        return
    try:
        lesson = get(name)
    except LessonError as exc:
        st.error(tr("This lesson cannot be opened: ", "이 수업을 열 수 없습니다: ") + plain(str(exc)))
        _leave()
        return
    k = min(max(session.LESSON_STEP.get(), 1), len(lesson.steps))
    step = lesson.steps[k - 1]
    ko = session.LANG.get() == "ko"
    pick = lambda pair: pair[1] if ko else pair[0]  # noqa: E731
    with st.container(border=True, key="lesson_bar"):
        head = tr(
            "{title} · step {k} of {n}",
            "{title} · {n}단계 중 {k}단계",
            title=pick(lesson.title),
            k=k,
            n=len(lesson.steps),
        )
        words, prev, nxt, leave = st.columns([5, 1.2, 1.2, 1.2], vertical_alignment="center")
        words.markdown(f"**{head}**" + (f" — {pick(step.title)}" if step.title[0] else ""))
        prev.button(
            tr("Previous", "이전"),
            key="lesson_prev",
            icon=":material/arrow_back:",
            disabled=k == 1,
            on_click=_go,
            args=(k - 1, page),
            width="stretch",
        )
        nxt.button(
            tr("Next", "다음"),
            key="lesson_next",
            icon=":material/arrow_forward:",
            disabled=k == len(lesson.steps),
            on_click=_go,
            args=(k + 1, page),
            width="stretch",
            type="primary",
        )
        leave.button(
            tr("Leave", "나가기"),
            key="lesson_leave",
            icon=":material/close:",
            on_click=_leave,
            width="stretch",
            type="tertiary",
            help=tr("Leave the lesson", "수업 나가기"),
        )
        st.markdown(pick(step.text))
        if step.question:
            st.info(pick(step.question), icon=":material/help:")


def lesson_list() -> None:
    """Home's "Start here": each shipped lesson, its steps, and a button that opens its first step."""
    import streamlit as st

    from .i18n import lang, tr

    ko = lang() == "ko"
    for i, name in enumerate(names()):
        try:
            lesson = get(name)
        except LessonError as exc:
            st.error(tr("This lesson cannot be opened: ", "이 수업을 열 수 없습니다: ") + plain(str(exc)))
            continue
        title = lesson.title[1] if ko else lesson.title[0]
        steps = [s.title[1] if ko else s.title[0] for s in lesson.steps]
        with st.container(border=True):
            st.markdown(f"**{title}**")
            st.markdown("\n".join(f"{k}. {t or tr('Step {k}', '{k}단계', k=k)}" for k, t in enumerate(steps, 1)))
            st.button(
                tr("Start this lesson", "이 수업 시작"),
                key=f"lesson_start_{name}",
                icon=":material/school:",
                type="primary" if i == 0 else "secondary",
                on_click=start,
                args=(name, 1, ""),
            )
