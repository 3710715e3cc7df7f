"""The class store (explorer/class_store.py) on both backends: SQLite in the models folder, and a real
redis-server that the tests start on a free loopback port. Every rule is checked on each: round trips, change
counters, limits and refusals, questions and answers, the teacher's view, expiry, several processes at once,
and a writer SIGKILLed mid-lesson."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, wait_for
from PIL import Image

from deploy.redis_local import local_redis, redis_missing_reason
from explorer import class_store as cs
from explorer.class_store import (
    NO_VERSIONS,
    Limits,
    RedisStore,
    Refused,
    SQLiteStore,
    StoreUnavailable,
    Versions,
    secret_hash,
)
from vae_core.errors import ConfigError

BOARD = "lesson-1"
NEVER = Limits()  # the defaults
LOOSE = Limits(submissions_per_minute=10_000, submissions_per_student=10_000, submissions_per_board=10_000)


def who(i: int) -> str:
    return secret_hash(f"browser-secret-of-student-{i:04d}")


def drawing(seed: int, side: int = 28) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (side, side), dtype=np.uint8)


def png_of(arr: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(arr).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def redis_url():
    reason = redis_missing_reason()
    if reason:
        pytest.skip(reason)
    with local_redis() as url:
        yield url


class Backend:
    """Where one test's store lives: a SQLite file, or a key prefix of its own on the test's redis-server.
    make() opens another store on the same place (as another replica would)."""

    def __init__(self, kind: str, tmp_path: Path, url: str | None) -> None:
        self.kind, self.url = kind, url
        self.path = tmp_path / "models" / ".class" / "store.sqlite3"
        self.prefix = f"test-{uuid.uuid4().hex[:8]}:"
        self.opened: list = []

    def make(self, limits: Limits = NEVER, clock=time.time):
        if self.kind == "sqlite":
            store = SQLiteStore(self.path, limits, clock)
        else:
            store = RedisStore(self.url, limits, clock, prefix=self.prefix)
        self.opened.append(store)
        return store

    def code(self, limits: Limits) -> str:
        """The Python that opens the same store in another process."""
        lim = f"Limits(**{json.dumps(limits.__dict__)})"
        if self.kind == "sqlite":
            return f"SQLiteStore({str(self.path)!r}, {lim})"
        return f"RedisStore({self.url!r}, {lim}, prefix={self.prefix!r})"

    def stored_bytes(self) -> bytes:
        """Everything the backend keeps, raw: the SQLite files' bytes, or every value under the prefix."""
        if self.kind == "sqlite":
            return b"".join(p.read_bytes() for p in self.path.parent.glob("store.sqlite3*"))
        import redis

        r = redis.Redis.from_url(self.url)
        out = b""
        for key in r.scan_iter(match=f"{self.prefix}*"):
            kind = r.type(key)
            if kind == b"hash":
                out += b"".join(k + v for k, v in r.hgetall(key).items())
            elif kind == b"string":
                out += r.get(key)
        return out

    def board_keys(self) -> list[bytes]:
        import redis

        return [k for k in redis.Redis.from_url(self.url).scan_iter(match=f"{self.prefix}b:*")]

    def close(self) -> None:
        for s in self.opened:
            s.close()


@pytest.fixture(params=["sqlite", "redis"])
def backend(request, tmp_path):
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    b = Backend(request.param, tmp_path, url)
    yield b
    b.close()


@pytest.fixture
def store(backend):
    return backend.make()


def send(store, i: int = 0, board: str = BOARD, **kw):
    args = {"who": who(i), "name": f"Student {i}", "image": drawing(i), "mu": [0.5, -1.0], "sigma": [0.2, 0.3]}
    return store.submit(board, **{**args, **kw})


class FakeClock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


# ---- submissions ----


