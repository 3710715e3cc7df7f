"""The live class: what students send to the board, the teacher's questions and answers, the teacher's view.

One small interface, two backends. Every replica of the app on one machine shares the SQLite file in the
models folder (`<models>/.class/store.sqlite3`, WAL mode: the default, nothing to install); replicas on
several machines share a Redis server when `VAE_EXPLORER_REDIS_URL` is set (`redis://host:6379/0`).

    store = class_store()                                   # this process's store (cached)
    sub = store.submit(board, who=secret_hash(secret), name="Mina", image=png_or_uint8_array,
                       mu=mu, sigma=sigma, label="7")       # refused with a Refused (a ValueError) and why
    store.versions(board)                                   # Versions(board=, question=, answers=, view=)
    store.submissions(board)                                # [Submission] (points; the drawing by id)
    store.start_question(board, "Click where a sandal lands", target={"class": 5})
    store.answer(board, qid, who=..., name=..., value=(0.3, -1.2))   # again to move it, until closed
    store.set_view(board, {"page": "walk", "model": "shipped:fashion-mnist", "z": [0.1, 0.2]})

**Polling for changes costs one indexed read.** Each board keeps four change counters, taken from one
counter that only ever grows (so a board that expires and starts again never repeats a number a page has
seen): `board` (submissions, clear, hide names, freeze), `question` (a question started, closed or
revealed), `answers` (any answer given or moved) and `view` (the teacher's view). A page keeps the
`Versions` it drew and asks `store.versions(board)` on a timer; only when a counter differs does it read
what changed. A student's page waits on `question` and `view`; the projector on `board` and `answers`.

**Limits are the store's**, not the pages': a few submissions a minute per student, a cap per student
and per board, one answer per student per question (moved at most `answer_changes` times, and only while
the question is open), size caps on every field; names, labels and prompts are plain text, stored as given
and checked for length and control characters (rendering them as text is the page's job). The teacher's
actions (clear, hide, freeze, questions, the view) are not guarded here: a page calls them only after the
teacher key matched (`explorer.models.teacher_key_matches`).

**A board belongs to a lesson and expires** `VAE_EXPLORER_BOARD_HOURS` (default 12) after it was opened:
then everything in it is deleted (SQLite overwrites the deleted pages; Redis expires the keys itself), and
the same id starts an empty board. `who` is always a hash of a student's browser secret
(`explorer.owner.secret_hash`), never the secret: it marks a student's own submissions and answers and is never to be shown.

Streamlit-free, so every rule is tested without a browser, on both backends.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import sqlite3
import threading
import time
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import numpy as np

from vae_core.errors import ConfigError, InputError, VAECoreError

from .owner import secret_hash  # what the store keeps of a browser secret (re-exported)

REDIS_URL_ENV = "VAE_EXPLORER_REDIS_URL"
DEFAULT_BOARD = "class"
BOARD_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
WHO_RE = re.compile(r"^[0-9a-f]{64}$")  # secret_hash(...): 64 lowercase hex digits
VIEW_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")

MAX_NAME = 30  # characters of a display name
MAX_LABEL = 40  # characters of a submission's label ("this is a 7")
MAX_PROMPT = 200  # characters of a question
MAX_CHOICES = 12  # options of a "choice" question
MAX_CHOICE = 40  # characters of one option
MAX_LATENT = 512  # entries of mu, sigma or an answer's z (VAEConfig.latent_dim's bound)
MAX_ABS = 1e3  # |mu|, sigma and |z| above this are refused as malformed
MAX_PNG_BYTES = 64 * 1024  # a drawing as sent (bytes) and as stored (re-encoded PNG)
MAX_SIDE = 128  # pixels: a drawing is the model's input size (28 x 28, 8 x 8), not a camera photo
MAX_VIEW_BYTES = 8 * 1024  # the teacher's view and a question's target, as JSON
MINUTE = 60.0
ANSWER_KINDS = ("point", "choice")  # a z on the plane, or one of the question's choices
QUESTION_STATES = ("open", "closed", "revealed")

Text = tuple[str, str]  # (English, Korean)


def _both(en: str, ko: str, /, **values) -> Text:
    """The text in both languages (explorer.i18n.both without Streamlit: the store is used by threads too)."""
    return (en.format(**values), ko.format(**values)) if values else (en, ko)


class Refused(InputError):
    """A write the store refused. str() is the English message; `.text` is (English, Korean) for the page."""

    def __init__(self, text: Text, retry_after: float | None = None) -> None:
        super().__init__(text[0])
        self.text = text
        self.retry_after = retry_after  # seconds until the same write would be accepted (rate limit)


class StoreUnavailable(VAECoreError):
    """The store cannot be reached (Redis down, SQLite file locked for too long). Says what to check."""

    def __init__(self, text: Text) -> None:
        super().__init__(text[0])
        self.text = text


# ---- what the store holds ----


class Versions(NamedTuple):
    """A board's change counters (0: never changed). Compare with the ones a page drew to know what to read."""

    board: int  # submissions, clear, hide names, freeze
    question: int  # a question started, closed or revealed
    answers: int  # an answer given or moved
    view: int  # the teacher's view


NO_VERSIONS = Versions(0, 0, 0, 0)


@dataclass(frozen=True)
class Board:
    id: str
    created: float | None  # seconds since the epoch; None: not opened (or expired)
    expires: float | None
    names_hidden: bool
    frozen: bool  # no new submissions
    versions: Versions
    question: int | None  # the current question's id


@dataclass(frozen=True)
class Submission:
    id: int
    board: str
    who: str  # secret_hash of the submitter: to mark "mine"; never shown
    name: str
    label: str | None
    mu: tuple[float, ...]
    sigma: tuple[float, ...]
    created: float

    def mine(self, who: str) -> bool:
        return self.who == who


@dataclass(frozen=True)
class Question:
    id: int
    board: str
    prompt: str
    kind: str  # "point" (a z on the plane) or "choice" (an index into choices)
    choices: tuple[str, ...]
    target: dict | None  # what the reveal shows as the true answer, e.g. {"class": 5}; the page reads it
    state: str  # "open", "closed" or "revealed"
    created: float
    answers: int  # how many students answered


@dataclass(frozen=True)
class Answer:
    question: int
    who: str
    name: str
    value: tuple[float, ...] | int  # z for a "point" question, the choice's index for a "choice" one
    updated: float


@dataclass(frozen=True)
class TeacherView:
    version: int
    view: dict  # {"page": ..., "model": ..., "z": [...], "path": [...]}: the pages decide the keys
    set_at: float


