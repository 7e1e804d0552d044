"""The README stays true: quick-start commands, CI entry point, runnable examples.

The table of losses moved to the documentation site, where it is generated from the registry
(``docs/_ext/losskit_pages.py``; ``tests/test_docs_site.py`` checks a row and a page per loss).
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def quick_start_commands():
    section = README.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()][:2]


def test_quick_start_has_demo_then_tests():
    demo, tests = quick_start_commands()
    assert demo.endswith("losskit demo")
    assert "-m pytest" in tests
    assert "requirements/constraints.txt" in tests  # torch pinned for the test setup


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert quick_start_commands()[1] in ci.splitlines()


# The family guides moved from the README to the site keep their examples tested.
GUIDES = sorted((ROOT / "docs" / "families").glob("*.md"))


def python_blocks():
    texts = [README] + [g.read_text(encoding="utf-8") for g in GUIDES]
    return [b for text in texts for b in re.findall(r"```python\n(.*?)```", text, re.S)]


def test_readme_points_to_the_docs_build():
    assert "python docs/build.py" in README
    assert (ROOT / "docs" / "build.py").exists()


def test_readme_python_examples_run(tmp_path, monkeypatch):
    import importlib.util

    monkeypatch.chdir(tmp_path)
    blocks = python_blocks()
    assert blocks
    for block in blocks:
        needs = [m for m in ("torch", "jax") if re.search(rf"^import {m}|^from {m}", block, re.M)]
        if any(importlib.util.find_spec(m) is None for m in needs):
            continue
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