def test_a_submission_round_trips_with_its_drawing_and_posterior(store):
    assert store.versions(BOARD) == NO_VERSIONS and store.submissions(BOARD) == []
    img = drawing(7)
    sub = send(store, 3, image=img, mu=[0.25, -1.5, 3.0], sigma=[0.1, 0.2, 0.3], label="이건 7", name="김민아")
    (got,) = store.submissions(BOARD)
    assert got == sub and got.mu == (0.25, -1.5, 3.0) and got.sigma == (0.1, 0.2, 0.3)
    assert got.label == "이건 7" and got.name == "김민아" and got.mine(who(3)) and not got.mine(who(4))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(store.drawing(BOARD, sub.id)))), img)
    assert store.drawing(BOARD, sub.id + 999) is None
    # PNG bytes are accepted too, and an RGB drawing stays RGB
    rgb = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    second = send(store, 4, image=png_of(rgb), label=None)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(store.drawing(BOARD, second.id)))), rgb)
    assert [s.id for s in store.submissions(BOARD)] == [sub.id, second.id]
    assert [s.id for s in store.submissions(BOARD, after=sub.id)] == [second.id]  # only what is new
    assert store.submissions("another-lesson") == []  # boards are separate


def test_a_drawing_is_stored_without_the_senders_metadata(store):
    img = Image.fromarray(drawing(1))
    out = io.BytesIO()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-location-data")
    img.save(out, format="PNG", pnginfo=info)
    sub = send(store, 1, image=out.getvalue())
    assert b"secret-location-data" not in store.drawing(BOARD, sub.id)


def test_each_change_moves_only_its_own_counter_and_counters_never_repeat(backend):
    store = backend.make()
    seen = [store.versions(BOARD)]

    def moved(field: str) -> None:
        now = store.versions(BOARD)
        before = seen[-1]
        changed = {f for f in Versions._fields if getattr(now, f) != getattr(before, f)}
        assert changed == {field}, (field, before, now)
        assert getattr(now, field) > max(before)  # one counter for all: newer than anything seen
        seen.append(now)

    send(store, 1)
    moved("board")
    store.set_names_hidden(BOARD, True)
    moved("board")
    store.set_frozen(BOARD, True)
    moved("board")
    store.set_frozen(BOARD, False)
    moved("board")
    q = store.start_question(BOARD, "Where does a sandal land?")
    moved("question")
    store.answer(BOARD, q.id, who=who(1), name="A", value=[0.0, 1.0])
    moved("answers")
    store.close_question(BOARD, q.id)
    moved("question")
    store.set_view(BOARD, {"page": "walk", "z": [0.1, 0.2]})
    moved("view")
    store.clear(BOARD)
    moved("board")
    assert store.changed(BOARD, seen[-1]) is None
    assert store.changed(BOARD, seen[-2]) == seen[-1]
    other = backend.make()  # another replica sees the same counters
    assert other.versions(BOARD) == seen[-1]
    store.delete_board(BOARD)
    assert store.versions(BOARD) == NO_VERSIONS
    send(store, 2)  # the same id starts afresh, with a counter never used before
    assert store.versions(BOARD).board > max(seen[-1])


def test_clear_removes_submissions_and_keeps_questions(store):
    send(store, 1)
    send(store, 2)
    q = store.start_question(BOARD, "Where is the boundary between 4 and 9?")
    store.clear(BOARD)
    assert store.submissions(BOARD) == [] and store.question(BOARD).id == q.id
    send(store, 3)
    assert len(store.submissions(BOARD)) == 1


def test_hidden_names_are_blanked_in_the_teachers_download(store):
    send(store, 1, name="Mina", label="7")
    store.set_names_hidden(BOARD, True)
    assert store.board(BOARD).names_hidden
    snap = store.snapshot(BOARD)
    json.dumps(snap)  # a JSON download as it is
    (entry,) = snap["submissions"]
    assert entry["name"] is None and entry["label"] == "7" and entry["png_base64"]
    assert "who" not in json.dumps(snap)
    store.set_names_hidden(BOARD, False)
    assert store.snapshot(BOARD, with_drawings=False)["submissions"][0]["name"] == "Mina"