@dataclass(frozen=True)
class Limits:
    """Bounds the store keeps for every board (env: VAE_EXPLORER_BOARD_HOURS, VAE_EXPLORER_SUBMISSIONS_PER_MINUTE)."""

    board_seconds: float = 12 * 3600.0  # a board and all it holds are deleted this long after it was opened
    submissions_per_minute: int = 4  # per student and board
    submissions_per_student: int = 60  # on one board
    submissions_per_board: int = 2000
    questions_per_board: int = 100
    answer_changes: int = 30  # times one student may give or move an answer to one question

    def __post_init__(self) -> None:
        if not 0 < self.board_seconds <= 7 * 24 * 3600:
            raise ConfigError(f"a board's lifetime must be more than 0 and at most 168 hours, not {self.board_seconds}")
        for name in ("submissions_per_minute", "submissions_per_student", "submissions_per_board"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be 1 or more")
        if self.questions_per_board < 1 or self.answer_changes < 1:
            raise ConfigError("questions_per_board and answer_changes must be 1 or more")

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            board_seconds=3600.0 * _env_number("VAE_EXPLORER_BOARD_HOURS", 12.0, "hours (for example 12)"),
            submissions_per_minute=int(_env_number("VAE_EXPLORER_SUBMISSIONS_PER_MINUTE", 4, "a whole number")),
        )


def _env_number(name: str, default: float, what: str) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of {what}") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}={raw!r} must be more than 0")
    return value


# ---- checks of what comes in (shared by both backends) ----


def _refuse(en: str, ko: str, /, **values) -> Refused:
    return Refused(_both(en, ko, **values))


def check_board(board: str) -> str:
    if not isinstance(board, str) or not BOARD_RE.fullmatch(board):
        raise _refuse(
            "a board id is 1-40 letters, digits, '-' or '_', not {b}",
            "보드 이름은 영문자, 숫자, '-', '_'로 1~40자여야 합니다 ({b}는 쓸 수 없음)",
            b=repr(board)[:50],
        )
    return board


def check_who(who: str) -> str:
    if not isinstance(who, str) or not WHO_RE.fullmatch(who):
        raise InputError("who must be secret_hash(browser secret): 64 lowercase hex digits, never the secret itself")
    return who


_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # controls, invisible format marks, unassigned


def _ko(word: str) -> dict[str, str]:
    """A Korean noun with its particles chosen by its last syllable: 이름이/이름은, 선택지가/선택지는."""
    last = word[-1]
    batchim = "\uac00" <= last <= "\ud7a3" and (ord(last) - 0xAC00) % 28 != 0
    return {"ki": word + ("이" if batchim else "가"), "keun": word + ("은" if batchim else "는"), "ke": word + "에"}


def check_text(value: str | None, what: Text, max_len: int, required: bool = True) -> str | None:
    """Plain text as given: 1..max_len characters, no control or invisible formatting characters."""
    w = {"w": what[0], **_ko(what[1])}
    if value is None or (not required and value == ""):
        if required:
            raise _refuse("{w} is missing", "{ki} 비어 있습니다", **w)
        return None
    if not isinstance(value, str) or not value.strip():
        raise _refuse("{w} is empty: type some text", "{ki} 비어 있습니다: 글자를 입력하세요", **w)
    if len(value) > max_len:
        raise _refuse(
            "{w} is too long: at most {n} characters", "{ki} 너무 깁니다: {n}자까지 쓸 수 있습니다", n=max_len, **w
        )
    if any(unicodedata.category(c) in _BAD_CATEGORIES for c in value):
        raise _refuse(
            "{w} has control or invisible characters: use plain text",
            "{ke} 제어 문자나 보이지 않는 문자가 있습니다: 일반 글자만 쓰세요",
            **w,
        )
    return value


NAME = ("The display name", "표시 이름")
LABEL = ("The label", "라벨")
PROMPT = ("The question", "질문")
CHOICE = ("A choice", "선택지")


def check_vector(values: Any, what: str, positive: bool = False) -> tuple[float, ...]:
    """A latent vector (mu, sigma or z): 1..MAX_LATENT finite numbers, |v| <= MAX_ABS (sigma > 0)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise _refuse("{w} is not a list of numbers", "{w}가 숫자 목록이 아닙니다", w=what) from None
    if arr.ndim != 1 or not 1 <= arr.size <= MAX_LATENT:
        raise _refuse(
            "{w} must be one list of 1 to {n} numbers", "{w}는 숫자 1~{n}개의 목록이어야 합니다", w=what, n=MAX_LATENT
        )
    if not np.all(np.isfinite(arr)) or np.any(np.abs(arr) > MAX_ABS) or (positive and np.any(arr <= 0)):
        bound = "0 < σ ≤ {m:g}" if positive else "|v| ≤ {m:g}"
        raise _refuse(
            "{w} has a value out of range: each must be finite and " + bound,
            "{w}에 범위를 벗어난 값이 있습니다: 모두 유한하고 " + bound + "이어야 합니다",
            w=what,
            m=MAX_ABS,
        )
    return tuple(float(v) for v in arr)


def check_image(image: bytes | np.ndarray) -> bytes:
    """A drawing as PNG bytes or a uint8 array (H, W) / (H, W, 1|3|4), at most MAX_SIDE a side; re-encoded
    as a PNG without any of the sender's metadata."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        if len(data) > MAX_PNG_BYTES:
            raise _refuse(
                "the drawing is too large: at most {k} KB as a PNG",
                "그림이 너무 큽니다: PNG로 {k} KB까지 보낼 수 있습니다",
                k=MAX_PNG_BYTES // 1024,
            )
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            raise _refuse("the drawing is not a PNG image", "그림이 PNG 이미지가 아닙니다")
        try:
            with Image.open(io.BytesIO(data)) as img:
                if max(img.size) > MAX_SIDE:  # known from the header, before any pixel is decoded
                    raise _too_big(img.size)
                img.load()
                arr = np.asarray(img.convert("RGBA" if "A" in img.getbands() else "RGB" if img.mode != "L" else "L"))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            if isinstance(exc, Refused):
                raise
            raise _refuse("the drawing is a broken PNG image", "그림 PNG 파일이 손상되었습니다") from None
    elif isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
            raise _refuse(
                "the drawing must be a uint8 array of shape (H, W) or (H, W, 1|3|4)",
                "그림은 (H, W) 또는 (H, W, 1|3|4) 모양의 uint8 배열이어야 합니다",
            )
        if min(image.shape[:2]) < 1 or max(image.shape[:2]) > MAX_SIDE:
            raise _too_big(image.shape[1::-1])
        arr = image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
    else:
        raise _refuse("the drawing must be PNG bytes or a uint8 array", "그림은 PNG 바이트나 uint8 배열이어야 합니다")
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr)).save(out, format="PNG", optimize=False)
    return out.getvalue()


def _too_big(size) -> Refused:
    return _refuse(
        "the drawing is {w}×{h} pixels: send the model's input size, at most {m}×{m}",
        "그림이 {w}×{h} 픽셀입니다: 모델 입력 크기로, {m}×{m}까지 보내세요",
        w=size[0],
        h=size[1],
        m=MAX_SIDE,
    )


