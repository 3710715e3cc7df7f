"""One Korean term per concept: what the app calls each idea in Korean, and the words it avoids.

A Korean teacher reading the app should meet one word for one idea on every page. `TERMS` lists
the chosen term and the variants that mean the same thing and must not appear; tests/test_glossary.py
checks every Korean text in the code and the lessons against it. When you write Korean, use the term
here; when you need a new one, add it here first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    en: str  # the concept, in English
    ko: str  # the one Korean term the app uses
    avoid: tuple[str, ...] = ()  # Korean variants that must not appear anywhere


TERMS = (
    Term("reparameterisation trick", "재매개변수화 트릭", ("재매개변수화 기법", "재파라미터화", "리파라미터화")),
    Term("Gaussian", "가우시안", ("가우스 ", "가우스분포")),
    Term("sample", "샘플", ("표본",)),
    Term("reconstruction", "재구성", ("복원",)),
    Term("likelihood", "우도", ("가능도",)),
    Term("active unit (a latent dimension whose KL is above 0.01 nats)", "활성 차원", ("활성 단위", "활성 유닛")),
    Term("posterior collapse", "사후분포 붕괴", ("사후 붕괴", "후방 붕괴")),
    Term("posterior", "사후분포", ("사후 분포",)),
    Term("prior", "사전분포", ("사전 분포",)),
    Term("the active model", "사용 중인 모델", ("활성 모델", "현재 모델")),
    Term("inverse CDF", "역 CDF", ("역누적분포", "역CDF")),
    Term("rate", "레이트", ("전송률",)),
    Term("distortion", "왜곡"),
    Term("encoder", "인코더", ("부호기",)),
    Term("decoder", "디코더", ("복호기",)),
    Term("latent space", "잠재 공간", ("잠재공간",)),
    Term("evidence lower bound", "증거 하한", ("증거하한",)),
    Term("epoch", "에폭", ("에포크",)),
    Term("batch size", "배치 크기", ("배치사이즈", "배치 사이즈")),
    Term("manifold", "매니폴드", ("다양체",)),
    Term("importance-weighted", "중요도 가중", ("중요도가중",)),
    Term("teacher key", "교사 키", ("선생님 키", "교사키")),
    Term("class gallery", "우리 반 갤러리"),
    Term("test set", "테스트 세트", ("시험 세트", "테스트셋")),
    Term("a tighter bound (say: closer to log p(x))", "log p(x)에 더 가까워", ("빡빡",)),
    Term("to measure", "측정하기", ("재기",)),
)

# Class names as a Korean class would say them (datasets whose names are English words).
CLASS_NAMES_KO = {
    "T-shirt/top": "티셔츠/탑",
    "Trouser": "바지",
    "Pullover": "풀오버",
    "Dress": "드레스",
    "Coat": "코트",
    "Sandal": "샌들",
    "Shirt": "셔츠",
    "Sneaker": "스니커즈",
    "Bag": "가방",
    "Ankle boot": "앵클부츠",
}


def avoided_in(text: str) -> list[tuple[str, Term]]:
    """The avoided variants found in `text`, each with the term to use instead."""
    return [(word, term) for term in TERMS for word in term.avoid if word in text]
