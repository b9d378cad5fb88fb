"""Every message code the source uses has a Chinese and an English text that fit its params.

The check reads the source (``gridmap/``, ``web/``) with :mod:`ast`: every call of
:class:`~gridmap.errors.Problem` or of an error class (any subclass of ``GridmapError``
defined in the code base) must pass a literal code as its first argument, and that code
must be in both catalogues; when the call passes its params as a literal mapping, every
placeholder of both templates must be among them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gridmap import messages
from gridmap.errors import Problem, ValidationError
from tests.conftest import REPO

CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
ROOTS = ("gridmap", "web")


def _sources() -> list[tuple[Path, ast.Module]]:
    out = []
    for root in ROOTS:
        for path in sorted((REPO / root).rglob("*.py")):
            if "static" in path.parts:
                continue
            out.append((path, ast.parse(path.read_text(encoding="utf-8"))))
    return out


def _error_classes(trees: list[tuple[Path, ast.Module]]) -> set[str]:
    names = {"Problem", "GridmapError"}
    grew = True
    while grew:
        grew = False
        for _, tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {getattr(b, "id", getattr(b, "attr", None)) for b in node.bases}
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def _calls() -> list[tuple[str, ast.Call]]:
    trees = _sources()
    classes = _error_classes(trees)
    out = []
    for path, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name in classes and node.args:
                    out.append((f"{path.relative_to(REPO)}:{node.lineno}", node))
    return out


def _params_keys(call: ast.Call) -> set[str] | None:
    """Keys of the params mapping when it is written as a literal, else None."""
    node: ast.expr | None = None
    for kw in call.keywords:
        if kw.arg == "params":
            node = kw.value
    if node is None:
        name = getattr(call.func, "id", getattr(call.func, "attr", ""))
        pos = 2 if name.endswith("ValidationError") or name in {"InputTooLarge"} else 1
        node = call.args[pos] if len(call.args) > pos else None
    if node is None:
        return set()
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) for k in node.keys):
        return {str(k.value) for k in node.keys if isinstance(k, ast.Constant)}
    return None


def test_every_message_is_a_catalogued_code() -> None:
    zh, en = messages.catalogue("zh"), messages.catalogue("en")
    bad = []
    for where, call in _calls():
        first = call.args[0]
        if isinstance(first, (ast.JoinedStr, ast.BinOp)):
            bad.append(f"{where}: a formatted sentence, not a message code")
            continue
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue  # a code passed through a variable (re-raised, mapped): checked where made
        code = first.value
        if not CODE.match(code):
            bad.append(f"{where}: {code!r} is a sentence, not a message code")
            continue
        for lang, cat in (("zh", zh), ("en", en)):
            if code not in cat:
                bad.append(f"{where}: {code} has no {lang} text")
        keys = _params_keys(call)
        if keys is not None:
            for lang, cat in (("zh", zh), ("en", en)):
                missing = messages.placeholders(cat.get(code, "")) - keys
                if missing:
                    bad.append(f"{where}: {code} ({lang}) needs {sorted(missing)}")
    assert not bad, "\n".join(bad)


def test_both_languages_have_the_same_codes_and_placeholders() -> None:
    zh, en = messages.catalogue("zh"), messages.catalogue("en")
    assert sorted(set(zh) ^ set(en)) == []
    differ = [c for c in zh if messages.placeholders(zh[c]) != messages.placeholders(en[c])]
    assert differ == []


def test_chinese_is_the_default_and_rows_are_placed_in_each_language() -> None:
    err = ValidationError("config.invalid_value",
                          [Problem("core.more_problems", {"n": 2}, row=3, field="lon")],
                          {"key": "GRIDMAP_X", "value": "y", "name": "x"})
    assert err.render("zh").startswith("设置 GRIDMAP_X 的值 'y' 对 x 无效：第 3 行，字段 lon：")
    assert str(err).startswith("setting GRIDMAP_X has an invalid value 'y' for x: row 3, field lon:")
    assert messages.render("config.invalid_value", {"key": "K"}, "fr").startswith("设置 K")


def test_an_unknown_language_has_no_catalogue() -> None:
    with pytest.raises(ValueError):
        messages.catalogue("fr")