def check_small_json(value: Any, what: Text, max_bytes: int = MAX_VIEW_BYTES) -> str:
    """A dict of plain values (numbers, booleans, None, short plain text, lists of those, nested up to 3 deep),
    as JSON of at most max_bytes."""

    def ok(v: Any, depth: int) -> bool:
        if v is None or isinstance(v, bool):
            return True
        if isinstance(v, (int, float)):
            return math.isfinite(v)
        if isinstance(v, str):
            return len(v) <= 200 and not any(unicodedata.category(c) in _BAD_CATEGORIES for c in v)
        if isinstance(v, (list, tuple)):
            return depth < 3 and all(ok(x, depth + 1) for x in v)
        if isinstance(v, Mapping):
            return (
                depth < 3
                and all(isinstance(k, str) and VIEW_KEY_RE.fullmatch(k) for k in v)
                and all(ok(x, depth + 1) for x in v.values())
            )
        return False

    if not isinstance(value, Mapping) or not ok(value, 0):
        raise _refuse(
            "{w} must be a small dict of numbers, short texts and lists of them",
            "{keun} 숫자, 짧은 글, 그 목록으로 된 작은 dict여야 합니다",
            w=what[0],
            **_ko(what[1]),
        )
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    if len(text.encode()) > max_bytes:
        raise _refuse(
            "{w} is too large: at most {n} bytes as JSON",
            "{ki} 너무 큽니다: JSON으로 {n}바이트까지입니다",
            w=what[0],
            n=max_bytes,
            **_ko(what[1]),
        )
    return text


VIEW = ("The teacher's view", "교사 화면")
TARGET = ("The question's answer", "질문의 정답")


def _refusal(code: str, limits: Limits, retry_after: float | None = None) -> Refused:
    """The message of a refusal a backend reports by code (the same for both backends)."""
    if code == "rate":
        return Refused(
            _both(
                "at most {n} drawings a minute: wait {s} s and send again",
                "1분에 그림을 {n}개까지 보낼 수 있습니다: {s}초 뒤에 다시 보내세요",
                n=limits.submissions_per_minute,
                s=max(1, math.ceil(retry_after or 0)),
            ),
            retry_after=retry_after,
        )
    texts = {
        "frozen": (
            "the teacher froze the board: nothing new can be sent now",
            "교사가 보드를 고정했습니다: 지금은 보낼 수 없습니다",
        ),
        "student_cap": (
            "you have sent the most drawings one student may send to this board ({n})",
            "이 보드에 한 학생이 보낼 수 있는 그림을 모두 보냈습니다 ({n}개)",
        ),
        "board_cap": (
            "the board is full ({n} drawings): ask the teacher to clear it",
            "보드가 가득 찼습니다 (그림 {n}개): 교사에게 보드를 비워 달라고 하세요",
        ),
        "questions_cap": (
            "this board has had the most questions it may have ({n}): start a new lesson",
            "이 보드의 질문 수가 한도({n}개)에 이르렀습니다: 새 수업을 시작하세요",
        ),
        "no_question": ("there is no such question on this board", "이 보드에 그런 질문이 없습니다"),
        "closed": ("the teacher has closed this question", "교사가 이 질문을 마감했습니다"),
        "changes": (
            "you have moved your answer the most times allowed ({n})",
            "답을 옮길 수 있는 횟수({n}번)를 모두 썼습니다",
        ),
        "revealed": ("this question is already revealed", "이 질문은 이미 공개되었습니다"),
    }
    n = {
        "student_cap": limits.submissions_per_student,
        "board_cap": limits.submissions_per_board,
        "questions_cap": limits.questions_per_board,
        "changes": limits.answer_changes,
    }.get(code, 0)
    en, ko = texts[code]
    return Refused(_both(en, ko, n=n))


# ---- the interface ----


