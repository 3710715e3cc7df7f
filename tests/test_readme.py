"""The README's and the docs' commands are a test: every `python -m MODULE` they show exists, and every
option they give the command line (`vae_core` and the benchmarks they name) is one that command accepts.
Their relative links point at files, and headings, that exist."""

import importlib.util
import re
import subprocess
import sys
import unicodedata
from functools import cache
from pathlib import Path

import pytest
from helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
TEXT = {p: p.read_text(encoding="utf-8") for p in PAGES}
# `python -m module [args]` up to the end of its code span, table cell, comment or line
COMMAND = re.compile(r"python -m ([A-Za-z_][\w.]*)([^`|#\n]*)")
COMMANDS = sorted({(m.group(1), m.group(2).strip()) for t in TEXT.values() for m in COMMAND.finditer(t)})
CHECKED = (
    "vae_core",
    "bench.load_test",
    "bench.train_speed",
    "bench.app_latency",
    "bench.scale_out",
    "bench.class_store",
)
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@cache
def help_text(module: str, sub: str | None) -> str:
    args = [sys.executable, "-m", module, *([sub] if sub else []), "--help"]
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{' '.join(args[1:])} failed:\n{r.stderr[-2000:]}"
    return r.stdout


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    body = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", body, re.M)}


def test_the_readme_shows_how_to_run_and_test():
    blocks = "\n".join(FENCE.findall(README))
    for command in ("pip install -r requirements.txt", "streamlit run app.py", "\npytest\n"):
        assert command in blocks, f"the README's code blocks lack {command.strip()!r}"


def test_the_docs_show_commands():
    assert {m for m, _ in COMMANDS} >= {"vae_core", "bench.load_test", "deploy.replicas", "explorer.https"}


@pytest.mark.parametrize("module", sorted({m for m, _ in COMMANDS}))
def test_every_module_the_docs_run_exists(module):
    assert importlib.util.find_spec(module) is not None, f"the docs run python -m {module}, which is not there"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(FENCE.sub("", TEXT[page])):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(target)
    assert not broken, f"{page.name}: links to nothing: {broken}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "module, args", [c for c in COMMANDS if c[0] in CHECKED], ids=lambda v: v if isinstance(v, str) else None
)
def test_every_option_the_docs_give_is_accepted(module, args):
    words = args.split()
    sub = words[0] if module == "vae_core" and words and not words[0].startswith("-") else None
    text = help_text(module, sub)
    flags = [w.split("=")[0] for w in re.findall(r"(?<![\w-])--[a-z][\w-]*", args)]
    missing = [f for f in flags if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text)]
    assert not missing, f"python -m {module} {args}: {missing} not in its --help"