def test_a_frozen_board_refuses_new_submissions_until_unfrozen(store):
    send(store, 1)
    store.set_frozen(BOARD, True)
    before = store.versions(BOARD)
    with pytest.raises(Refused, match="froze the board") as err:
        send(store, 2)
    assert "고정" in err.value.text[1]
    assert store.versions(BOARD) == before and len(store.submissions(BOARD)) == 1
    store.set_frozen(BOARD, False)
    send(store, 2)
    assert len(store.submissions(BOARD)) == 2


def test_a_student_may_send_a_few_drawings_a_minute(backend):
    clock = FakeClock()
    store = backend.make(Limits(submissions_per_minute=3), clock)
    for _ in range(3):
        send(store, 1)
        clock.t += 1
    with pytest.raises(Refused, match="at most 3 drawings a minute") as err:
        send(store, 1)
    assert 0 < err.value.retry_after <= 60 and "1분에" in err.value.text[1]
    send(store, 2)  # another student is not held back
    clock.t += 58.5  # the first of the three is more than a minute old
    send(store, 1)
    assert sum(s.who == who(1) for s in store.submissions(BOARD)) == 4


def test_caps_per_student_and_per_board(backend):
    clock = FakeClock()
    store = backend.make(Limits(submissions_per_minute=100, submissions_per_student=2, submissions_per_board=3), clock)
    send(store, 1)
    send(store, 1)
    with pytest.raises(Refused, match="most drawings one student"):
        send(store, 1)
    send(store, 2)
    with pytest.raises(Refused, match="the board is full"):
        send(store, 3)
    store.clear(BOARD)
    send(store, 3)


BAD_SUBMISSIONS = [
    ({"name": ""}, "display name is empty"),
    ({"name": "   "}, "display name is empty"),
    ({"name": "x" * 31}, "display name is too long"),
    ({"name": "Mina\x00"}, "control or invisible"),
    ({"name": "Mina\u202egnp.exe"}, "control or invisible"),  # a right-to-left override on the projector
    ({"name": "two\nlines"}, "control or invisible"),
    ({"label": "x" * 41}, "label is too long"),
    ({"label": "<b>\u200b</b>"}, "control or invisible"),  # a zero-width space
    ({"mu": [float("nan"), 0.0]}, "out of range"),
    ({"mu": [1e9, 0.0]}, "out of range"),
    ({"sigma": [0.0, 1.0]}, "out of range"),
    ({"sigma": [-1.0, 1.0]}, "out of range"),
    ({"mu": [0.0, 0.0, 0.0]}, "same length"),
    ({"mu": [0.0] * 513, "sigma": [1.0] * 513}, "1 to 512 numbers"),
    ({"mu": [[0.0, 1.0]]}, "one list"),
    ({"mu": "zero"}, "not a list of numbers"),
    ({"image": np.zeros((200, 200), np.uint8)}, "200×200 pixels"),
    ({"image": np.zeros((28, 28), np.float32)}, "uint8 array"),
    ({"image": np.zeros((28, 28, 2), np.uint8)}, "uint8 array"),
    ({"image": np.zeros((0, 28), np.uint8)}, "pixels"),
    ({"image": b"\x89PNG\r\n\x1a\n" + os.urandom(70_000)}, "too large"),
    ({"image": b"GIF89a" + bytes(100)}, "not a PNG"),
    ({"image": png_of(drawing(1))[:60]}, "broken PNG"),
    ({"image": png_of(np.zeros((300, 1), np.uint8))}, "300 pixels|1×300"),
    ({"image": "a string"}, "PNG bytes or a uint8 array"),
]


@pytest.mark.parametrize("change, message", BAD_SUBMISSIONS, ids=[m for _, m in BAD_SUBMISSIONS])
def test_a_malformed_or_oversize_submission_is_refused_and_nothing_is_stored(store, change, message):
    send(store, 1)
    before = store.versions(BOARD)
    with pytest.raises(ValueError, match=message) as err:
        send(store, 2, **change)
    assert isinstance(err.value, Refused) and any("\uac00" <= c <= "\ud7a3" for c in err.value.text[1])
    assert store.versions(BOARD) == before and len(store.submissions(BOARD)) == 1