class ClassStore(ABC):
    """The class's live state, shared by every replica. Methods validate, then the backend stores atomically."""

    backend = "?"

    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] = time.time) -> None:
        self.limits = limits or Limits.from_env()
        self.clock = clock  # seconds since the epoch; tests move it to expire boards

    # -- the cheap question every live page asks --

    @abstractmethod
    def versions(self, board: str) -> Versions:
        """The board's change counters: one indexed read (NO_VERSIONS for a board never opened or expired)."""

    def changed(self, board: str, seen: Versions | None) -> Versions | None:
        """The new counters if anything changed since `seen`, else None."""
        now = self.versions(board)
        return None if now == seen else now

    # -- boards --

    @abstractmethod
    def board(self, board: str) -> Board: ...

    @abstractmethod
    def open_board(self, board: str) -> Board:
        """The board, opened now if it was not (its lifetime starts then)."""

    @abstractmethod
    def clear(self, board: str) -> None:
        """Remove every submission (questions, answers and the view stay)."""

    @abstractmethod
    def set_names_hidden(self, board: str, hidden: bool) -> None: ...

    @abstractmethod
    def set_frozen(self, board: str, frozen: bool) -> None:
        """A frozen board refuses new submissions."""

    @abstractmethod
    def delete_board(self, board: str) -> None:
        """Everything of the board, now (the end of a lesson); the id starts afresh."""

    # -- submissions --

    def submit(
        self,
        board: str,
        *,
        who: str,
        name: str,
        image: bytes | np.ndarray,
        mu: Sequence[float],
        sigma: Sequence[float],
        label: str | None = None,
    ) -> Submission:
        """Send a drawing with its posterior to the board; raises Refused (frozen, rate, caps, malformed)."""
        check_board(board)
        check_who(who)
        check_text(name, NAME, MAX_NAME)
        check_text(label, LABEL, MAX_LABEL, required=False)
        label = label or None
        mu_t, sigma_t = check_vector(mu, "μ"), check_vector(sigma, "σ", positive=True)
        if len(mu_t) != len(sigma_t):
            raise _refuse("μ and σ must have the same length", "μ와 σ의 길이가 같아야 합니다")
        png = check_image(image)
        sub = Submission(0, board, who, name, label, mu_t, sigma_t, self.clock())
        return self._submit(sub, png)

    @abstractmethod
    def _submit(self, sub: Submission, png: bytes) -> Submission: ...

    @abstractmethod
    def submissions(self, board: str, after: int = 0) -> list[Submission]:
        """The board's submissions with id > after, oldest first (without their drawings)."""

    @abstractmethod
    def drawing(self, board: str, submission: int) -> bytes | None:
        """A submission's drawing as PNG bytes (None when it is gone)."""

    # -- questions and answers --

    def start_question(
        self,
        board: str,
        prompt: str,
        kind: str = "point",
        choices: Sequence[str] = (),
        target: Mapping | None = None,
    ) -> Question:
        """Ask the class; the board's current question (if open) is closed."""
        check_board(board)
        check_text(prompt, PROMPT, MAX_PROMPT)
        if kind not in ANSWER_KINDS:
            raise _refuse("an answer kind is one of {k}", "답의 종류는 {k} 중 하나입니다", k=", ".join(ANSWER_KINDS))
        choices = tuple(choices)
        if kind == "choice" and not 2 <= len(choices) <= MAX_CHOICES:
            raise _refuse(
                "a choice question has 2 to {n} choices", "선택형 질문의 선택지는 2~{n}개입니다", n=MAX_CHOICES
            )
        if kind == "point" and choices:
            raise _refuse("a point question has no choices", "위치 질문에는 선택지가 없습니다")
        for c in choices:
            check_text(c, CHOICE, MAX_CHOICE)
        if target is not None:
            check_small_json(target, TARGET)
        q = Question(
            0, board, prompt, kind, choices, dict(target) if target is not None else None, "open", self.clock(), 0
        )
        return self._start_question(q)

    @abstractmethod
    def _start_question(self, q: Question) -> Question: ...

    @abstractmethod
    def question(self, board: str, question: int | None = None) -> Question | None:
        """A question of the board (the current one when `question` is None)."""

    @abstractmethod
    def questions(self, board: str) -> list[Question]:
        """Every question of the board, oldest first."""

    def close_question(self, board: str, question: int) -> Question:
        """No more answers; they stay hidden until revealed."""
        return self._set_question_state(check_board(board), int(question), "closed")

    def reveal_question(self, board: str, question: int) -> Question:
        """Closed, and every answer shown on the projector."""
        return self._set_question_state(check_board(board), int(question), "revealed")

    @abstractmethod
    def _set_question_state(self, board: str, question: int, state: str) -> Question: ...

    def answer(self, board: str, question: int, *, who: str, name: str, value: Any) -> Answer:
        """A student's answer (a z, or a choice's index); given again, it moves the same answer."""
        check_board(board)
        check_who(who)
        check_text(name, NAME, MAX_NAME)
        q = self.question(board, int(question))
        if q is None:
            raise _refusal("no_question", self.limits)
        if q.kind == "choice":
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < len(q.choices):
                raise _refuse("choose one of the {n} choices", "{n}개 선택지 중 하나를 고르세요", n=len(q.choices))
            value = int(value)
        else:
            value = check_vector(value, "z")
        return self._answer(Answer(q.id, who, name, value, self.clock()), board)

    @abstractmethod
    def _answer(self, a: Answer, board: str) -> Answer: ...

    @abstractmethod
    def answers(self, board: str, question: int) -> list[Answer]:
        """Every student's answer to a question, in the order they were first given."""

    # -- the teacher's view --

    def set_view(self, board: str, view: Mapping | None) -> int:
        """Send the teacher's view to every student (None: stop); returns its version."""
        check_board(board)
        text = None if view is None else check_small_json(view, VIEW)
        return self._set_view(board, text)

    @abstractmethod
    def _set_view(self, board: str, view_json: str | None) -> int: ...

    @abstractmethod
    def view(self, board: str) -> TeacherView | None:
        """The teacher's current view, or None when the teacher sends none."""

    # -- the rest --

    def snapshot(self, board: str, with_drawings: bool = True) -> dict:
        """The board as JSON-able data (the teacher's download): submissions (names blanked when hidden,
        drawings as PNG in base64), questions and their answers, without any `who`."""
        import base64

        b = self.board(board)
        subs = []
        for s in self.submissions(board):
            entry = {k: v for k, v in asdict(s).items() if k not in ("who", "board")}
            if b.names_hidden:
                entry["name"] = None
            if with_drawings:
                png = self.drawing(board, s.id)
                entry["png_base64"] = base64.b64encode(png).decode() if png else None
            subs.append(entry)
        questions = []
        for q in self.questions(board):
            entry = {k: v for k, v in asdict(q).items() if k != "board"}
            entry["answers_given"] = [
                {"name": None if b.names_hidden else a.name, "value": a.value, "updated": a.updated}
                for a in self.answers(board, q.id)
            ]
            questions.append(entry)
        return {
            "board": board,
            "created": b.created,
            "expires": b.expires,
            "names_hidden": b.names_hidden,
            "submissions": subs,
            "questions": questions,
        }

    @abstractmethod
    def purge_expired(self) -> int:
        """Delete every expired board now; returns how many. (Also done by itself: see each backend.)"""

    @abstractmethod
    def close(self) -> None: ...


