"""Rules about the code base itself, so that names from history do not come back: tests share helpers
through tests/helpers.py (not by importing conftest or one another), and no source file cites an issue
number (an issue is history; a comment says why the code is as it is)."""

import re

import pytest
from helpers import ROOT

TESTS = sorted((ROOT / "tests").glob("*.py"))
SOURCES = sorted(
    p
    for folder in ("vae_core", "explorer", "pages", "bench", "deploy", "tests")
    for p in (ROOT / folder).rglob("*")
    if p.suffix in {".py", ".js"}
) + [ROOT / "app.py"]


@pytest.mark.parametrize("path", TESTS, ids=lambda p: p.name)
def test_tests_import_helpers_not_conftest_or_other_tests(path):
    text = path.read_text(encoding="utf-8")
    bad = re.findall(r"^\s*(?:from|import) (conftest|test_\w+)\b", text, re.M)
    assert not bad, f"{path.name} imports {bad}: put what it needs in tests/helpers.py"


def test_no_source_file_cites_an_issue_number():
    pattern = re.compile(r"\bissues? ?#?\d+|\(#\d+\)", re.I)
    cited = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in SOURCES
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not cited, f"issue numbers in code: {cited}"
