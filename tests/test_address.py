"""The view in the address (explorer/address.py): every value read back as written, and any
address, however hostile, gives a view and the names of what it ignored, never an exception."""

from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer import address

MODELS = {"shipped:fashion-mnist", "shipped:digits", "class:mina-beta4"}


def test_a_view_reads_back_as_written():
    view = {
        "model": "class:mina-beta4",
        "lang": "ko",
        "present": True,
        "z": (0.5, -1.25),
        "pick": 860,
        "path": "line",
        "from": 860,
        "to": 5,
        "r": 1.5,
        "frames": 20,
        "fps": 8,
        "loop": False,
        "n": 30,
        "spacing": "linear",
        "box": (-2.0, 2.0, -1.5, 3.0),
        "layers": frozenset({"test"}),
        "hide": frozenset({"picker", "sliders"}),
        "lock": frozenset({"model"}),
        "lesson": "first-lesson",
        "step": 3,
    }
    url = address.link("http://host:8501/", "walk", view)
    assert url.startswith("http://host:8501/walk?model=class:mina-beta4&lang=ko&present=1&z=0.5,-1.25&pick=860")
    parts = urlsplit(url)
    back, ignored = address.parse(parse_qs(parts.query), MODELS)
    assert ignored == [] and back == view


def test_shipped_models_are_named_bare():
    assert address.query({"model": "shipped:digits"}) == {"model": "digits"}
    assert address.parse({"model": "digits"}, MODELS) == ({"model": "shipped:digits"}, [])


@pytest.mark.parametrize(
    "query, ignored",
    [
        ({"z": "nan,1e308"}, ["z"]),
        ({"z": "inf,0"}, ["z"]),
        ({"z": "1,2,3," * 10}, ["z"]),
        ({"model": "../../x"}, ["model"]),
        ({"model": "shipped:nothere"}, ["model"]),
        ({"n": "100000"}, ["n"]),
        ({"n": "4"}, ["n"]),
        ({"n": "-1"}, ["n"]),
        ({"n": "2.5"}, ["n"]),
        ({"hide": "<script>alert(1)</script>"}, ["hide"]),
        ({"lock": "everything"}, ["lock"]),
        ({"box": "3,-3,0,1"}, ["box"]),
        ({"lesson": "../../etc/passwd"}, ["lesson"]),
        ({"step": "0"}, ["step"]),
        ({"z": ["0,0"] * 10_000}, ["z"]),
        ({"n": "2" + "0" * 100_000}, ["n"]),
        ({"pick": "١٢"}, ["pick"]),  # Arabic-Indic digits are digits to int(), not to us
    ],
)
def test_a_bad_value_is_ignored_by_name(query, ignored):
    view, got = address.parse(query, MODELS)
    assert got == ignored and set(view) <= {"step"} - set(ignored)


def test_the_rest_of_the_view_still_opens():
    view, ignored = address.parse({"z": "nan,1", "n": "30", "model": "../../x", "lang": "ko"}, MODELS)
    assert view == {"n": 30, "lang": "ko"} and ignored == ["model", "z"]


def test_parameters_not_ours_are_left_alone():
    assert address.parse({"run": "abc", "embed": "true", "utm_source": "x"}) == ({}, [])


def test_a_huge_query_string_is_not_parsed():
    view, ignored = address.parse_query_string("n=30&" + "x=1&" * 100_000)
    assert view == {} and ignored == ["n"]
    view, ignored = address.parse_query_string("&".join(["z=0,0"] * 10_000))
    assert view == {} and ignored == ["z"]


def test_a_lesson_view_is_a_page_and_a_query():
    assert address.parse_link("walk?z=0.5,-1&pick=3") == ({"z": (0.5, -1.0), "pick": 3, "page": "walk"}, [])
    assert address.parse_link("?lang=ko") == ({"lang": "ko", "page": ""}, [])
    assert address.parse_link("../x?n=30")[1] == ["page"]


def test_a_view_is_checked_against_its_model():
    view, ignored = address.for_model({"z": (1.0, 2.0, 3.0), "pick": 999, "from": 3, "n": 30}, 2, 500)
    assert view == {"from": 3, "n": 30} and ignored == ["z", "pick"]


def test_page_paths_and_what_belongs_where():
    assert address.page_path("app.py") == "" and address.page_path("pages/walk.py") == "walk"
    assert address.belongs("z", "walk") and not address.belongs("z", "manifold") and address.belongs("model", "")
    assert address.belongs("layers", "manifold") and address.belongs("layers", "walk")


texts = st.text(max_size=60) | st.sampled_from(["nan", "inf", "-0", "1e308", "0x10", " 5 ", "", ",", "1,,2"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([p.name for p in address.PARAMS] + ["run", "x"]), texts | st.lists(texts)))
def test_any_query_gives_a_view_that_writes_and_reads_back(query):
    view, ignored = address.parse(query, MODELS)
    assert set(ignored) <= set(address.BY_NAME) and not set(ignored) & set(view)
    again, ignored_again = address.parse(parse_qs(address.query_string(view)), MODELS)
    assert ignored_again == [] and again == view


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_query_string_parses(text):
    view, ignored = address.parse_query_string(text, MODELS)
    assert isinstance(view, dict) and isinstance(ignored, list)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=16),
    st.integers(5, 40),
    st.integers(0, 10**6),
)
def test_numbers_survive_the_round_trip(z, n, pick):
    view = {"z": tuple(round(v, 4) for v in z), "n": n, "pick": pick}
    assert address.parse(parse_qs(address.query_string(view))) == (view, [])


def test_docs_list_every_parameter_and_every_hide_name():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "links.md").read_text(encoding="utf-8")
    missing = [n for n in [p.name for p in address.PARAMS] + list(address.HIDEABLE) if f"| `{n}` |" not in text]
    assert not missing, missing
