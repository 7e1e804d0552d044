"""The documentation site: built with warnings as errors, complete, offline, and working in a
real browser (Debian's chromium, driven by selenium).

The site is built once per test run (``docs/build.py``'s command) into ``build/docs/html``;
under pytest-xdist the workers share that build through a file lock. Figures and tutorial
outputs are cached by content (``build/docs-cache``), so a rebuild with nothing changed
executes nothing. Screenshots go to ``$LOSSKIT_ARTIFACTS`` (default ``build/artifacts``).
"""

from __future__ import annotations

import functools
import http.server
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import uuid

import pytest

import losskit
from losskit import _meta

pytest.importorskip("sphinx")
pytest.importorskip("furo")

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "docs" / "html"
ARTIFACTS = pathlib.Path(os.environ.get("LOSSKIT_ARTIFACTS", ROOT / "build" / "artifacts"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# One id for this pytest run, shared by its xdist workers: the first builds, the rest reuse.
RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex


@pytest.fixture(scope="session")
def site() -> pathlib.Path:
    from filelock import FileLock

    OUT.parent.mkdir(parents=True, exist_ok=True)
    stamp = OUT.parent / "built-by-run"
    with FileLock(str(OUT.parent / "build.lock")):
        if not (stamp.exists() and stamp.read_text() == RUN_ID):
            stamp.unlink(missing_ok=True)
            # A fresh build (-E): with -W an incremental one would not re-report the warnings
            # of documents it does not reread.
            proc = subprocess.run(
                [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-E", "-q",
                 str(ROOT / "docs"), str(OUT)],
                capture_output=True, text=True, cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            )
            assert proc.returncode == 0, f"the docs build failed:\n{proc.stderr[-6000:]}"
            stamp.write_text(RUN_ID)
    return OUT


def test_every_registered_loss_has_a_page_and_a_row(site):
    index = (site / "losses" / "index.html").read_text(encoding="utf-8")
    for info in losskit.registry.infos():
        page = site / "losses" / f"{info.name}.html"
        assert page.exists(), f"no page for the registered loss {info.name}"
        html = page.read_text(encoding="utf-8")
        assert f'id="losskit.{info.name}"' in html or f'id="{info.path}"' in html, \
            f"{info.name}: its page lacks the docstring (autodoc)"
        assert f'href="{info.name}.html"' in index, f"losses/index.html has no row for {info.name}"


def test_every_family_has_a_page_listing_its_losses(site):
    for family in _meta.FAMILIES:
        names = losskit.registry.names(family)
        if not names:
            continue
        html = (site / "losses" / f"{family}.html").read_text(encoding="utf-8")
        for name in names:
            assert f'href="{name}.html"' in html, f"the {family} page does not list {name}"


# ---------------------------------------------------------------------------- family guides

GUIDES = ROOT / "docs" / "families"
GUIDE_COLUMNS = ["situation", "reach for", "why", "trade-off"]


def _families():
    return [f for f in _meta.FAMILIES if losskit.registry.names(f)]


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", fragment)).strip()


def test_every_family_page_opens_with_its_guide_table(site):
    """The hand-written guide (docs/families/<family>-guide.md) comes before the generated
    table: situation / reach for / why / trade-off, 5 to 10 rows, each naming what to reach
    for as a link (a loss page, or the API page of a ``losskit.torch`` module)."""
    for family in _families():
        html = (site / "losses" / f"{family}.html").read_text(encoding="utf-8")
        start = html.find('<section id="which-loss-for-which-situation">')
        assert start >= 0, f"the {family} page has no guide (docs/families/{family}-guide.md)"
        assert start < html.find('<section id="the-losses">'), f"{family}: the guide is not first"
        guide = html[start:html.find("<section", start + 1)]  # up to the next section
        header = [_text(th) for th in re.findall(r"<th\b[^>]*>(.*?)</th>", guide, re.S)]
        assert header == GUIDE_COLUMNS, f"{family}: the guide table's columns are {header}"
        body = guide.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        rows = re.findall(r"<tr\b[^>]*>(.*?)</tr>", body, re.S)
        assert 5 <= len(rows) <= 10, f"{family}: {len(rows)} rows in the guide table"
        for row in rows:
            cells = re.findall(r"<td\b[^>]*>(.*?)</td>", row, re.S)
            assert len(cells) == 4 and all(_text(c) for c in cells), f"{family}: a row with an empty cell: {row}"
            assert 'class="reference internal"' in cells[1], \
                f"{family}: {_text(cells[1])!r} is not a link (use {{doc}}`name`)"
            for page in re.findall(r'href="(\w+)\.html"', cells[1]):
                assert page in losskit.registry.names(), f"{family}: the guide links to {page}.html"


def test_the_guides_name_registered_losses_only():
    """A loss renamed or removed fails here, naming the guide: every ``{doc}`` target of a
    guide is a registered loss (or a family page or a tutorial), and every name in backticks
    ending in ``_loss`` is a registered loss or alias. Every guide belongs to a family."""
    names = set(losskit.registry.names())
    known = names | {a for info in losskit.registry.infos() for a in info.aliases}
    families = _families()
    for path in sorted(GUIDES.glob("*-guide.md")):
        assert path.name.removesuffix("-guide.md") in families, f"{path.name} names no family"
        text = path.read_text(encoding="utf-8")
        targets = re.findall(r"\{doc\}`(?:[^`<]*<)?([^`<>]+)>?`", text)
        assert targets, f"{path.name} links to no loss"
        for target in targets:
            if not target.startswith("../tutorials/"):
                assert target in names or target in families, f"{path.name}: {{doc}}`{target}` is no registered loss"
        plain = re.sub(r"\{doc\}`[^`]*`", "", text)
        for span in re.findall(r"`([^`]+)`", plain):
            for name in re.findall(r"(?<![\w.])([a-z][a-z0-9_]*_loss)\b", span):
                assert name in known, f"{path.name}: `{name}` is no registered loss or alias"


def test_a_loss_page_shows_formula_figure_peer_and_fast_paths(site):
    html = (site / "losses" / "dice_loss.html").read_text(encoding="utf-8")
    assert "_images/dice_loss.png" in html
    assert re.search(r"MONAI \d+\.\d+", html), "the peer and its version are named"
    assert "segmentation.numba" in html or "segmentation.torch" in html, "its fast paths are listed"
    assert r"\frac" in html, "the formula is on the page (rendered by MathJax in the browser)"


def test_cli_help_texts_are_on_the_site(site):
    from losskit.cli import build_parser

    html = (site / "api" / "cli.html").read_text(encoding="utf-8")
    for sub in ("list", "info", "eval", "plot", "demo", "simulate"):
        assert f"losskit {sub} --help" in html
    assert build_parser().description in html


def test_nothing_is_loaded_from_another_host(site):
    """Offline: no script, stylesheet, font or image from the network."""
    remote = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["'](?:https?:)?//""", re.I)
    url_in_css = re.compile(r"""url\(\s*["']?(?:https?:)?//""", re.I)
    for path in site.rglob("*.html"):
        found = remote.search(path.read_text(encoding="utf-8"))
        assert found is None, f"{path.relative_to(site)} loads {found.group(0)!r}"
    for path in (site / "_static").rglob("*.css"):
        assert url_in_css.search(path.read_text(encoding="utf-8", errors="replace")) is None, path


# ---------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def browser(site):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("no chromium/chromedriver: apt-get install -y chromium chromium-driver (.ci/run does)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    # A local server, as a user's `python -m http.server` would be (file:// pages may not
    # run the search's scripts in every browser).
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))

    class Quiet(handler.func):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1400", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver's path is given: Selenium Manager never tries to download one.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield driver
    finally:
        driver.quit()
        server.shutdown()