# ---- SQLite: the default, in the models folder ----

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('seq', 0);
CREATE TABLE IF NOT EXISTS boards (
    id TEXT PRIMARY KEY, created REAL NOT NULL, expires REAL NOT NULL,
    names_hidden INTEGER NOT NULL DEFAULT 0, frozen INTEGER NOT NULL DEFAULT 0,
    v_board INTEGER NOT NULL DEFAULT 0, v_question INTEGER NOT NULL DEFAULT 0,
    v_answers INTEGER NOT NULL DEFAULT 0, v_view INTEGER NOT NULL DEFAULT 0,
    view TEXT, view_at REAL, question INTEGER, questions INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY, board TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    who TEXT NOT NULL, name TEXT NOT NULL, label TEXT, mu TEXT NOT NULL, sigma TEXT NOT NULL,
    png BLOB NOT NULL, created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_by_board ON submissions(board, id);
CREATE INDEX IF NOT EXISTS submissions_by_who ON submissions(board, who);
CREATE TABLE IF NOT EXISTS sends (
    board TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE, who TEXT NOT NULL, t REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sends_by_who ON sends(board, who, t);
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY, board TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    prompt TEXT NOT NULL, kind TEXT NOT NULL, choices TEXT NOT NULL, target TEXT,
    state TEXT NOT NULL, created REAL NOT NULL, answers INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS questions_by_board ON questions(board, id);
CREATE TABLE IF NOT EXISTS answers (
    question INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE, who TEXT NOT NULL,
    name TEXT NOT NULL, value TEXT NOT NULL, first REAL NOT NULL, updated REAL NOT NULL,
    changes INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (question, who)
);
"""


def sqlite_path(models_folder: str | Path) -> Path:
    return Path(models_folder) / ".class" / "store.sqlite3"


class SQLiteStore(ClassStore):
    """One SQLite file (WAL) shared by every process on the machine; one reading and one writing connection
    per process, each used by one thread at a time."""

    backend = "sqlite"

    def __init__(self, path: str | Path, limits: Limits | None = None, clock: Callable[[], float] = time.time) -> None:
        super().__init__(limits, clock)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._read_lock, self._write_lock = threading.Lock(), threading.Lock()
        self._pid = -1
        self._connect()
        self._purge_at = 0.0  # when versions() next deletes expired boards (it is what idle pages call)

    def _connect(self) -> None:
        def connect() -> sqlite3.Connection:
            con = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA busy_timeout = 10000")
            con.execute("PRAGMA foreign_keys = ON")
            return con

        with self._errors():
            self._w = connect()
            self._w.execute("PRAGMA journal_mode = WAL")  # persistent: readers never wait for the writer
            self._w.execute("PRAGMA synchronous = FULL")  # an acknowledged write survives a power cut too
            self._w.execute("PRAGMA secure_delete = ON")  # deleted drawings are overwritten, not left in free pages
            self._w.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
            self._r = connect()
            self._r.execute("PRAGMA query_only = ON")
        self._pid = os.getpid()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreUnavailable(
                _both(
                    "the class board's store could not be used ({e}); try again in a moment",
                    "반 보드 저장소를 쓸 수 없습니다 ({e}): 잠시 뒤에 다시 해 보세요",
                    e=type(exc).__name__,
                )
            ) from exc

    def _fork_check(self) -> None:
        if self._pid != os.getpid():  # a forked child must not share the parent's connections
            self._connect()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the database's write lock at once (no deadlocked upgrades)."""
        with self._write_lock:
            con = self._w
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    @contextmanager
    def _write(self, board: str) -> Iterator[tuple[sqlite3.Connection, float]]:
        """A write to `board`, which is opened if needed; expired boards go first."""
        self._fork_check()
        purged = False
        with self._errors():
            with self._tx() as con:
                now = self.clock()
                purged = con.execute("DELETE FROM boards WHERE expires <= ?", (now,)).rowcount > 0
                con.execute(
                    "INSERT OR IGNORE INTO boards (id, created, expires) VALUES (?, ?, ?)",
                    (board, now, now + self.limits.board_seconds),
                )
                yield con, now
            if purged:  # drawings of an expired board must not linger in the write-ahead log either
                self._w.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _bump(self, con: sqlite3.Connection, board: str, column: str) -> int:
        (v,) = con.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value").fetchone()
        con.execute(f"UPDATE boards SET {column} = ? WHERE id = ?", (v, board))
        return v

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        self._fork_check()
        with self._errors(), self._read_lock:
            return self._r.execute(sql, args).fetchall()

    def purge_expired(self) -> int:
        self._fork_check()
        with self._errors():
            with self._tx() as con:
                n = con.execute("DELETE FROM boards WHERE expires <= ?", (self.clock(),)).rowcount
            if n:
                self._w.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    def versions(self, board: str) -> Versions:
        now = time.monotonic()
        if now >= self._purge_at:  # at most once a minute: an idle server forgets a lesson on time too
            self._purge_at = now + MINUTE
            self.purge_expired()
        rows = self._read(
            "SELECT v_board, v_question, v_answers, v_view FROM boards WHERE id = ? AND expires > ?",
            (board, self.clock()),
        )
        return Versions(*rows[0]) if rows else NO_VERSIONS

    def board(self, board: str) -> Board:
        rows = self._read(
            "SELECT created, expires, names_hidden, frozen, v_board, v_question, v_answers, v_view, question "
            "FROM boards WHERE id = ? AND expires > ?",
            (check_board(board), self.clock()),
        )
        if not rows:
            return Board(board, None, None, False, False, NO_VERSIONS, None)
        c, e, hidden, frozen, vb, vq, va, vv, q = rows[0]
        return Board(board, c, e, bool(hidden), bool(frozen), Versions(vb, vq, va, vv), q)

    def open_board(self, board: str) -> Board:
        with self._write(check_board(board)):
            pass
        return self.board(board)

    def _teacher_set(self, board: str, column: str, value: int) -> None:
        with self._write(check_board(board)) as (con, _):
            con.execute(f"UPDATE boards SET {column} = ? WHERE id = ?", (value, board))
            self._bump(con, board, "v_board")

    def set_names_hidden(self, board: str, hidden: bool) -> None:
        self._teacher_set(board, "names_hidden", int(bool(hidden)))

    def set_frozen(self, board: str, frozen: bool) -> None:
        self._teacher_set(board, "frozen", int(bool(frozen)))

    def clear(self, board: str) -> None:
        with self._write(check_board(board)) as (con, _):
            con.execute("DELETE FROM submissions WHERE board = ?", (board,))
            self._bump(con, board, "v_board")

    def delete_board(self, board: str) -> None:
        self._fork_check()
        with self._errors():
            with self._tx() as con:
                con.execute("DELETE FROM boards WHERE id = ?", (check_board(board),))
            self._w.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _submit(self, sub: Submission, png: bytes) -> Submission:
        lim = self.limits
        with self._write(sub.board) as (con, now):
            (frozen,) = con.execute("SELECT frozen FROM boards WHERE id = ?", (sub.board,)).fetchone()
            if frozen:
                raise _refusal("frozen", lim)
            con.execute("DELETE FROM sends WHERE board = ? AND t <= ?", (sub.board, now - MINUTE))
            recent = [
                t for (t,) in con.execute("SELECT t FROM sends WHERE board = ? AND who = ?", (sub.board, sub.who))
            ]
            if len(recent) >= lim.submissions_per_minute:
                raise _refusal("rate", lim, retry_after=min(recent) + MINUTE - now)
            (mine,) = con.execute(
                "SELECT count(*) FROM submissions WHERE board = ? AND who = ?", (sub.board, sub.who)
            ).fetchone()
            if mine >= lim.submissions_per_student:
                raise _refusal("student_cap", lim)
            (total,) = con.execute("SELECT count(*) FROM submissions WHERE board = ?", (sub.board,)).fetchone()
            if total >= lim.submissions_per_board:
                raise _refusal("board_cap", lim)
            cur = con.execute(
                "INSERT INTO submissions (board, who, name, label, mu, sigma, png, created) VALUES (?,?,?,?,?,?,?,?)",
                (sub.board, sub.who, sub.name, sub.label, json.dumps(sub.mu), json.dumps(sub.sigma), png, now),
            )
            con.execute("INSERT INTO sends VALUES (?, ?, ?)", (sub.board, sub.who, now))
            self._bump(con, sub.board, "v_board")
            return Submission(cur.lastrowid, sub.board, sub.who, sub.name, sub.label, sub.mu, sub.sigma, now)

    def submissions(self, board: str, after: int = 0) -> list[Submission]:
        rows = self._read(
            "SELECT s.id, s.who, s.name, s.label, s.mu, s.sigma, s.created FROM submissions s "
            "JOIN boards b ON b.id = s.board WHERE s.board = ? AND s.id > ? AND b.expires > ? ORDER BY s.id",
            (check_board(board), int(after), self.clock()),
        )
        return [
            Submission(i, board, who, name, label, tuple(json.loads(mu)), tuple(json.loads(sg)), t)
            for i, who, name, label, mu, sg, t in rows
        ]

    def drawing(self, board: str, submission: int) -> bytes | None:
        rows = self._read(
            "SELECT s.png FROM submissions s JOIN boards b ON b.id = s.board "
            "WHERE s.id = ? AND s.board = ? AND b.expires > ?",
            (int(submission), check_board(board), self.clock()),
        )
        return bytes(rows[0][0]) if rows else None

    def _start_question(self, q: Question) -> Question:
        with self._write(q.board) as (con, now):
            (n,) = con.execute("SELECT questions FROM boards WHERE id = ?", (q.board,)).fetchone()
            if n >= self.limits.questions_per_board:
                raise _refusal("questions_cap", self.limits)
            con.execute("UPDATE questions SET state = 'closed' WHERE board = ? AND state = 'open'", (q.board,))
            cur = con.execute(
                "INSERT INTO questions (board, prompt, kind, choices, target, state, created) VALUES (?,?,?,?,?,?,?)",
                (q.board, q.prompt, q.kind, json.dumps(q.choices), _dump(q.target), "open", now),
            )
            con.execute(
                "UPDATE boards SET question = ?, questions = questions + 1 WHERE id = ?", (cur.lastrowid, q.board)
            )
            self._bump(con, q.board, "v_question")
        return self.question(q.board, cur.lastrowid)

    _Q = "SELECT q.id, q.prompt, q.kind, q.choices, q.target, q.state, q.created, q.answers FROM questions q "

    def _question_rows(self, board: str, where: str, args: tuple) -> list[Question]:
        rows = self._read(
            self._Q + "JOIN boards b ON b.id = q.board WHERE q.board = ? AND b.expires > ? " + where,
            (check_board(board), self.clock(), *args),
        )
        return [
            Question(i, board, p, k, tuple(json.loads(c)), json.loads(t) if t else None, s, created, n)
            for i, p, k, c, t, s, created, n in rows
        ]

    def question(self, board: str, question: int | None = None) -> Question | None:
        if question is None:
            found = self._question_rows(board, "AND q.id = b.question", ())
        else:
            found = self._question_rows(board, "AND q.id = ?", (int(question),))
        return found[0] if found else None

    def questions(self, board: str) -> list[Question]:
        return self._question_rows(board, "ORDER BY q.id", ())

    def _set_question_state(self, board: str, question: int, state: str) -> Question:
        with self._write(board) as (con, _):
            row = con.execute("SELECT state FROM questions WHERE id = ? AND board = ?", (question, board)).fetchone()
            if row is None:
                raise _refusal("no_question", self.limits)
            if row[0] == "revealed":
                raise _refusal("revealed", self.limits)
            con.execute("UPDATE questions SET state = ? WHERE id = ?", (state, question))
            self._bump(con, board, "v_question")
        return self.question(board, question)

    def _answer(self, a: Answer, board: str) -> Answer:
        value = json.dumps(a.value)
        with self._write(board) as (con, now):
            row = con.execute("SELECT state FROM questions WHERE id = ? AND board = ?", (a.question, board)).fetchone()
            if row is None:
                raise _refusal("no_question", self.limits)
            if row[0] != "open":
                raise _refusal("closed", self.limits)
            old = con.execute(
                "SELECT changes FROM answers WHERE question = ? AND who = ?", (a.question, a.who)
            ).fetchone()
            if old is None:
                con.execute(
                    "INSERT INTO answers (question, who, name, value, first, updated) VALUES (?,?,?,?,?,?)",
                    (a.question, a.who, a.name, value, now, now),
                )
                con.execute("UPDATE questions SET answers = answers + 1 WHERE id = ?", (a.question,))
            elif old[0] >= self.limits.answer_changes:
                raise _refusal("changes", self.limits)
            else:
                con.execute(
                    "UPDATE answers SET name = ?, value = ?, updated = ?, changes = changes + 1 "
                    "WHERE question = ? AND who = ?",
                    (a.name, value, now, a.question, a.who),
                )
            self._bump(con, board, "v_answers")
        return Answer(a.question, a.who, a.name, a.value, now)

    def answers(self, board: str, question: int) -> list[Answer]:
        rows = self._read(
            "SELECT a.who, a.name, a.value, a.updated FROM answers a JOIN questions q ON q.id = a.question "
            "JOIN boards b ON b.id = q.board WHERE a.question = ? AND q.board = ? AND b.expires > ? ORDER BY a.first",
            (int(question), check_board(board), self.clock()),
        )
        return [Answer(int(question), who, name, _value(json.loads(v)), t) for who, name, v, t in rows]

    def _set_view(self, board: str, view_json: str | None) -> int:
        with self._write(board) as (con, now):
            con.execute("UPDATE boards SET view = ?, view_at = ? WHERE id = ?", (view_json, now, board))
            return self._bump(con, board, "v_view")

    def view(self, board: str) -> TeacherView | None:
        rows = self._read(
            "SELECT v_view, view, view_at FROM boards WHERE id = ? AND expires > ?", (check_board(board), self.clock())
        )
        if not rows or rows[0][1] is None:
            return None
        v, text, at = rows[0]
        return TeacherView(v, json.loads(text), at)

    def close(self) -> None:
        for con in (getattr(self, "_r", None), getattr(self, "_w", None)):
            if con is not None:
                con.close()


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _value(v: Any) -> tuple[float, ...] | int:
    return tuple(v) if isinstance(v, list) else int(v)


# ---- Redis: for replicas on several machines ----

# Every script gets the same keys: the board's hash, its six other keys, then the store's counter.
_PARTS = ("subs", "png", "count", "recent", "q", "ans")

# Opens the board (deleting it first if it expired by the store's clock); leaves its state in `b_*` locals.
_LUA_OPEN = """
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local function bump(field)
  local v = redis.call('INCR', KEYS[8])
  redis.call('HSET', KEYS[1], field, v)
  return v
end
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires') or '0')
if expires > 0 and expires <= now then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
  expires = 0
end
if expires == 0 then
  expires = now + ttl
  redis.call('HSET', KEYS[1], 'created', ARGV[1], 'expires', tostring(expires), 'hidden', 0, 'frozen', 0,
             'vb', 0, 'vq', 0, 'va', 0, 'vv', 0, 'nq', 0)
end
local function keep()
  local at = math.floor(expires * 1000)
  for i = 1, 7 do redis.call('PEXPIREAT', KEYS[i], at) end
end
"""

_LUA_SUBMIT = (
    _LUA_OPEN
    + """
local who, per_minute, per_student, per_board = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('HGET', KEYS[1], 'frozen') == '1' then return {'frozen'} end
local recent, kept = cjson.decode(redis.call('HGET', KEYS[5], who) or '[]'), {}
for _, t in ipairs(recent) do if t > now - 60 then table.insert(kept, t) end end
if #kept >= per_minute then
  local oldest = kept[1]
  for _, t in ipairs(kept) do if t < oldest then oldest = t end end
  return {'rate', tostring(oldest + 60 - now)}
end
if tonumber(redis.call('HGET', KEYS[4], who) or '0') >= per_student then return {'student_cap'} end
if redis.call('HLEN', KEYS[2]) >= per_board then return {'board_cap'} end
local id = redis.call('INCR', KEYS[8])
redis.call('HSET', KEYS[2], id, ARGV[7])
redis.call('HSET', KEYS[3], id, ARGV[8])
redis.call('HINCRBY', KEYS[4], who, 1)
table.insert(kept, now)
redis.call('HSET', KEYS[5], who, cjson.encode(kept))
bump('vb')
keep()
return {'ok', tostring(id)}
"""
)

_LUA_TEACHER = (
    _LUA_OPEN
    + """
local op = ARGV[3]
local v = 0
if op == 'hidden' or op == 'frozen' then
  redis.call('HSET', KEYS[1], op, ARGV[4])
  v = bump('vb')
elseif op == 'clear' then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  v = bump('vb')
elseif op == 'view' then
  if ARGV[4] == '' then redis.call('HDEL', KEYS[1], 'view') else redis.call('HSET', KEYS[1], 'view', ARGV[4]) end
  redis.call('HSET', KEYS[1], 'view_at', ARGV[1])
  v = bump('vv')
end
keep()
return {'ok', tostring(v)}
"""
)

_LUA_QUESTION = (
    _LUA_OPEN
    + """
if tonumber(redis.call('HGET', KEYS[1], 'nq')) >= tonumber(ARGV[3]) then return {'questions_cap'} end
local current = redis.call('HGET', KEYS[1], 'cq')
if current and redis.call('HGET', KEYS[6], current .. ':state') == 'open' then
  redis.call('HSET', KEYS[6], current .. ':state', 'closed')
end
local id = redis.call('INCR', KEYS[8])
redis.call('HSET', KEYS[6], id, ARGV[4], id .. ':state', 'open', id .. ':n', 0)
redis.call('HSET', KEYS[1], 'cq', id)
redis.call('HINCRBY', KEYS[1], 'nq', 1)
bump('vq')
keep()
return {'ok', tostring(id)}
"""
)

_LUA_QSTATE = (
    _LUA_OPEN
    + """
local state = redis.call('HGET', KEYS[6], ARGV[3] .. ':state')
if not state then return {'no_question'} end
if state == 'revealed' then return {'revealed'} end
redis.call('HSET', KEYS[6], ARGV[3] .. ':state', ARGV[4])
bump('vq')
keep()
return {'ok', '0'}
"""
)

_LUA_ANSWER = (
    _LUA_OPEN
    + """
local q, who = ARGV[3], ARGV[4]
local state = redis.call('HGET', KEYS[6], q .. ':state')
if not state then return {'no_question'} end
if state ~= 'open' then return {'closed'} end
local changes = tonumber(redis.call('HGET', KEYS[7], q .. ':' .. who .. ':c') or '0')
if changes >= tonumber(ARGV[6]) then return {'changes'} end
if changes == 0 then
  redis.call('HINCRBY', KEYS[6], q .. ':n', 1)
  redis.call('HSET', KEYS[7], q .. ':' .. who .. ':f', ARGV[1])
end
redis.call('HSET', KEYS[7], q .. ':' .. who, ARGV[5], q .. ':' .. who .. ':c', changes + 1)
bump('va')
keep()
return {'ok', '0'}
"""
)


def redacted(url: str) -> str:
    """A Redis URL without its password (safe to print)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    return parts._replace(
        netloc=f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    ).geturl()


def check_redis_url(url: str) -> str:
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            f"{REDIS_URL_ENV}={redacted(url)!r} is not a Redis URL: use redis://host:6379/0 (or rediss://, unix://)"
        )
    return url


class RedisStore(ClassStore):
    """The store on a Redis server: every write is one Lua script (atomic across every replica); keys expire
    with their board, so Redis deletes a finished lesson by itself."""

    backend = "redis"

    def __init__(
        self,
        url: str,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.time,
        prefix: str = "vae-explorer:",
    ) -> None:
        import redis

        super().__init__(limits, clock)
        self.url = check_redis_url(url)
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30)
        self._scripts = {
            name: self._redis.register_script(src)
            for name, src in {
                "submit": _LUA_SUBMIT,
                "teacher": _LUA_TEACHER,
                "question": _LUA_QUESTION,
                "qstate": _LUA_QSTATE,
                "answer": _LUA_ANSWER,
            }.items()
        }

    @contextmanager
    def _errors(self) -> Iterator[None]:
        import redis

        try:
            yield
        except redis.RedisError as exc:
            raise StoreUnavailable(
                _both(
                    "the class board's Redis server cannot be reached ({e}): ask the teacher to check {v}",
                    "반 보드의 Redis 서버에 연결할 수 없습니다 ({e}): 교사에게 {v} 설정을 확인해 달라고 하세요",
                    e=type(exc).__name__,
                    v=REDIS_URL_ENV,
                )
            ) from exc

    def _keys(self, board: str) -> list[str]:
        base = f"{self.prefix}b:{board}"
        return [base, *(f"{base}:{p}" for p in _PARTS), f"{self.prefix}seq"]

    def _run(self, script: str, board: str, *args: Any) -> int:
        now = self.clock()
        with self._errors():
            result = self._scripts[script](
                keys=self._keys(board), args=[repr(now), repr(self.limits.board_seconds), *args]
            )
        code = result[0].decode()
        if code != "ok":
            raise _refusal(code, self.limits, float(result[1]) if len(result) > 1 else None)
        return int(result[1])

    def _live(self, board: str, fields: Sequence[str]) -> list[bytes | None] | None:
        """The board hash's fields, or None if it is not open; a board expired by the store's clock is deleted."""
        keys = self._keys(check_board(board))
        with self._errors():
            values = self._redis.hmget(keys[0], ["expires", *fields])
            if values[0] is None:
                return None
            if float(values[0]) <= self.clock():
                self._redis.delete(*keys[:7])
                return None
        return values[1:]

    def versions(self, board: str) -> Versions:
        values = self._live(board, ("vb", "vq", "va", "vv"))
        return Versions(*(int(v) for v in values)) if values else NO_VERSIONS

    def board(self, board: str) -> Board:
        values = self._live(board, ("created", "hidden", "frozen", "vb", "vq", "va", "vv", "cq", "expires"))
        if values is None:
            return Board(board, None, None, False, False, NO_VERSIONS, None)
        created, hidden, frozen, vb, vq, va, vv, cq, expires = values
        return Board(
            board,
            float(created),
            float(expires),
            hidden == b"1",
            frozen == b"1",
            Versions(int(vb), int(vq), int(va), int(vv)),
            int(cq) if cq else None,
        )

    def open_board(self, board: str) -> Board:
        self._run("teacher", check_board(board), "open")
        return self.board(board)

    def set_names_hidden(self, board: str, hidden: bool) -> None:
        self._run("teacher", check_board(board), "hidden", int(bool(hidden)))

    def set_frozen(self, board: str, frozen: bool) -> None:
        self._run("teacher", check_board(board), "frozen", int(bool(frozen)))

    def clear(self, board: str) -> None:
        self._run("teacher", check_board(board), "clear")

    def delete_board(self, board: str) -> None:
        with self._errors():
            self._redis.delete(*self._keys(check_board(board))[:7])

    def _submit(self, sub: Submission, png: bytes) -> Submission:
        lim = self.limits
        meta = {
            "who": sub.who,
            "name": sub.name,
            "label": sub.label,
            "mu": sub.mu,
            "sigma": sub.sigma,
            "t": sub.created,
        }
        sid = self._run(
            "submit",
            sub.board,
            sub.who,
            lim.submissions_per_minute,
            lim.submissions_per_student,
            lim.submissions_per_board,
            json.dumps(meta, ensure_ascii=False),
            png,
        )
        return Submission(sid, sub.board, sub.who, sub.name, sub.label, sub.mu, sub.sigma, sub.created)

    def submissions(self, board: str, after: int = 0) -> list[Submission]:
        if self._live(board, ()) is None:
            return []
        with self._errors():
            raw = self._redis.hgetall(self._keys(board)[1])
        subs = []
        for k, v in raw.items():
            i = int(k)
            if i > after:
                m = json.loads(v)
                subs.append(
                    Submission(i, board, m["who"], m["name"], m["label"], tuple(m["mu"]), tuple(m["sigma"]), m["t"])
                )
        return sorted(subs, key=lambda s: s.id)

    def drawing(self, board: str, submission: int) -> bytes | None:
        if self._live(board, ()) is None:
            return None
        with self._errors():
            return self._redis.hget(self._keys(board)[2], str(int(submission)))

    def _start_question(self, q: Question) -> Question:
        data = {"prompt": q.prompt, "kind": q.kind, "choices": list(q.choices), "target": q.target, "t": q.created}
        qid = self._run("question", q.board, self.limits.questions_per_board, json.dumps(data, ensure_ascii=False))
        return self.question(q.board, qid)

    def _questions(self, board: str, ids: Sequence[int]) -> list[Question]:
        if not ids:
            return []
        fields = [f for i in ids for f in (str(i), f"{i}:state", f"{i}:n")]
        with self._errors():
            values = self._redis.hmget(self._keys(board)[5], fields)
        out = []
        for n, i in enumerate(ids):
            data, state, count = values[3 * n : 3 * n + 3]
            if data is None:
                continue
            d = json.loads(data)
            out.append(
                Question(
                    i,
                    board,
                    d["prompt"],
                    d["kind"],
                    tuple(d["choices"]),
                    d["target"],
                    state.decode(),
                    d["t"],
                    int(count),
                )
            )
        return out

    def question(self, board: str, question: int | None = None) -> Question | None:
        live = self._live(board, ("cq",))
        if live is None:
            return None
        qid = int(question) if question is not None else (int(live[0]) if live[0] else None)
        found = self._questions(board, [qid]) if qid is not None else []
        return found[0] if found else None

    def questions(self, board: str) -> list[Question]:
        if self._live(board, ()) is None:
            return []
        with self._errors():
            names = self._redis.hkeys(self._keys(board)[5])
        return self._questions(board, sorted(int(k) for k in names if k.isdigit()))

    def _set_question_state(self, board: str, question: int, state: str) -> Question:
        self._run("qstate", board, question, state)
        return self.question(board, question)

    def _answer(self, a: Answer, board: str) -> Answer:
        now = self.clock()
        data = json.dumps({"name": a.name, "value": a.value, "t": now}, ensure_ascii=False)
        self._run("answer", board, a.question, a.who, data, self.limits.answer_changes)
        return Answer(a.question, a.who, a.name, a.value, now)

    def answers(self, board: str, question: int) -> list[Answer]:
        if self._live(board, ()) is None:
            return []
        prefix = f"{int(question)}:"
        with self._errors():
            raw = self._redis.hgetall(self._keys(board)[6])
        out = []
        for k, v in raw.items():
            key = k.decode()
            if key.startswith(prefix) and key.count(":") == 1:
                who, d = key[len(prefix) :], json.loads(v)
                first = float(raw.get(f"{key}:f".encode(), d["t"]))
                out.append((first, Answer(int(question), who, d["name"], _value(d["value"]), d["t"])))
        return [a for _, a in sorted(out, key=lambda fa: fa[0])]

    def _set_view(self, board: str, view_json: str | None) -> int:
        return self._run("teacher", board, "view", view_json or "")

    def view(self, board: str) -> TeacherView | None:
        values = self._live(board, ("vv", "view", "view_at"))
        if values is None or values[1] is None:
            return None
        return TeacherView(int(values[0]), json.loads(values[1]), float(values[2]))

    def purge_expired(self) -> int:
        """Redis deletes a board's keys by itself when it expires; this finds boards expired by the store's
        clock (which tests move) and deletes them."""
        n = 0
        with self._errors():
            for key in self._redis.scan_iter(match=f"{self.prefix}b:*", count=200):
                board = key.decode()[len(self.prefix) + 2 :]
                if BOARD_RE.fullmatch(board) and self._live(board, ()) is None:
                    n += 1
        return n

    def close(self) -> None:
        self._redis.close()


# ---- the store of this process ----

_STORES: dict[str, ClassStore] = {}
_STORES_LOCK = threading.Lock()


def redis_url() -> str | None:
    """VAE_EXPLORER_REDIS_URL, if set (then the class store and the training slots use Redis)."""
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    return check_redis_url(url) if url else None


def class_store() -> ClassStore:
    """This process's class store: Redis when VAE_EXPLORER_REDIS_URL is set, else SQLite in the models folder.
    One per URL or folder, shared by every session and thread."""
    from . import models

    url = redis_url()
    key = url or str(sqlite_path(models.models_dir()))
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = RedisStore(url) if url else SQLiteStore(key)
            _STORES[key] = store
        return store


__all__ = [
    "Answer",
    "Board",
    "ClassStore",
    "DEFAULT_BOARD",
    "Limits",
    "Question",
    "RedisStore",
    "Refused",
    "SQLiteStore",
    "StoreUnavailable",
    "Submission",
    "TeacherView",
    "Versions",
    "class_store",
    "secret_hash",
]