def test_who_is_a_hash_of_the_secret_never_the_secret(store):
    secret = "the-browser-secret-0123456789"
    h = secret_hash(secret)
    assert len(h) == 64 and h == secret_hash(secret) and h != secret_hash(secret + "x") and secret not in h
    with pytest.raises(ValueError, match="never the secret"):
        send(store, 1, who=secret)
    with pytest.raises(ValueError, match="at least 16"):
        secret_hash("short")
    with pytest.raises(ValueError, match="board id"):
        send(store, 1, board="../etc")
    assert store.submissions(BOARD) == []


def test_names_and_labels_are_stored_as_given(store):
    name, label = "<script>alert(1)</script>", "**not bold** [x](y)"
    send(store, 1, name=name[:30], label=label)
    (sub,) = store.submissions(BOARD)
    assert sub.name == name[:30] and sub.label == label  # rendering them as text is the page's job


def test_threads_of_one_process_lose_nothing(backend):
    store = backend.make(LOOSE)
    errors = []

    def student(i):
        try:
            for k in range(5):
                send(store, i, mu=[float(i), float(k)])
                store.versions(BOARD)
        except Exception as exc:  # collected: an assert here would not fail the test
            errors.append(exc)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(s.mu for s in store.submissions(BOARD)) == sorted(
        (float(i), float(k)) for i in range(8) for k in range(5)
    )


# ---- questions and answers ----


def test_a_question_is_answered_moved_closed_and_revealed(store):
    q = store.start_question(BOARD, "Click where you think a sandal lands", target={"class": 5, "name": "Sandal"})
    assert q.state == "open" and q.kind == "point" and q.answers == 0 and q.target == {"class": 5, "name": "Sandal"}
    assert store.board(BOARD).question == q.id and store.question(BOARD) == q
    store.answer(BOARD, q.id, who=who(1), name="A", value=[0.5, 0.5])
    store.answer(BOARD, q.id, who=who(2), name="B", value=[-1.0, 2.0])
    store.answer(BOARD, q.id, who=who(1), name="A", value=[1.5, -0.5])  # moved, still one answer
    assert store.question(BOARD).answers == 2
    got = store.answers(BOARD, q.id)
    assert [(a.who, a.value) for a in got] == [(who(1), (1.5, -0.5)), (who(2), (-1.0, 2.0))]
    assert store.close_question(BOARD, q.id).state == "closed"
    with pytest.raises(Refused, match="closed this question") as err:
        store.answer(BOARD, q.id, who=who(3), name="C", value=[0.0, 0.0])
    assert "마감" in err.value.text[1]
    with pytest.raises(Refused, match="closed"):
        store.answer(BOARD, q.id, who=who(1), name="A", value=[0.0, 0.0])  # nor moved
    assert store.reveal_question(BOARD, q.id).state == "revealed"
    assert len(store.answers(BOARD, q.id)) == 2
    with pytest.raises(Refused, match="already revealed"):
        store.close_question(BOARD, q.id)


def test_a_new_question_closes_the_open_one(store):
    first = store.start_question(BOARD, "first")
    second = store.start_question(BOARD, "second", kind="choice", choices=["4", "9"])
    assert store.question(BOARD, first.id).state == "closed" and store.question(BOARD) == second
    assert [q.id for q in store.questions(BOARD)] == [first.id, second.id]
    with pytest.raises(Refused, match="closed"):
        store.answer(BOARD, first.id, who=who(1), name="A", value=[0.0, 0.0])
    store.answer(BOARD, second.id, who=who(1), name="A", value=1)
    assert store.answers(BOARD, second.id)[0].value == 1
    for bad in (2, -1, True, 0.5, [0.0, 1.0]):
        with pytest.raises(Refused, match="choose one of the 2"):
            store.answer(BOARD, second.id, who=who(2), name="B", value=bad)
    assert store.question(BOARD).answers == 1