def _open(driver, page: str):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(driver.base + page)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    # MathJax typesets after the load event: wait for it to finish (when the page has math).
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return !document.querySelector('div.math, span.math') || "
        "(window.MathJax !== undefined && MathJax.startup !== undefined && "
        " MathJax.startup.document !== undefined && "
        " MathJax.startup.document.getMathItemsWithin(document.body).every(m => m.state() >= 200)) && "
        " document.querySelectorAll('mjx-container').length > 0"))


def _check_page(driver, page: str):
    _open(driver, page)
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"{page}: console errors {errors}"
    text = driver.find_element("tag name", "body").text
    for raw in (r"\frac", r"\mathcal", r"\sum", r"\begin"):
        assert raw not in text, f"{page}: raw LaTeX {raw!r} left in the text (math not rendered)"
    broken = driver.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert not broken, f"{page}: images that did not load: {broken}"
    return driver


def _pages():
    families = [f for f in _meta.FAMILIES if losskit.registry.names(f)]
    sample = ["dice_loss", "ciou_loss", "cross_entropy", "adasp_loss", "huber_loss", "mean_squared_error"]
    sample = [n for n in sample if n in losskit.registry.names()]
    return (["index.html", "losses/index.html"] + [f"losses/{f}.html" for f in families]
            + [f"losses/{n}.html" for n in sample]
            + ["tutorials/why_loss.html", "tutorials/box_losses.html", "tutorials/metric_learning.html"])


def test_pages_load_render_math_and_images(browser):
    rendered = 0
    for page in _pages():
        _check_page(browser, page)
        rendered += browser.execute_script("return document.querySelectorAll('mjx-container').length")
    assert rendered > 50, "MathJax rendered the formulas"


def test_search_finds_a_loss_by_name(browser):
    from selenium.webdriver.support.ui import WebDriverWait

    _open(browser, "search.html?q=tversky_loss")
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements("css selector", "#search-results ul.search li a"))
    links = [a.get_attribute("href") for a in browser.find_elements("css selector", "#search-results ul.search li a")]
    assert any(link.split("#")[0].endswith("losses/tversky_loss.html") for link in links), links
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_screenshots_for_the_ci_artifacts(browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for page, name in (("index.html", "docs-index.png"), ("losses/dice_loss.html", "docs-dice_loss.png")):
        _check_page(browser, page)
        path = ARTIFACTS / name
        assert browser.save_screenshot(str(path)), f"no screenshot for {page}"
        assert path.stat().st_size > 10_000, f"{path} is (nearly) empty"
