"""The built documentation site, as a real browser shows it (headless Chromium).

Run by the nox session ``docs`` after Sphinx built the site (``PGSQL_DOCS_SITE`` names it). Each
page is rendered twice: ``--dump-dom`` for what the page says, ``--screenshot`` for whether the
theme's CSS applied (furo's sidebar has a grey background: an unstyled page is white there) and
whether the page shows anything at all. The last two tests break a copy of the site on purpose
and check that the same checks catch it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest
from PIL import Image

SITE = Path(
    os.environ.get("PGSQL_DOCS_SITE", Path(__file__).parents[1] / "_build" / "html")
).resolve()
WIDTH, HEIGHT = 1280, 900
SIDEBAR = (0, 120, 300, HEIGHT)  # furo's left sidebar at this width (box: left, top, right, bottom)
CONTENT = (380, 0, 1120, HEIGHT)  # the article column

# the names a charm author looks up first, each documented on the pgsql page
API_NAMES = (
    "pgsql.PostgreSQLClient",
    "pgsql.ConnectionString",
    "pgsql.PostgreSQLServer",
    "pgsql.DatabaseProvider",
    "pgsql.MasterChangedEvent",
)


def _browser() -> str:
    found = os.environ.get("PGSQL_DOCS_BROWSER") or shutil.which("chromium")
    assert found, "no chromium: python3 tasks.py docs installs it (apt-get install chromium)"
    return found


def _chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        _browser(),
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        *args,
        page.as_uri(),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def render(page: Path, tmp: Path) -> tuple[str, Image.Image]:
    """The page's DOM after scripts ran, and a screenshot of its first screen."""
    shot = tmp / f"{page.stem}.png"
    dom = _chromium(page, tmp / "profile", "--dump-dom").stdout
    _chromium(page, tmp / "profile", f"--screenshot={shot}")
    image: Image.Image = Image.open(shot)
    with image:
        return dom, image.convert("RGB")


def _share(
    image: Image.Image, box: tuple[int, int, int, int], keep: Callable[[tuple[int, ...]], bool]
) -> float:
    """The share of the box's pixels that ``keep`` accepts."""
    raw = image.crop(box).tobytes()  # RGB, three bytes a pixel
    pixels = [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]
    return sum(1 for p in pixels if keep(p)) / len(pixels)


def problems(dom: str, image: Image.Image) -> list[str]:
    """What is wrong with a rendered page: nothing, for a themed page with text on it."""
    found: list[str] = []
    if 'class="sidebar-drawer"' not in dom:
        found.append("no furo sidebar in the DOM: the theme's templates did not render")
    grey = _share(image, SIDEBAR, lambda p: p != (255, 255, 255) and min(p) > 200)
    if grey < 0.5:
        found.append(f"sidebar {grey:.0%} grey: the theme's CSS did not apply")
    ink = _share(image, CONTENT, lambda p: max(p) < 160)
    if ink < 0.01:
        found.append(f"content {ink:.2%} ink: the page shows (almost) nothing")
    return found


@pytest.fixture(scope="module")
def site() -> Path:
    """The built site; building it is the docs session's first step."""
    assert (SITE / "index.html").is_file(), f"no built site at {SITE}: run python3 tasks.py docs"
    return SITE


def test_front_page_shows_the_readme_with_the_theme(site: Path, tmp_path: Path):
    """The front page is the README, themed, with the API and glossary in the navigation."""
    dom, image = render(site / "index.html", tmp_path)
    assert problems(dom, image) == []
    assert "A new charm on PostgreSQL 16" in dom  # a README heading
    assert 'href="api/pgsql.html"' in dom  # the API reference is in the navigation
    assert 'href="glossary.html"' in dom


def test_api_page_documents_the_public_names_with_links_out(site: Path, tmp_path: Path):
    """The pgsql page documents the main classes and links to the ops and Python docs."""
    dom, image = render(site / "api" / "pgsql.html", tmp_path)
    assert problems(dom, image) == []
    missing = [name for name in API_NAMES if f'id="{name}"' not in dom]
    assert missing == []
    assert 'href="https://ops.readthedocs.io/en/latest/reference/ops.html#ops.' in dom
    assert 'href="https://docs.python.org/3/library/' in dom


def test_check_catches_a_site_whose_theme_css_is_gone(site: Path, tmp_path: Path):
    """Without its stylesheets the page is unstyled, and the check says so."""
    broken = tmp_path / "site"
    shutil.copytree(site, broken)
    for css in (broken / "_static").rglob("*.css"):
        css.write_text("")
    dom, image = render(broken / "api" / "pgsql.html", tmp_path)
    assert any("CSS did not apply" in p for p in problems(dom, image))


def test_check_catches_an_empty_page(site: Path, tmp_path: Path):
    """A page with nothing in it fails the check."""
    broken = tmp_path / "site"
    shutil.copytree(site, broken)
    page = broken / "api" / "pgsql.html"
    page.write_text("<!doctype html><html><head><title>pgsql</title></head><body></body></html>")
    dom, image = render(page, tmp_path)
    found = problems(dom, image)
    assert any("shows (almost) nothing" in p for p in found)
    assert any("no furo sidebar" in p for p in found)