def test_question_refusals(backend):
    store = backend.make(Limits(questions_per_board=2, answer_changes=3))
    with pytest.raises(Refused, match="question is empty"):
        store.start_question(BOARD, " ")
    with pytest.raises(Refused, match="question is too long"):
        store.start_question(BOARD, "?" * 201)
    with pytest.raises(Refused, match="answer kind"):
        store.start_question(BOARD, "Where?", kind="essay")
    with pytest.raises(Refused, match="2 to 12 choices"):
        store.start_question(BOARD, "Which?", kind="choice", choices=["only one"])
    with pytest.raises(Refused, match="no choices"):
        store.start_question(BOARD, "Where?", choices=["a", "b"])
    with pytest.raises(Refused, match="choice is too long"):
        store.start_question(BOARD, "Which?", kind="choice", choices=["a", "b" * 41])
    with pytest.raises(Refused, match="small dict"):
        store.start_question(BOARD, "Where?", target={"class": float("nan")})
    assert store.questions(BOARD) == []
    q = store.start_question(BOARD, "Where?")
    with pytest.raises(Refused, match="no such question"):
        store.answer(BOARD, q.id + 1000, who=who(1), name="A", value=[0.0, 0.0])
    with pytest.raises(Refused, match="out of range"):
        store.answer(BOARD, q.id, who=who(1), name="A", value=[float("inf"), 0.0])
    for k in range(3):
        store.answer(BOARD, q.id, who=who(1), name="A", value=[float(k), 0.0])
    with pytest.raises(Refused, match="moved your answer the most times allowed"):
        store.answer(BOARD, q.id, who=who(1), name="A", value=[9.0, 0.0])
    assert store.answers(BOARD, q.id)[0].value == (2.0, 0.0)
    store.start_question(BOARD, "Again?")
    with pytest.raises(Refused, match="most questions"):
        store.start_question(BOARD, "And again?")


# ---- the teacher's view ----


def test_the_teachers_view_reaches_every_replica_with_a_version(backend):
    teacher, student = backend.make(), backend.make()
    assert student.view(BOARD) is None
    view = {"page": "walk", "model": "shipped:fashion-mnist", "z": [0.25, -1.0], "path": [[0, 0], [1.5, 2.0]]}
    v = teacher.set_view(BOARD, view)
    got = student.view(BOARD)
    assert got.view == view and got.version == v == student.versions(BOARD).view
    v2 = teacher.set_view(BOARD, {**view, "z": [0.0, 0.0]})
    assert v2 > v and student.view(BOARD).view["z"] == [0.0, 0.0]
    teacher.set_view(BOARD, None)  # the teacher stops sending: everyone explores freely
    assert student.view(BOARD) is None and student.versions(BOARD).view > v2


@pytest.mark.parametrize(
    "view",
    [
        {"z": [float("nan"), 0.0]},
        {"page": "x" * 201},
        {"bad key!": 1},
        {"a": {"b": {"c": {"d": 1}}}},
        {"path": [[0.5, 0.5]] * 1000},
        {"page": object()},
        ["not", "a", "dict"],
    ],
    ids=["nan", "long-text", "bad-key", "too-deep", "too-large", "object", "list"],
)
def test_a_malformed_view_is_refused(store, view):
    with pytest.raises(Refused, match="teacher's view"):
        store.set_view(BOARD, view)
    assert store.view(BOARD) is None


# ---- expiry ----


def test_a_board_expires_and_nothing_a_student_drew_is_kept(backend):
    clock = FakeClock()
    store = backend.make(Limits(board_seconds=3600), clock)
    marker = drawing(12345, side=16)
    sub = send(store, 1, image=marker, name="Expiring Name")
    q = store.start_question(BOARD, "Where?")
    store.answer(BOARD, q.id, who=who(1), name="Expiring Name", value=[0.1, 0.2])
    png = store.drawing(BOARD, sub.id)
    assert png in backend.stored_bytes() and b"Expiring Name" in backend.stored_bytes()  # the check can fail
    opened = store.board(BOARD)
    assert opened.expires == pytest.approx(opened.created + 3600)
    clock.t += 3599
    assert store.versions(BOARD) != NO_VERSIONS
    clock.t += 2  # past the board's lifetime
    assert store.versions(BOARD) == NO_VERSIONS and store.submissions(BOARD) == [] and store.question(BOARD) is None
    assert store.drawing(BOARD, sub.id) is None and store.answers(BOARD, q.id) == []
    store.purge_expired()
    raw = backend.stored_bytes()
    assert png not in raw and b"Expiring Name" not in raw
    send(store, 2)  # the same board id opens afresh, for a new lesson
    assert [s.who for s in store.submissions(BOARD)] == [who(2)]


