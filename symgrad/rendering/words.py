"""The prose of a worked example, per language. Every surface takes its words from here, so a
new language is one more table and a missing word is caught by a test, not by a reader.

Korean follows the lecture notes symgrad grew from (순전파, 역전파, 가중치 갱신).
"""

from __future__ import annotations

from ..errors import SymgradError

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Worked example",
        "model": "Model",
        "inputs": "inputs",
        "params": "parameters",
        "loss_of": "loss",
        "definitions": "Definitions",
        "point": "Example point",
        "forward": "Forward pass",
        "loss": "Loss",
        "backward": "Backward pass",
        "gradients": "Gradients",
        "update": "Update",
        "closed": "Closed form",
        "mean": "per sample; a batch takes the mean",
        "sum": "per sample; a batch takes the sum",
        "batch": "values over a batch: substitutions are left out",
        "learning_rate": "learning rate",
        "variable": "variable",
        "gradient": "gradient",
        "value": "value",
        "updated": "after the update",
        "unsimplified": "not simplified in time, shown as substituted",
        "omitted": "formula too long to read, value only",
        "hessian": "Second derivatives (the Hessian, its rows and columns in the order of the "
        "variables)",
        "hvp": "Second order: Hessian-vector products (the Hessian of a matrix model has a row "
        "and a column per entry, so symgrad gives its product with a direction v: the backward "
        "pass derived again, with Hv as the loss; the gradient of Hv is the Hessian times v; "
        "where the variables are vectors or numbers, each block of second derivatives by two "
        "variables is written out as a formula, a column times a matrix entry by entry scaling "
        "the matrix's rows, as diag(c) X does; a model of at most 10 entries ends with the "
        "matrix, over the entries in order)",
    },
    "ko": {
        "title": "풀이",
        "model": "모델",
        "inputs": "입력",
        "params": "매개변수",
        "loss_of": "손실",
        "definitions": "정의",
        "point": "예제 값",
        "forward": "순전파",
        "loss": "손실",
        "backward": "역전파",
        "gradients": "기울기",
        "update": "가중치 갱신",
        "closed": "닫힌 형태",
        "mean": "표본 하나의 값, 배치에서는 평균",
        "sum": "표본 하나의 값, 배치에서는 합",
        "batch": "배치의 값이므로 대입 과정은 생략",
        "learning_rate": "학습률",
        "variable": "변수",
        "gradient": "기울기",
        "value": "값",
        "updated": "갱신 후",
        "unsimplified": "시간 안에 정리되지 않아 대입한 그대로",
        "omitted": "식이 너무 길어 값만 표시",
        "hessian": "이계 도함수 (헤세 행렬, 행과 열은 변수 순서)",
        "hvp": "이계 도함수: 헤세 행렬-벡터 곱 (행렬 모델의 헤세 행렬은 성분마다 행과 열이 "
        "있으므로, 방향 v와의 곱을 구한다: 역전파를 Hv를 손실로 하여 다시 미분하면, Hv의 기울기가 "
        "헤세 행렬과 v의 곱이다; 변수가 벡터나 수이면 두 변수에 대한 이계 도함수 블록마다 식으로 "
        "쓰고, 열벡터와 행렬의 성분별 곱은 diag(c) X처럼 행렬의 행을 곱한다; 성분이 10개 이하인 "
        "모델은 끝에 그 행렬을 성분 순서대로 보인다)",
    },
}

LANGUAGES = tuple(WORDS)


def words_for(lang: str) -> dict[str, str]:
    """The word table of ``lang``; an unknown language is one clear error."""
    try:
        return WORDS[lang]
    except KeyError:
        raise SymgradError(
            f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}"
        ) from None
