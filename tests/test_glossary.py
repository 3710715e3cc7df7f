"""Korean as a Korean teacher writes it: one term per concept (explorer/glossary.py) and particles
attached to the symbol they follow ("z를", "β가", not "z 를").

Reads every Korean string literal in the app, the library and the lessons, so a new text that uses
a variant ("표본" where the app says "샘플") fails here, with the file, the line and the term to use.
"""

import ast
import re
from pathlib import Path

import pytest
import tomllib

from explorer.glossary import CLASS_NAMES_KO, TERMS, avoided_in
from vae_core.datasets import dataset_info

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT / "app.py",
    *sorted((ROOT / "pages").glob("*.py")),
    *sorted((ROOT / "explorer").glob("*.py")),
    *sorted((ROOT / "vae_core").glob("*.py")),
]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# A particle written apart from the symbol, number or formula it belongs to: "z 를", "$x$ 의", "β = 1 과".
PARTICLE = "를|을|이|가|는|은|의|와|과|로|으로|에|에서|도|만|마다|보다|까지|부터|처럼"
DETACHED = re.compile(rf"[A-Za-z0-9α-ωΑ-Ω$)\]}}*²⁾ᵢ₀-₉] ({PARTICLE})(?=[\s.,)!?:;·]|$)")


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def korean_texts() -> list[tuple[str, str]]:
    """(where, text) for every Korean string literal in the code and every Korean text of a lesson."""
    texts = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and HANGUL.search(node.value):
                texts.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value))
    for path in sorted((ROOT / "lessons").glob("*.toml")):
        lesson = tomllib.loads(path.read_text(encoding="utf-8"))
        texts += [(str(path.relative_to(ROOT)), s) for s in _strings(lesson) if HANGUL.search(s)]
    return texts


TEXTS = korean_texts()


def test_there_is_korean_to_check():
    assert len(TEXTS) > 300


def test_every_korean_text_uses_the_glossary_term():
    problems = [
        f"{where}: {word!r} — the app says {term.ko!r} for {term.en}"
        for where, text in TEXTS
        if "glossary.py" not in where
        for word, term in avoided_in(text)
    ]
    assert not problems, "\n".join(problems)


def test_every_glossary_term_is_in_use():
    everything = "\n".join(text for where, text in TEXTS if "glossary.py" not in where)
    unused = [t.ko for t in TERMS if t.ko not in everything]
    assert not unused, f"terms no text uses (remove them or use them): {unused}"


def test_particles_are_attached_to_their_symbol():
    problems = [f"{where}: {m.group(0)!r} in {text!r:.80}" for where, text in TEXTS for m in DETACHED.finditer(text)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "text, found",
    [
        ("z 를 움직이며", True),
        ("β = 1 과 β = 4를", True),
        ("$x$ 의 하한", True),
        ("z를 움직이며", False),
        ("x 이미지", False),  # 이미지 is a word, not the particle 이
        ("1 nat마다", False),
    ],
)
def test_the_particle_check(text, found):
    assert bool(DETACHED.search(text)) is found


def test_the_glossary_check_finds_a_variant():
    assert [t.ko for _, t in avoided_in("테스트 표본을 복원합니다")] == ["샘플", "재구성"]
    assert avoided_in("테스트 샘플을 재구성합니다") == []


def test_no_term_is_another_terms_variant():
    chosen = {t.ko for t in TERMS}
    assert not [w for t in TERMS for w in t.avoid if w in chosen]


def test_fashion_mnist_classes_have_korean_names():
    names = dataset_info("fashion-mnist").class_names
    assert set(names) <= set(CLASS_NAMES_KO)
    assert all(HANGUL.search(CLASS_NAMES_KO[n]) for n in names)