def test_redis_deletes_an_expired_board_by_itself(redis_url, tmp_path):
    backend = Backend("redis", tmp_path, redis_url)
    store = backend.make(Limits(board_seconds=1.0))
    send(store, 1)
    assert backend.board_keys()
    assert wait_for(lambda: backend.board_keys() == [], timeout=15), backend.board_keys()


def test_board_lifetime_and_rate_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_BOARD_HOURS", "1.5")
    monkeypatch.setenv("VAE_EXPLORER_SUBMISSIONS_PER_MINUTE", "6")
    assert Limits.from_env() == replace(Limits(), board_seconds=5400.0, submissions_per_minute=6)
    monkeypatch.delenv("VAE_EXPLORER_SUBMISSIONS_PER_MINUTE")
    for bad in ("abc", "0", "-2", "nan", "1000"):
        monkeypatch.setenv("VAE_EXPLORER_BOARD_HOURS", bad)
        with pytest.raises(ConfigError, match="BOARD_HOURS|lifetime"):
            Limits.from_env()
    monkeypatch.delenv("VAE_EXPLORER_BOARD_HOURS")
    assert Limits.from_env().board_seconds == 12 * 3600


# ---- which backend, and when it is down ----


@pytest.fixture
def fresh_stores():
    """class_store() caches one store per folder or URL: each test starts with none and closes what it made."""
    cs._STORES.clear()
    yield
    for s in cs._STORES.values():
        s.close()
    cs._STORES.clear()


def test_the_app_uses_sqlite_in_the_models_folder_by_default(models_dir, monkeypatch, fresh_stores):
    monkeypatch.delenv("VAE_EXPLORER_REDIS_URL", raising=False)
    store = cs.class_store()
    assert isinstance(store, SQLiteStore) and store.path == models_dir / ".class" / "store.sqlite3"
    assert cs.class_store() is store  # one per process and folder
    send(store, 1)
    assert store.path.exists()
    assert store._w.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_app_uses_redis_when_its_url_is_set(models_dir, monkeypatch, redis_url, fresh_stores):
    monkeypatch.setenv("VAE_EXPLORER_REDIS_URL", redis_url)
    store = cs.class_store()
    assert isinstance(store, RedisStore) and cs.class_store() is store
    send(store, 1, board="app-default")
    assert not (models_dir / ".class").exists()  # nothing in the models folder
    store.delete_board("app-default")
    monkeypatch.setenv("VAE_EXPLORER_REDIS_URL", "http://user:hunter2@example:80/")
    with pytest.raises(ConfigError, match="not a Redis URL") as err:
        cs.class_store()
    assert "hunter2" not in str(err.value)


def test_a_redis_server_that_is_down_gives_a_clear_message():
    from deploy.replicas import free_port

    store = RedisStore(f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    with pytest.raises(StoreUnavailable, match="cannot be reached") as err:
        store.versions(BOARD)
    assert "hunter2" not in str(err.value) and "127.0.0.1" not in str(err.value)
    assert "VAE_EXPLORER_REDIS_URL" in err.value.text[1]
    assert cs.redacted("redis://:hunter2@host:6379/0") == "redis://:***@host:6379/0"


def test_korean_particles_follow_the_last_syllable():
    assert cs._ko("표시 이름")["ki"] == "표시 이름이" and cs._ko("선택지")["ki"] == "선택지가"
    assert cs._ko("교사 화면")["keun"] == "교사 화면은" and cs._ko("라벨")["ke"] == "라벨에"


# ---- several processes, and a writer killed mid-lesson ----

WRITER = """
import sys, time
sys.path.insert(0, {root!r})
import numpy as np
from explorer.class_store import Limits, RedisStore, Refused, SQLiteStore, secret_hash
store = {make}
sys.stdin.readline()  # every writer starts at once
for i in range({count}):
    student = {student}
    try:
        s = store.submit("lesson-1", who=secret_hash(f"browser-secret-of-student-{{student:04d}}"),
                         name=f"p{tag}-{{i}}", image=np.full((8, 8), i % 256, np.uint8), mu=[{tag}, i], sigma=[1, 1])
    except Refused as e:
        print("refused", flush=True)
    else:
        print("ok", s.id, s.name, flush=True)  # acknowledged: the submission is stored
"""


def start_writer(backend, limits, tag, count, student="i % 60") -> subprocess.Popen:
    code = WRITER.format(root=str(ROOT), make=backend.code(limits), count=count, student=student, tag=tag)
    return subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
    )


