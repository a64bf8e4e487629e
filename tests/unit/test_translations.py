"""The German catalog is complete, matches the source and its compiled .mo; English is the source.

German is the default locale and must be complete. When one of these tests fails after you
added or changed a UI string, update the catalogs as ``babel.cfg`` describes: ``make
translations`` (extract, update, compile), translate the new msgids in
``drafting/translations/de/LC_MESSAGES/messages.po``, then ``make compile-translations``.

There is no English catalog on purpose: the msgids are the English text.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "drafting" / "translations"
DE_PO = TRANSLATIONS / "de" / "LC_MESSAGES" / "messages.po"
DE_MO = TRANSLATIONS / "de" / "LC_MESSAGES" / "messages.mo"

# The same options as the documented `pybabel extract` (see babel.cfg).
EXTRACT_ARGS = [
    "extract",
    "-F",
    "babel.cfg",
    *("-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2"),
    *("-k", "lazy_pgettext:1c,2", "-k", "lazy_npgettext:1c,2,3"),
    "--add-comments=Translators:",
    "--no-wrap",
]

# %(name)s, %s, %d … and the escaped %% — what Python's %-formatting (and Jinja's
# newstyle gettext, which always formats) sees in a string.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +-]?\d*(?:\.\d+)?[sdifreEgGxXoc%]")

# Glossary (shared/GLOSSARY.md): an English term in a msgid asks for its German word in
# the msgstr. Case-insensitive; the German side is a substring ("Fassungen", "Ausgangsfassung").
GLOSSARY = [
    (r"\bversions?\b", "fassung"),
    (r"\bsections?\b", "abschnitt"),
    (r"\bpapers?\b|\bpaper's\b", "konzeptpapier"),
    (r"\bsign-?off\b", "mitzeichnung"),
    (r"(?<!final )\beditions?\b", "gesamtfassung"),  # the final edition: "Endfassung"
    (r"\bsuggestions?\b", "änderungsvorschl"),
    (r"\bdrafts?\b", "entwurf"),
    (r"\bcoordinators?\b", "koordination"),
    (r"\breviewers?\b", "prüfer"),
    (r"\bsignator(y|ies)\b", "zeichnungsberechtigte"),
    (r"\breview(s|ed|ing)?\b", "prüf"),
    (r"\bdue\b", "frist"),
    (r"\bactivity log\b", "protokoll"),
    (r"\bdeadlines?\b", "frist"),
]
# msgids where a glossary word is used in another sense, with the reason.
GLOSSARY_EXCEPTIONS: dict[str, str] = {
    "Edition": "Word title page: the glossary's short form 'Stand' before the edition's label",
    "Working draft": "Word title page: 'Arbeitsstand' where no edition is frozen yet",
}

# Formal address only: no "du", "dich", "dir", "dein…", "euch", "euer".
INFORMAL = re.compile(r"\b(du|dich|dir|dein\w*|euch|euer\w*|eure\w*)\b", re.IGNORECASE)


def _key(message: Message) -> tuple[object, str | None]:
    msgid = tuple(message.id) if isinstance(message.id, list | tuple) else message.id
    return msgid, message.context


def _strings(message: Message) -> list[str]:
    if isinstance(message.string, list | tuple):
        return list(message.string)
    return [message.string or ""]


def _ids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, list | tuple) else [message.id]


def _messages(catalog: Catalog) -> Iterable[Message]:
    return (m for m in catalog if m.id)


def _show(keys: Iterable[tuple[object, str | None]]) -> str:
    return "\n".join(f"  {msgid!r}" + (f" (context {ctx!r})" if ctx else "") for msgid, ctx in keys)


@pytest.fixture(scope="module")
def de_catalog() -> Catalog:
    """The German catalog as committed."""
    with DE_PO.open("rb") as fh:
        return read_po(fh, locale="de")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """Extract the UI strings from the current source, exactly as the documented command."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *EXTRACT_ARGS, "-o", str(pot), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"pybabel extract failed:\n{result.stderr[-3000:]}"
    with pot.open("rb") as fh:
        return read_po(fh)


def test_catalogs_exist() -> None:
    assert (ROOT / "babel.cfg").is_file()
    assert DE_PO.is_file()
    assert DE_MO.is_file(), "run: .venv/bin/pybabel compile -d drafting/translations"


def test_every_german_msgstr_is_filled_in_and_not_fuzzy(de_catalog: Catalog) -> None:
    untranslated = [_key(m) for m in _messages(de_catalog) if not all(_strings(m))]
    fuzzy = [_key(m) for m in _messages(de_catalog) if m.fuzzy]
    assert not untranslated, f"{len(untranslated)} msgids without German text:\n" + _show(
        untranslated
    )
    assert not fuzzy, "fuzzy German translations (check them, then drop the flag):\n" + _show(fuzzy)


def test_placeholders_of_msgstr_equal_those_of_msgid(de_catalog: Catalog) -> None:
    wrong = []
    for message in _messages(de_catalog):
        ids = _ids(message)
        want = Counter(PLACEHOLDER.findall(ids[-1]))
        for index, string in enumerate(_strings(message)):
            got = Counter(PLACEHOLDER.findall(string))
            # The singular of a plural may leave out the count ("ein Abschnitt").
            singular_of_plural = len(ids) > 1 and index == 0
            if got != want and not (singular_of_plural and got <= want):
                wrong.append(f"  {message.id!r}\n    -> {string!r}: {dict(got)} != {dict(want)}")
    assert not wrong, "placeholders differ between msgid and msgstr:\n" + "\n".join(wrong)


