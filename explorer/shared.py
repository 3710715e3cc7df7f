"""Figures and images built once and shared by every session.

All sessions' page runs share one Python interpreter, so what a run rebuilds each time is paid by
the whole class: a plotly figure costs 5–60 ms to build (the β page built eight of them, 300 ms a
run) and a PNG 5–15 ms to encode. A figure or image that depends only on its inputs is built once
per distinct input and language here and then costs a cache lookup. st.plotly_chart and st.image
copy what they are given before they serialise it, and no page mutates what this returns.

A figure is also stored with its arrays already in plotly's typed-array form (base64), which
st.plotly_chart would otherwise re-encode from numpy on every run: 25 ms of the β page's 35 ms
for its ladder of scatters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import plotly.graph_objects as go
import streamlit as st

from .i18n import lang

T = TypeVar("T")


def frozen(fig: go.Figure) -> go.Figure:
    """The same figure with every numpy array as plotly's typed-array spec (what to_dict makes of
    it), so that serialising it again copies strings instead of encoding arrays."""
    return go.Figure(fig.to_dict())


@st.cache_resource(max_entries=512, show_spinner=False)
def _built(name: str, language: str, _build: Callable[..., T], args: tuple, kwargs: dict) -> T:
    result = _build(*args, **kwargs)
    return frozen(result) if isinstance(result, go.Figure) else result


def shared(build: Callable[..., T], *args, **kwargs) -> T:
    """`build(*args, **kwargs)`, computed once per distinct arguments (hashed by value, numpy
    arrays included) and language, and the same object for every session. Pass arrays and plain
    values, not models; `build` is a module-level function (its name is part of the key)."""
    return _built(f"{build.__module__}.{build.__qualname__}", lang(), build, args, kwargs)
