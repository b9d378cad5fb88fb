"""Every string from data reaches the DOM as text (issue #12, findings 1-2), checked in the
source of every page script and template: no HTML sinks (innerHTML, outerHTML,
insertAdjacentHTML, document.write, jQuery ``.html()``), no Leaflet tooltip, popup or
``setContent`` given a string or template literal (Leaflet renders those as HTML: give it
an element), and no ``|safe`` in templates. The browser test of the same rule with a
hostile name is tests/web/e2e/test_xss.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

STATIC = REPO / "web" / "static"
SCRIPTS = sorted(p for p in STATIC.rglob("*.js") if "vendor" not in p.parts)
TEMPLATES = sorted((REPO / "web" / "templates").rglob("*.html"))
SINKS = re.compile(r"\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|"
                   r"\.html\(")
LEAFLET_STRING = re.compile(
    r"\.(bindTooltip|bindPopup|setContent|setTooltipContent|setPopupContent)\(\s*"
    r"(['\"`]|String\(|[\w.]+\s*\+)")


def _code(path: Path) -> str:
    """The script without comments (so a comment may name what it avoids)."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"(?m)(^|[^:'\"])//.*$", r"\1", text)


def test_there_are_scripts_to_check() -> None:
    names = {p.name for p in SCRIPTS}
    assert {"gridmap.js", "planner.js", "supervisor.js", "officer.js"} <= names


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(STATIC)))
def test_scripts_put_data_into_the_dom_as_text(path: Path) -> None:
    code = _code(path)
    bad = [m.group(0) for m in SINKS.finditer(code)]
    bad += [m.group(0) for m in LEAFLET_STRING.finditer(code)]
    assert bad == [], f"{path.name}: HTML from strings: {bad}"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_templates_escape_everything(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text


def test_the_checks_catch_what_they_are_for() -> None:
    for line in ('layer.bindTooltip(String(p.name), {})', "layer.bindTooltip(`${p.name}`)",
                 'x.setContent("<b>" + name)', "l.bindPopup(name + ' ok')"):
        assert LEAFLET_STRING.search(line), line
    for line in ("box.innerHTML = html", "el.insertAdjacentHTML('beforeend', s)",
                 "$(x).html(s)"):
        assert SINKS.search(line), line
    for line in ('layer.bindTooltip(el("span", { text: name }))',
                 "l.bindPopup(() => opts.popup(f))", "L.popup().setContent(box)"):
        assert not LEAFLET_STRING.search(line) and not SINKS.search(line), line