def go(procs) -> None:
    for p in procs:
        p.stdin.write("\n")
        p.stdin.flush()


@pytest.mark.slow
def test_several_processes_write_at_once_and_lose_nothing(backend):
    procs = [start_writer(backend, LOOSE, tag, 40) for tag in range(3)]
    go(procs)
    outs = [p.communicate(timeout=120)[0].split("\n") for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    acked = {line.split()[2] for out in outs for line in out if line.startswith("ok")}
    assert len(acked) == 120
    store = backend.make()
    assert {s.name for s in store.submissions(BOARD)} == acked


@pytest.mark.slow
def test_the_rate_limit_holds_across_processes(backend):
    """Three replicas, one student sending as fast as they can: the store accepts exactly the limit."""
    limits = Limits(submissions_per_minute=4)
    procs = [start_writer(backend, limits, tag, 5, student="7") for tag in range(3)]
    go(procs)
    lines = [line for p in procs for line in p.communicate(timeout=120)[0].split("\n") if line]
    assert sorted(line.split()[0] for line in lines) == ["ok"] * 4 + ["refused"] * 11
    assert len(backend.make().submissions(BOARD)) == 4


@pytest.mark.slow
def test_a_replica_killed_mid_lesson_loses_no_acknowledged_submission(backend):
    writer = start_writer(backend, LOOSE, 9, 100_000)
    go([writer])
    acked = []
    try:
        while len(acked) < 30:
            line = writer.stdout.readline()
            assert line, "the writer stopped before it was killed"
            acked.append(line.split()[2])
        os.kill(writer.pid, signal.SIGKILL)  # mid-lesson, perhaps mid-write: no cleanup runs
        writer.wait(10)
        acked += [line.split()[2] for line in writer.stdout.read().split("\n") if line.startswith("ok")]
    finally:
        writer.kill()
        writer.wait()
    store = backend.make(LOOSE)
    names = {s.name for s in store.submissions(BOARD)}
    assert set(acked) <= names  # everything acknowledged is there (and at most the one in flight more)
    assert len(names) - len(acked) <= 1
    send(store, 1)  # and the store takes writes at once: no lock was left behind
    assert len(store.submissions(BOARD)) == len(names) + 1


@pytest.mark.slow
def test_the_store_benchmark_runs_at_a_tiny_size(tmp_path, capsys, redis_url):
    """python -m bench.class_store, three students for a second on each backend: its JSON has what
    docs/benchmarks.md quotes. No timing is asserted."""
    from bench import class_store as bench

    out = tmp_path / "class_store.json"
    result = bench.main(["--students", "3", "--seconds", "1", "--polls", "50", "--think", "0.1", "--out", str(out)])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(out.read_text())
    for name in ("sqlite", "redis"):
        r = result[name]
        assert r["poll_cost"]["polls"] == 50 and r["poll_cost"]["total_cpu_seconds_per_1000_polls"] >= 0
        assert r["idle_class"]["errors"] == 0 and r["idle_class"]["poll"]["n"] >= 3
        assert "submit" not in r["idle_class"]  # idle: polls only
        assert r["active_class"]["errors"] == 0, r["active_class"]["error_messages"]
        assert r["active_class"]["read"]["n"] > 0
