"""A browser's secret (explorer/owner.py): unguessable, stored only as a hash, the same for a tab's whole life."""

import pytest
from streamlit.testing.v1 import AppTest

from explorer import owner
from vae_core.errors import InputError


def test_new_secrets_are_valid_unguessable_and_never_repeat():
    made = {owner.new_secret() for _ in range(200)}
    assert len(made) == 200
    assert all(owner.valid_secret(s) and len(s) >= 43 for s in made)


@pytest.mark.parametrize(
    "bad", [None, "", "short", "x" * 15, "x" * 257, "has space in it!!", "semi;colon-cookie-0000", 42, b"bytes" * 8]
)
def test_what_is_not_a_secret_is_refused(bad):
    assert not owner.valid_secret(bad)
    with pytest.raises(InputError):
        owner.secret_hash(bad)
    assert not owner.owns(owner.secret_hash(owner.new_secret()), bad)


def test_the_hash_is_what_is_stored_and_only_its_secret_matches_it():
    s, other = owner.new_secret(), owner.new_secret()
    h = owner.secret_hash(s)
    assert owner.valid_hash(h) and h == owner.secret_hash(s) and s not in h
    assert owner.owns(h, s) and not owner.owns(h, other) and not owner.owns(None, s) and not owner.owns("", s)


def test_the_class_store_keeps_the_same_hash():
    from explorer import class_store

    s = owner.new_secret()
    assert class_store.secret_hash(s) == owner.secret_hash(s)


def _script():
    import streamlit as st

    from explorer import owner

    st.text(owner.secret())
    st.text(owner.secret())  # a second call in one run: same secret, the cookie writer mounted once


def test_without_a_cookie_a_tab_keeps_one_secret_across_reruns():
    at = AppTest.from_function(_script).run()
    assert not at.exception
    first = at.text[0].value
    assert owner.valid_secret(first) and at.text[1].value == first
    at.run()
    assert at.text[0].value == first
    other = AppTest.from_function(_script).run()  # another tab without a cookie: another owner
    assert other.text[0].value != first