def test_babel_finds_no_format_errors(de_catalog: Catalog) -> None:
    problems = [
        f"  {message.id!r}: {'; '.join(str(e) for e in errors)}"
        for message, errors in de_catalog.check()
    ]
    assert not problems, "Babel's catalog check failed:\n" + "\n".join(problems)


def test_every_extracted_msgid_is_in_the_german_catalog(
    extracted: Catalog, de_catalog: Catalog
) -> None:
    known = {_key(m) for m in _messages(de_catalog)}
    missing = sorted((k for k in map(_key, _messages(extracted)) if k not in known), key=str)
    assert not missing, (
        f"{len(missing)} UI strings are not in the German catalog; run pybabel extract/update, "
        "translate them and compile (see babel.cfg):\n" + _show(missing)
    )


def test_german_catalog_has_no_stale_msgids(extracted: Catalog, de_catalog: Catalog) -> None:
    used = {_key(m) for m in _messages(extracted)}
    stale = sorted((k for k in map(_key, _messages(de_catalog)) if k not in used), key=str)
    assert not stale, (
        "msgids in the German catalog that the source no longer uses; run pybabel "
        "extract/update with --ignore-obsolete (see babel.cfg):\n" + _show(stale)
    )
    obsolete = list(de_catalog.obsolete)
    assert not obsolete, f"obsolete (#~) entries in {DE_PO.name}: {obsolete!r}"


def test_compiled_mo_matches_the_po(de_catalog: Catalog) -> None:
    with DE_MO.open("rb") as fh:
        compiled = read_mo(fh)
    in_po = {
        _key(m): _strings(m) for m in _messages(de_catalog) if all(_strings(m)) and not m.fuzzy
    }
    in_mo = {_key(m): _strings(m) for m in _messages(compiled)}
    differ = sorted(
        (k for k in in_po.keys() | in_mo.keys() if in_po.get(k) != in_mo.get(k)), key=str
    )
    assert not differ, (
        "messages.mo is out of date; run: .venv/bin/pybabel compile -d drafting/translations\n"
        + _show(differ)
    )


def test_translations_use_the_glossary_and_formal_address(de_catalog: Catalog) -> None:
    problems = []
    for message in _messages(de_catalog):
        english = " ".join(_ids(message))
        words = PLACEHOLDER.sub(" ", english)  # not "%(section)s"
        for string in filter(None, _strings(message)):
            if found := INFORMAL.search(string):
                problems.append(f"  informal {found.group(0)!r}: {string!r}")
            if english in GLOSSARY_EXCEPTIONS:
                continue
            for pattern, german in GLOSSARY:
                if re.search(pattern, words, re.IGNORECASE) and german not in string.lower():
                    problems.append(f"  {english!r} -> {string!r} lacks {german!r}")
    assert not problems, "translations off the glossary (shared/GLOSSARY.md):\n" + "\n".join(
        problems
    )


# --- the running app -------------------------------------------------------------------------


def test_login_page_is_german_by_default(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "Anmelden" in page
    assert "Bei Konzeptwerk anmelden" in page
    assert "E-Mail-Adresse" in page  # a lazy form label
    assert "Zum Inhalt springen" in page
    assert "Log in" not in page


@pytest.mark.parametrize("header", ["de", "de-DE,de;q=0.9,en;q=0.5"])
def test_login_page_is_german_for_german_browsers(client: FlaskClient, header: str) -> None:
    page = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
    assert "Anmelden" in page
    assert "Log in" not in page


@pytest.mark.parametrize(
    "header",
    [
        "en",
        "en-GB,en;q=0.8",
        "en-US,de;q=0.3",
    ],
)
def test_login_page_is_english_for_english_browsers(client: FlaskClient, header: str) -> None:
    page = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Log in to Konzeptwerk" in page
    assert "E-mail address" in page
    assert "Skip to content" in page
    assert "Anmelden" not in page


# --- counts need ngettext (issue 15: "1 offene Änderungsvorschläge") --------------------------

# A placeholder followed (after at most one other word, "3 open suggestions") by a countable
# noun is a count: its string must come from ngettext so that "1 …" reads in the singular.
COUNT_NOUNS = (
    "words? sections? comments? suggestions? characters? days? hours? minutes? seconds?"
    " replies reply versions? changes? papers? notifications? people persons? organisations?"
    " members? items? files? entries entry signatories signatory reviews? pages? rows?"
    " threads? editions? results? bytes? times? roles? users?"
)
# Placeholders that name a person or a thing ("%(actor)s saved version …") are no counts.
NOT_COUNTS = "actor user name title section organisation role edition version old other date who"
COUNT = re.compile(
    r"%\((?!(?:"
    + "|".join(NOT_COUNTS.split())
    + r")\))\w+\)[sd] (?:\w+ )?(?:"
    + "|".join(COUNT_NOUNS.split())
    + r")\b",
    re.IGNORECASE,
)


def test_no_count_without_ngettext(extracted: Catalog) -> None:
    singular_only = [
        m.id for m in _messages(extracted) if isinstance(m.id, str) and COUNT.search(m.id)
    ]
    assert not singular_only, (
        "these msgids put a number before a noun but are not plural forms; use ngettext "
        "(templates: ngettext('%(num)d x', '%(num)d xs', n)):\n"
        + "\n".join(f"  {msgid!r}" for msgid in singular_only)
    )


@pytest.mark.parametrize(
    ("msgid", "is_count"),
    [
        ("%(n)s open suggestions", True),
        ("Review: %(n)s of %(m)s sections approved", True),
        ("The password needs at least %(n)s characters.", True),
        ("Version %(n)s", False),
        ("%(actor)s saved version %(version)s of “%(section)s”.", False),
    ],
)
def test_the_count_check_tells_counts_from_numbers(msgid: str, is_count: bool) -> None:
    assert bool(COUNT.search(msgid)) is is_count
