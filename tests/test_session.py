"""What a session remembers is declared once (explorer/session.py): no other module touches
`st.session_state`, and a declared key is reached through its declaration, never a bare string."""

import ast
from pathlib import Path

import pytest
from helpers import ROOT

from explorer import session

SOURCES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "explorer").glob("*.py"))]
DECLARATION = ROOT / "explorer" / "session.py"


def _declared_names() -> set[str]:
    return {k.name for k in session.declared() if isinstance(k, session.Key)}


def problems_in(path: Path, declared: set[str]) -> list[str]:
    """Uses of st.session_state (any), and literal widget keys that bypass a declaration."""
    problems = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Attribute) and node.attr == "session_state":
            problems.append(f"{where}: st.session_state outside explorer/session.py (declare the key there)")
        elif isinstance(node, ast.ImportFrom) and any(a.name == "session_state" for a in node.names):
            problems.append(f"{where}: session_state imported directly")
        elif isinstance(node, ast.keyword) and node.arg == "key" and isinstance(node.value, ast.Constant):
            if node.value.value in declared:
                problems.append(f"{where}: key={node.value.value!r} is declared: use its declaration's .name")
    return problems


@pytest.mark.parametrize("path", [p for p in SOURCES if p != DECLARATION], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_but_the_declaration_touches_session_state(path):
    problems = problems_in(path, _declared_names())
    assert not problems, "\n".join(problems)


def test_the_check_catches_what_it_should(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import streamlit as st\n"
        'st.session_state["x"] = 1\n'
        'v = st.session_state.get("walk_pick")\n'
        'st.session_state.pop("y", None)\n'
        'st.session_state.setdefault("z", 0)\n'
        'ok = "a" in st.session_state\n'
        "from streamlit import session_state\n"
        'st.slider("n", 1, 9, key="manifold_n")\n'
        'st.button("go", key="go_button")\n'
    )
    text = "\n".join(problems_in(bad, _declared_names()))
    for line in (2, 3, 4, 5, 6):
        assert f"bad.py:{line}: st.session_state" in text
    assert "bad.py:7: session_state imported" in text and "bad.py:8: key='manifold_n' is declared" in text
    assert ":9:" not in text  # an element identity (a button's key) needs no declaration


def test_every_name_is_declared_once_and_families_do_not_swallow_keys():
    keys = [k for k in session.declared() if isinstance(k, session.Key)]
    names = [k.name for k in keys]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert all(k.doc for k in session.declared()), [k for k in session.declared() if not k.doc]
    assert session.PICKER.matches("model_select:shipped:digits") and not session.PICKER.matches("model_select:")


def test_keys_check_what_they_are_given():
    from streamlit.testing.v1 import AppTest

    def script():
        from explorer import session

        outcomes = []
        for key, value in ((session.WALK.pick, "860"), (session.LANG, "fr"), (session.MANIFOLD_N, 2.5)):
            try:
                key.set(value)
                outcomes.append("stored")
            except (TypeError, ValueError) as exc:
                outcomes.append(type(exc).__name__)
        session.WALK.pick.set(860)
        outcomes.append(str(session.WALK.pick.get()))
        outcomes.append(str(session.MANIFOLD_N.get()))  # unset: its default
        outcomes.append(str(session.REP_EPS.get() is not session.REP_EPS.get()))  # a fresh list each time
        import streamlit as st

        st.write(",".join(outcomes))

    at = AppTest.from_function(script).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.markdown[0].value == "TypeError,ValueError,TypeError,860,20,True"


def test_every_address_parameter_has_its_shareable_key():
    """A link's parameters (explorer/address.py) are restored into declared keys (`param=`)."""
    from explorer import address

    claimed = {name for key in session.shareable() for name in key.param}
    assert claimed == {p.name for p in address.PARAMS}, claimed ^ {p.name for p in address.PARAMS}
