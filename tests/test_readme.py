"""The README's commands are a test: every `python -m MODULE` it shows exists, and every option it
gives the command line (`vae_core` and the benchmarks it names) is one that command accepts."""

import importlib.util
import re
import subprocess
import sys
from functools import cache

import pytest
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
# `python -m module [args]` up to the end of its code span, table cell, comment or line
COMMAND = re.compile(r"python -m ([A-Za-z_][\w.]*)([^`|#\n]*)")
COMMANDS = sorted({(m.group(1), m.group(2).strip()) for m in COMMAND.finditer(README)})
CHECKED = ("vae_core", "bench.load_test", "bench.train_speed", "bench.app_latency", "bench.scale_out")


@cache
def help_text(module: str, sub: str | None) -> str:
    args = [sys.executable, "-m", module, *([sub] if sub else []), "--help"]
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{' '.join(args[1:])} failed:\n{r.stderr[-2000:]}"
    return r.stdout


def test_the_readme_shows_commands():
    assert {m for m, _ in COMMANDS} >= {"vae_core", "bench.load_test", "deploy.replicas", "explorer.https"}


@pytest.mark.parametrize("module", sorted({m for m, _ in COMMANDS}))
def test_every_module_the_readme_runs_exists(module):
    assert importlib.util.find_spec(module) is not None, f"README runs python -m {module}, which is not there"


@pytest.mark.slow
@pytest.mark.parametrize(
    "module, args", [c for c in COMMANDS if c[0] in CHECKED], ids=lambda v: v if isinstance(v, str) else None
)
def test_every_option_the_readme_gives_is_accepted(module, args):
    words = args.split()
    sub = words[0] if module == "vae_core" and words and not words[0].startswith("-") else None
    text = help_text(module, sub)
    flags = [w.split("=")[0] for w in re.findall(r"(?<![\w-])--[a-z][\w-]*", args)]
    missing = [f for f in flags if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text)]
    assert not missing, f"python -m {module} {args}: {missing} not in its --help"
