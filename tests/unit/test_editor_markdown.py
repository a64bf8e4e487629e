"""The visual editor's Markdown is canonical and stable: a round trip through its own code.

``frontend/roundtrip.mjs`` parses each text into the editor's document model and writes it
back as Markdown, with the very extensions the browser bundle uses. Three promises are
checked over every construct drafting/text/markdown.py renders, the demo paper and the
benchmark paper:

* canonical text (what the editor writes) comes back byte for byte;
* any other spelling comes back as a text that renders to the same document, and that
  canonical text is a fixed point;
* nothing the renderer shows is lost.

Needs Node.js and ``frontend/node_modules`` (``make assets``); skipped without them
locally, a failure in CI (the ``node`` marker, tests/conftest.py).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.common import markdown_section
from drafting.demo import SECTIONS
from drafting.text.markdown import render

pytestmark = [pytest.mark.node, pytest.mark.filterwarnings("error")]

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"

# Canonical: exactly what the editor writes, one construct (or a mix) per text.
CANONICAL = [
    "Ein Absatz.",
    "Erster Absatz.\n\nZweiter Absatz.",
    "Weicher\nZeilenumbruch im Absatz.",
    "Harter\\\nZeilenumbruch.",
    "**fett** und *kursiv* und ***beides***",
    "`Code` im Satz und `a < b`",
    "~~gestrichen~~",
    '[Link](https://example.org) und [mit Titel](https://example.org/a "Titel")',
    "[Mail](mailto:info@example.org) und [relativ](/papers/1) und [Anker](#abschnitt-2)",
    "# Zwischenüberschrift",
    "## Unterüberschrift",
    "### Dritte Ebene",
    "- eins\n- zwei\n- drei",
    "- eins\n  - zwei\n    - drei\n- vier",
    "1. erstens\n2. zweitens",
    "3. drei\n4. vier",
    "1. erstens\n   - Unterpunkt\n2. zweitens",
    "- Punkt\n  1. nummeriert\n     - tief",
    "> Zitat\n> weiter",
    "> Zitat mit **fett**\n>\n> und zweitem Absatz",
    "---",
    "Absatz\n\n---\n\nAbsatz",
    "```\nCode-Block\n```",
    "```python\nif a < b:\n    pass\n```",
    "| Maßnahme | Kosten |\n|---|---:|\n| Radweg | 1.200 |\n| Brücke | 300 |",
    "| links | mitte | rechts | ohne |\n|:---|:---:|---:|---|\n| a | b | c | d |",
    "| Zelle mit **fett** | `x\\|y` |\n|---|---|\n| [Link](https://example.org) | *k* |",
    "Sternchen \\* und Unterstrich a\\_b und \\`Backtick\\`",
    "\\# keine Überschrift\n\n1\\. keine Liste\n\n\\- kein Punkt\n\n\\> kein Zitat",
    "Umlaute äöüß und „Anführungszeichen“ – Gedankenstrich … € §",
    "Zahlen 5 \\* 3 und 100 % und 1 < 2 > 0, Bund & Länder",
    "Entität als Text &amp;amp; und Tag als Text &lt;b>",
    # footnotes and figures (frontend/src/notes.js)
    "Satz mit Fußnote[^1] und zweiter[^2].\n\n[^1]: Die erste Notiz.\n[^2]: Zweite mit **fett**.",
    "Benannte Notiz[^quelle].\n\n[^quelle]: Erster Absatz.\n\n    Zweiter Absatz der Notiz.",
    "- Punkt mit Fußnote[^1]\n\n[^1]: Notiz mit [Link](https://example.org)",
    "| Maßnahme | Kosten[^1] |\n|---|---:|\n| Radweg | 1.200 |\n\n[^1]: in Euro",
    "![Karte der Region](figure:12)",
    "Vorher.\n\n![Bild \\[1\\] mit \\\\ Backslash](figure:3)\n\nNachher[^1].\n\n[^1]: Quelle: Amt.",
    "![](figure:4)",
]

# Other spellings of the same constructs: the editor rewrites them canonically.
OTHER_SPELLINGS = [
    "_kursiv_ und __fett__",
    "* eins\n* zwei",
    "1) eins\n2) zwei",
    "Titel\n=====\n\nUnter\n-----",
    "# Überschrift #",
    "***\n\n___",
    "    eingerückter Code",
    "~~~\nCode\n~~~",
    "eins  \nzwei",
    "| a | b |\n|:-|-:|\n|x|y|",
    "| a      | b     |\n| ------ | ----- |\n| x      | y     |",
    "- locker\n\n- getrennt",
    "Absatz\n\n\n\nnach vielen Leerzeilen",
    "  Absatz mit Einzug",
    "<https://example.org/auto>",
    "Notiz[^1]\n\n[^1]: weiter\nauf der nächsten Zeile",
    "Notizen[^1][^2]\n\n[^1]: eins\n\n[^2]: zwei",
    "![Abbildung](figure:7)   \n\nText",
]


def _roundtrip(texts: list[str]) -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (the editor round trip runs its JavaScript)")
    if not (FRONTEND / "node_modules").is_dir():
        pytest.skip("frontend/node_modules is missing: run `make assets`")
    done = subprocess.run(  # noqa: S603 - fixed script, input on stdin
        [node, "roundtrip.mjs"],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        cwd=FRONTEND,
        timeout=120,
        check=True,
    )
    result: list[str] = json.loads(done.stdout)
    assert len(result) == len(texts)
    return result


def _document(markdown: str) -> str:
    """Return the rendered HTML with whitespace and list looseness evened out.

    The editor writes every list tight; a loose list (blank lines between items) renders
    its items in <p>, which is the only difference it is allowed to make.
    """
    html = re.sub(r"\s+", " ", str(render(markdown)))
    # footnote anchors are prefixed with a digest of the text
    html = re.sub(r"(fn|fnref)-[0-9a-f]{8}-", r"\1-", html)
    html = re.sub(r"<li>\s*<p>", "<li>", html)
    html = re.sub(r"</p>\s*(</li>|<ul>|<ol)", r"\1", html)
    return re.sub(r">\s+<", "><", html).strip()


@pytest.fixture(scope="module")
def roundtrip() -> dict[str, str]:
    """Every text of this module, sent through the editor once (one Node process)."""
    texts = sorted({*CANONICAL, *OTHER_SPELLINGS, *_demo_bodies(), *_bench_bodies()})
    outputs = _roundtrip(texts)
    again = _roundtrip(sorted(set(outputs)))
    table = dict(zip(texts, outputs, strict=True))
    table.update(
        {f"again:{text}": out for text, out in zip(sorted(set(outputs)), again, strict=True)}
    )
    return table


def _demo_bodies() -> list[str]:
    return [body for _level, versions in SECTIONS for _title, body, _who, _note in versions]


def _bench_bodies() -> list[str]:
    return [markdown_section(random.Random(seed), 4000) for seed in range(8)]


@pytest.mark.parametrize("text", CANONICAL)
def test_canonical_markdown_comes_back_byte_for_byte(roundtrip: dict[str, str], text: str):
    assert roundtrip[text] == text


@pytest.mark.parametrize("text", OTHER_SPELLINGS)
def test_other_spellings_become_canonical_and_render_the_same(roundtrip: dict[str, str], text: str):
    out = roundtrip[text]
    assert _document(out) == _document(text)
    assert roundtrip[f"again:{out}"] == out, "the canonical form must be a fixed point"


@pytest.mark.parametrize("index", range(len(_demo_bodies())))
def test_demo_paper_comes_back_unchanged(roundtrip: dict[str, str], index: int):
    body = _demo_bodies()[index]
    assert roundtrip[body] == body


@pytest.mark.parametrize("seed", range(len(_bench_bodies())))
def test_benchmark_paper_renders_the_same_and_is_stable(roundtrip: dict[str, str], seed: int):
    body = _bench_bodies()[seed]
    out = roundtrip[body]
    assert _document(out) == _document(body)
    assert roundtrip[f"again:{out}"] == out


def test_every_construct_of_the_renderer_is_covered():
    """The canonical corpus exercises every tag the renderer can produce from Markdown."""
    produced = set()
    for text in CANONICAL:
        produced |= set(re.findall(r"<(\w+)[\s>]", str(render(text))))
    # "#" is h3, "##" h4 (issue 15: sub-headings of a level-1 section); sup comes from
    # footnotes, figure/figcaption/img from figures; sub/ins/b/i only from raw HTML, which
    # the editor opens as source (see frontend/src/markdown.js, lossy()).
    expected = set(
        "a blockquote br code em h3 h4 hr li ol p pre s strong".split()
        + "table thead tbody tr th td ul".split()
        + "sup section figure figcaption img".split()
    )
    assert expected <= produced, expected - produced


# Where the editor's parser (marked, through @tiptap/markdown) reads CommonMark differently
# from the renderer (markdown-it): an edit in the visual editor would change these
# documents. Kept as strict xfails so that a fixed parser shows up here.
KNOWN_MISREADINGS = [
    # an ordered list in a bullet list in an ordered list loses one level
    "1. a\n   - b\n     1. c",
    # a change of bullet character starts a new list in CommonMark, not in marked
    "* eins\n* zwei\n\n+ drei",
]


@pytest.mark.xfail(strict=True, reason="marked and markdown-it disagree on these lists")
@pytest.mark.parametrize("text", KNOWN_MISREADINGS)
def test_known_misreadings_of_the_editor_parser(text: str):
    [out] = _roundtrip([text])
    assert _document(out) == _document(text)
