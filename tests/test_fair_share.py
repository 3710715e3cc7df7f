"""Runs belong to the browser that started them, and no student takes more than a fair share of the queue
(explorer/training.py): runs per student, the queue's cap, who may cancel, and one slots interface."""

from __future__ import annotations

import inspect
import threading

import pytest
from helpers import ROOT, wait_for
from streamlit.testing.v1 import AppTest

from explorer import owner, training
from explorer.redis_slots import RedisSlots
from explorer.slots import TrainingSlots
from vae_core.train import TrainConfig

KEY = "teacher-key-for-tests"


@pytest.fixture
def one_slot(monkeypatch):
    """One training slot in this process, which the test can hold itself so that runs stay queued."""
    slots = training.LocalSlots(1)
    monkeypatch.setattr(training, "SLOTS", slots)
    monkeypatch.delenv(training.RUNS_PER_STUDENT_ENV, raising=False)
    monkeypatch.delenv(training.QUEUE_MAX_ENV, raising=False)
    return slots


@pytest.fixture
def held(one_slot):
    """The only slot, held by the test: every run submitted meanwhile waits in the queue."""
    release, taken = threading.Event(), threading.Event()

    def hold():
        with one_slot.hold("test-holder"):
            taken.set()
            release.wait(120)

    t = threading.Thread(target=hold, daemon=True)
    t.start()
    assert taken.wait(10)
    yield one_slot
    release.set()
    t.join(10)


_started: list[training.TrainingJob] = []


def job(name: str, secret: str | None, epochs: int = 1) -> training.TrainingJob:
    cfg = TrainConfig(epochs=epochs, batch_size=64, device="cpu")
    j = training.TrainingJob("digits", {"hidden": (16,)}, cfg, name, "Mina")  # every one types the same name
    j.owner = owner.secret_hash(secret) if secret else ""
    return j


def submit(j: training.TrainingJob, **kw) -> training.TrainingJob:
    _started.append(training.submit(j, **kw))
    return j


@pytest.fixture(autouse=True)
def stop_every_run():
    yield
    while _started:
        j = _started.pop()
        j.request_stop()
        if j.thread is not None:
            j.thread.join(120)


def test_every_slots_backend_has_one_interface():
    names = ("hold", "busy", "waiting", "ahead")
    for cls in (TrainingSlots, RedisSlots):
        for name in names:
            theirs = inspect.signature(getattr(cls, name)).parameters
            assert theirs == inspect.signature(getattr(training.LocalSlots, name)).parameters, (cls.__name__, name)


@pytest.mark.parametrize("backend", ["local", "files"])
def test_a_waiter_that_is_cancelled_leaves_the_queue_without_a_slot(backend, tmp_path):
    slots = training.LocalSlots(1) if backend == "local" else TrainingSlots(tmp_path / ".slots", 1)
    cancel, got, seen = threading.Event(), [], []
    with slots.hold("first") as first:
        assert first is not None and slots.busy() == 1

        def wait():
            with slots.hold("second", cancel=cancel, waiting=seen.append, poll=0.02) as h:
                got.append(h)

        t = threading.Thread(target=wait)
        t.start()
        assert wait_for(lambda: slots.waiting() == 1)
        assert slots.ahead("second") == 0 and seen == [0]
        cancel.set()
        t.join(10)
        assert got == [None] and slots.waiting() == 0 and slots.busy() == 1
    assert slots.busy() == 0


def test_one_run_per_student_and_another_student_still_queues(held):
    a, b = owner.new_secret(), owner.new_secret()
    submit(job("a-1", a))
    with pytest.raises(training.Refused) as refused:
        submit(job("a-2", a))
    en, ko = refused.value.text
    assert "at a time" in en and "1" in en and "한 번에" in ko
    assert submit(job("b-1", b)).status == "queued"  # the same display name, another browser: its own share
    assert submit(job("a-teacher", a), teacher=True).running  # the teacher is not held to a student's share


def test_runs_per_student_comes_from_the_environment(held, monkeypatch):
    monkeypatch.setenv(training.RUNS_PER_STUDENT_ENV, "2")
    a = owner.new_secret()
    submit(job("a-1", a))
    submit(job("a-2", a))
    with pytest.raises(training.Refused):
        submit(job("a-3", a))


