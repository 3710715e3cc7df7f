"""The two caches: figures and images built once and shared by every session (`shared`), and what
is derived from a model, once per model (`of_model`).

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


@st.cache_resource(max_entries=512, show_spinner=False)
def _of_model(model_key: str, name: str, language: str, _build: Callable[..., T], _ckpt, args: tuple) -> T:
    result = _build(_ckpt, *args)
    return frozen(result) if isinstance(result, go.Figure) else result


def of_model(model_key: str, ckpt, build: Callable[..., T], *args) -> T:
    """`build(ckpt, *args)`, computed once per model (its `Active.key`: file and modification time,
    or an upload's digest), distinct arguments and language, and the same object for every session
    (never mutated). The one cache for what is derived from a model: latent codes, grids, metrics,
    the plane's blob. `build` is a module-level function; `args` are plain values (hashed)."""
    return _of_model(model_key, f"{build.__module__}.{build.__qualname__}", lang(), build, ckpt, args)