def test_a_run_that_ended_frees_the_students_share(one_slot):
    a = owner.new_secret()
    first = submit(job("a-1", a))
    first.thread.join(120)
    assert first.status == "done", first.message
    assert submit(job("a-2", a)).running


def test_the_queue_has_a_cap_with_a_clear_message(held, monkeypatch):
    monkeypatch.setenv(training.QUEUE_MAX_ENV, "2")
    submit(job("q-1", owner.new_secret()))
    submit(job("q-2", owner.new_secret()))
    assert wait_for(lambda: held.waiting() == 2)
    with pytest.raises(training.Refused) as refused:
        submit(job("q-3", owner.new_secret()))
    en, ko = refused.value.text
    assert "queue is full" in en and "2" in en and "대기열" in ko
    assert "q-3" not in {j.name for j in training.active_jobs()}


def test_only_the_owner_or_the_teacher_cancels_and_a_queued_run_leaves_the_queue(held):
    a, b = owner.new_secret(), owner.new_secret()
    run = submit(job("a-run", a))
    assert wait_for(lambda: held.waiting() == 1)
    assert not training.cancel(run.run_id, b)  # another browser, even with the link and the same name
    assert not training.cancel(run.run_id, None) and not training.cancel(run.run_id, owner.secret_hash(a))
    assert run.running and run.status == "queued"
    assert training.cancel(run.run_id, a)
    run.thread.join(10)
    assert run.status == "cancelled" and run.history == [] and run.out is None
    other = submit(job("b-run", b))
    assert training.cancel(other.run_id, teacher=True)
    other.thread.join(10)
    assert other.status == "cancelled" and "teacher" in other.message[0]


def test_the_teacher_stops_a_training_run_which_is_saved(one_slot):
    run = submit(job("long-run", owner.new_secret(), epochs=100_000))
    assert wait_for(lambda: len(run.history) >= 1, timeout=60)
    assert training.cancel(run.run_id, teacher=True)
    run.thread.join(120)
    assert run.status == "done" and run.out is not None and "stopped by the teacher" in run.message[0]


# ---- what the pages draw (AppTest: no browser, no cookie: a session is one browser tab) ----


def train_page(secret: str | None = None, teacher: bool = False, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if secret is not None:
        at.session_state["owner_secret"] = secret  # what this browser's cookie would carry
    at.session_state["teacher_ok"] = teacher
    at.query_params.update(query)
    return at.run().switch_page("pages/train.py").run()


def keys(at) -> set[str]:
    return {b.key for b in at.button if b.key}


def test_a_watcher_sees_the_run_but_no_stop_the_owner_and_teacher_do(held, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_TEACHER_KEY", KEY)
    a = owner.new_secret()
    run = submit(job("watched", a))
    assert "tr_stop" in keys(train_page(a, run=run.run_id))
    watcher = train_page(owner.new_secret(), run=run.run_id)
    assert not watcher.exception and "tr_stop" not in keys(watcher)
    assert any("only its trainer" in c.value for c in watcher.caption)
    assert "tr_stop" in keys(train_page(owner.new_secret(), teacher=True, run=run.run_id))
    assert run.status == "queued"


def test_a_second_train_from_the_same_browser_is_refused_on_the_page(held):
    a = owner.new_secret()
    submit(job("first", a))
    at = train_page(a)  # a new tab of the same browser: it finds the run, and the trainer's name with it
    assert at.session_state["trainer"] == "Mina"
    at.text_input(key="tr_name").set_value("second")
    at = at.form_submit_button[0].click().run()
    assert not at.exception
    assert any("each student may have 1 at a time" in e.value for e in at.error)
    assert [j.name for j in training.jobs_of(owner.secret_hash(a))] == ["first"]


def test_the_teacher_cancels_a_queued_run_from_the_gallery(held, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_TEACHER_KEY", KEY)
    run = submit(job("queued-run", owner.new_secret()))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run().switch_page("pages/gallery.py").run()
    assert f"cancel_{run.run_id}" not in keys(at)  # a student sees the run, not the control
    assert any("queued-run" in t.value for t in at.text)
    at = at.text_input(key="teacher_key_input").set_value(KEY).run()
    at = at.button(key=f"cancel_{run.run_id}").click().run()
    assert not at.exception
    run.thread.join(10)
    assert run.status == "cancelled"
