"""The visual section editor in Chromium: toolbar, shortcuts, paste, Markdown toggle, no-op
saves, keyboard-only use; every page and the link dialog pass axe."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import LiveServer, check_a11y, login
from workflows import sections as section_flow

pytestmark = pytest.mark.browser

CLIPBOARD = Path(__file__).parent / "clipboard"


def newest_body(live: LiveServer, section_id: int) -> str:
    with live.app.app_context():
        return section_flow.history(section_id)[0].body


def version_count(live: LiveServer, section_id: int) -> int:
    with live.app.app_context():
        return len(section_flow.history(section_id))


def editor_of(page: Page) -> Locator:
    expect(page.locator(".visual-editor")).to_have_attribute("data-ready", "true")
    return page.locator("main [role=textbox][aria-multiline=true]")


def tool(page: Page, name: str) -> Locator:
    return page.locator("main [role=toolbar]").get_by_role("button", name=name, exact=True)


def markdown_source(page: Page) -> str:
    """Switch to the Markdown source and return it (the textarea that is submitted)."""
    toggle = tool(page, "Markdown")
    if toggle.get_attribute("aria-pressed") != "true":
        toggle.click()
    textarea = page.locator("main [data-visual-editor] textarea")
    expect(textarea).to_be_visible()
    return textarea.input_value()


def paste_html(page: Page, html: str) -> None:
    """Paste HTML into the focused editor as a browser does (a ClipboardEvent)."""
    page.locator("main [role=textbox]").evaluate(
        """(element, html) => {
            const data = new DataTransfer();
            data.setData("text/html", html);
            data.setData("text/plain", element.ownerDocument.createElement("div").textContent);
            element.dispatchEvent(new ClipboardEvent("paste", {
                clipboardData: data, bubbles: true, cancelable: true }));
        }""",
        html,
    )


def test_write_a_section_with_toolbar_and_shortcuts_only(page: Page, live_server: LiveServer):
    live = live_server
    login(page, live, live.people.editor)
    page.goto(live(f"/papers/{live.people.paper_id}/sections/new"))
    check_a11y(page)
    page.locator("main input[name=title]").fill("Befunde")
    editor = editor_of(page)
    expect(editor).to_have_attribute("aria-labelledby", re.compile(r".+"))
    editor.click()
    keyboard = page.keyboard

    tool(page, "Zwischenüberschrift").click()
    keyboard.type("Lage im Zentrum")
    keyboard.press("Enter")
    keyboard.type("Der ")
    keyboard.press("Control+b")
    keyboard.type("Handel")
    keyboard.press("Control+b")
    keyboard.type(" wächst ")
    keyboard.press("Control+i")
    keyboard.type("langsam")
    keyboard.press("Control+i")
    keyboard.type(".")
    keyboard.press("Enter")

    tool(page, "Aufzählung").click()
    keyboard.type("eins")
    keyboard.press("Enter")
    keyboard.press("Tab")
    keyboard.type("zwei")
    keyboard.press("Enter")
    keyboard.press("Tab")
    keyboard.type("drei")
    keyboard.press("Enter")
    keyboard.press("Shift+Tab")
    keyboard.press("Shift+Tab")
    keyboard.type("vier")
    keyboard.press("Enter")
    keyboard.press("Enter")  # an empty item ends the list

    keyboard.type("Siehe Quelle")
    for _ in range(len("Quelle")):
        keyboard.press("Shift+ArrowLeft")
    keyboard.press("Control+k")
    dialog = page.locator("dialog.ve-dialog[open]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("input")).to_be_focused()
    check_a11y(page)
    dialog.locator("input").fill("https://example.org/bericht")
    keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(editor.locator("a[href='https://example.org/bericht']")).to_have_text("Quelle")
    keyboard.press("End")
    keyboard.type(".")
    keyboard.press("Enter")

    tool(page, "Tabelle einfügen").click()
    for cell in ("Maßnahme", "Kosten", "Träger", "Radweg", "1.200", "Stadt", "Brücke", "300"):
        keyboard.type(cell)
        keyboard.press("Tab")
    keyboard.type("Land")
    editor.locator("td", has_text="1.200").click()
    tool(page, "Spalte rechtsbündig").click()
    expect(editor.locator("th", has_text="Kosten")).to_have_attribute(
        "style", re.compile("text-align: right")
    )

    page.locator("main form [type=submit]").click()
    page.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(page)
    section_id = int(page.url.rsplit("-", 1)[1])
    assert newest_body(live, section_id) == (
        "# Lage im Zentrum\n\n"
        "Der **Handel** wächst *langsam*.\n\n"
        "- eins\n  - zwei\n    - drei\n- vier\n\n"
        "Siehe [Quelle](https://example.org/bericht).\n\n"
        "| Maßnahme | Kosten | Träger |\n|---|---:|---|\n"
        "| Radweg | 1.200 | Stadt |\n| Brücke | 300 | Land |"
    )


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (
            "word.html",
            "# Ausgangslage\n\n"
            "Die Innenstadt lebt vom **Handel** und vom *Wohnen*. Mehr dazu beim "
            "[Landesamt](https://example.org/bericht).\n\n"
            "## Ziele\n\n"
            "- Leerstand senken\n  - Zwischennutzung fördern\n- Plätze beleben\n\n"
            "1. Bestand erheben\n2. Maßnahmen wählen\n\n"
            "| **Maßnahme** | **Kosten** |\n|---|---:|\n| Radweg | 1.200 € |",
        ),
        (
            "libreoffice.html",
            "# Befunde\n\n"
            "Die Zählung zeigt **weniger** Passanten, vor allem *abends*. Quelle: "
            "[Zählbericht](https://example.org/zaehlung).\n\n"
            "- Samstag\n  - vormittags\n- Sonntag\n\n"
            "3. dritter Schritt\n4. vierter Schritt\n\n"
            "| Stadt | 2024 |\n|---|---:|\n| Lindenau | 15 900 |",
        ),
    ],
)
def test_paste_from_word_and_libreoffice_keeps_structure_and_drops_styles(
    page: Page, live_server: LiveServer, sample: str, expected: str
):
    live = live_server
    login(page, live, live.people.editor)
    page.goto(live(f"/papers/{live.people.paper_id}/sections/new"))
    check_a11y(page)
    editor = editor_of(page)
    editor.click()
    paste_html(page, (CLIPBOARD / sample).read_text(encoding="utf-8"))
    html = editor.inner_html()
    for leftover in ("<span", "<font", 'style="font', "mso-", 'class="Mso', "<o:p"):
        assert leftover not in html, leftover
    check_a11y(page)
    source = markdown_source(page)
    # The paste leaves an empty paragraph where the cursor stood; nothing else.
    assert source.strip() == expected


def test_markdown_toggle_shows_the_source_and_takes_edits_back(page: Page, live_server: LiveServer):
    live = live_server
    sid = live.people.section_id
    login(page, live, live.people.editor)
    page.goto(live(f"/sections/{sid}/edit"))
    check_a11y(page)
    editor = editor_of(page)
    textarea = page.locator("#section-editor textarea[name=body]")
    expect(textarea).to_be_hidden()
    # Nothing inline for a strict Content-Security-Policy: no injected <style>, and the
    # labels arrive as JSON data, not as script.
    assert page.locator("style").count() == 0
    assert page.locator("script:not([src]):not([type='application/json'])").count() == 0
    expect(editor).to_contain_text("Die Innenstadt lebt vom Handel.")
    toggle = tool(page, "Markdown")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(textarea).to_be_visible()
    expect(editor).to_be_hidden()
    expect(textarea).to_have_value(live.people.section_body)
    # Formatting buttons rest while the source is shown; the toggle stays usable.
    expect(tool(page, "Fett")).to_have_attribute("aria-disabled", "true")
    check_a11y(page)
    textarea.fill("Die Innenstadt lebt vom **Handel**.\n\n- Wohnen\n- Arbeiten")
    toggle.click()
    expect(editor).to_be_visible()
    expect(editor.locator("strong")).to_have_text("Handel")
    expect(editor.locator("li")).to_have_count(2)
    page.locator("#section-editor [type=submit]").click()
    page.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(page)
    assert newest_body(live, sid) == "Die Innenstadt lebt vom **Handel**.\n\n- Wohnen\n- Arbeiten"


def test_save_without_a_change_makes_no_version_even_in_another_spelling(
    page: Page, live_server: LiveServer
):
    live = live_server
    sid = live.people.section_id
    # A body written by hand in a spelling the editor would write differently.
    with live.app.app_context():
        from sqlalchemy import select

        from drafting.extensions import db
        from drafting.models import User

        editor_user = db.session.scalars(select(User).where(User.email == live.people.editor)).one()
        head = section_flow.history(sid)[0]
        section_flow.save_section(
            editor_user,
            sid,
            title=head.title,
            level=head.level,
            body="Titel\n=====\n\n* eins\n* zwei\n\n| a | b |\n|:-|-:|\n|x|y|",
            base_version=head.number,
            note="",
        )
        db.session.commit()
    before = version_count(live, sid)
    original = newest_body(live, sid)

    login(page, live, live.people.editor)
    page.goto(live(f"/sections/{sid}/edit"))
    check_a11y(page)
    editor = editor_of(page)
    editor.locator("li", has_text="zwei").click()
    page.keyboard.type("x")
    page.keyboard.press("Backspace")  # typed and taken back: the document is as loaded
    page.locator("#section-editor [type=submit]").click()
    page.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(page)
    expect(page.locator(".flash, [role=status], .notice").first).to_be_visible()
    assert version_count(live, sid) == before
    assert newest_body(live, sid) == original


def test_text_with_raw_html_opens_as_markdown_source(page: Page, live_server: LiveServer):
    live = live_server
    login(page, live, live.people.editor)
    page.goto(live(f"/papers/{live.people.paper_id}/sections/new"))
    check_a11y(page)
    editor_of(page)
    # A new section starts empty; the suggest page of a section with HTML shows the case.
    page.goto(live(f"/sections/{live.people.section_id}/edit"))
    check_a11y(page)
    source = markdown_source(page)
    page.locator("#section-editor textarea[name=body]").fill(source + "\n\n<sup>1</sup> Fußnote")
    page.locator("#section-editor [type=submit]").click()
    page.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(page)
    page.goto(live(f"/sections/{live.people.section_id}/edit"))
    check_a11y(page)
    expect(page.locator(".visual-editor")).to_have_attribute("data-ready", "true")
    expect(page.locator("#section-editor textarea[name=body]")).to_be_visible()
    expect(page.locator(".ve-notice")).to_contain_text("HTML")
    expect(tool(page, "Markdown")).to_have_attribute("aria-pressed", "true")


def test_keyboard_only_toolbar_editor_and_out_again(page: Page, live_server: LiveServer):
    live = live_server
    sid = live.people.section_id
    login(page, live, live.people.editor)
    page.goto(live(f"/sections/{sid}/edit"))
    check_a11y(page)
    editor = editor_of(page)
    level = page.locator("#section-editor select[name=level]")
    level.focus()
    keyboard = page.keyboard
    # Tab reaches the toolbar once (roving tab stop), arrows walk it, Tab enters the text.
    keyboard.press("Tab")
    toolbar = page.locator("main [role=toolbar]")
    expect(toolbar.get_by_role("button", name="Rückgängig")).to_be_focused()
    keyboard.press("ArrowRight")
    keyboard.press("ArrowRight")
    expect(toolbar.get_by_role("button", name="Fett")).to_be_focused()
    keyboard.press("End")
    expect(toolbar.get_by_role("button", name="Markdown")).to_be_focused()
    keyboard.press("Home")
    keyboard.press("Tab")
    expect(editor).to_be_focused()
    keyboard.press("Control+End")
    keyboard.press("Enter")
    keyboard.type("Neu ")
    keyboard.press("Shift+Tab")  # back to the toolbar, to the button last used
    expect(toolbar.get_by_role("button", name="Rückgängig")).to_be_focused()
    keyboard.press("ArrowRight")
    keyboard.press("ArrowRight")
    keyboard.press("Enter")  # "Fett" by keyboard; the focus goes back to the text
    expect(editor).to_be_focused()
    keyboard.type("und fett")
    keyboard.press("Control+z")
    expect(editor).not_to_contain_text("und fett")
    keyboard.press("Control+y")
    expect(editor.locator("strong")).to_have_text("und fett")
    # Esc leaves the text for the next field; focus is never trapped.
    keyboard.press("Escape")
    expect(page.locator("#section-editor [name=note]")).to_be_focused()
    keyboard.press("Shift+Tab")
    expect(editor).to_be_focused()
    keyboard.press("Tab")  # outside a list Tab leaves the text too
    expect(page.locator("#section-editor [name=note]")).to_be_focused()
    page.locator("#section-editor [type=submit]").focus()
    keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(page)
    assert newest_body(live, sid) == (
        "Die Innenstadt lebt vom Handel.\n\nUnd vom Wohnen.\n\nNeu **und fett**"
    )


def test_toolbar_speaks_english_when_the_user_does(page: Page, live_server: LiveServer):
    live = live_server
    login(page, live, live.people.editor)
    page.locator("#language-select").select_option("en")
    page.locator("form.language-switch [type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.wait_for_url(live("/"))
    check_a11y(page)
    page.goto(live(f"/sections/{live.people.section_id}/suggest"))
    check_a11y(page)
    editor_of(page)
    toolbar = page.locator("main [role=toolbar]")
    expect(toolbar).to_have_attribute("aria-label", "Formatting")
    for name in ("Bold", "Italic", "Numbered list", "Insert table", "Align column right"):
        expect(tool(page, name)).to_have_count(1)
    expect(tool(page, "Bold")).to_have_attribute("title", "Bold (Ctrl+B)")
    expect(page.locator("main [role=textbox]")).to_have_attribute("lang", "en")


def _png(path: Path, colour: tuple[int, int, int] = (30, 90, 160)) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (320, 160), colour).save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


def _save_body(live: LiveServer, section_id: int, body: str) -> None:
    with live.app.app_context():
        from sqlalchemy import select

        from drafting.extensions import db
        from drafting.models import User

        editor_user = db.session.scalars(select(User).where(User.email == live.people.editor)).one()
        head = section_flow.history(section_id)[0]
        section_flow.save_section(
            editor_user,
            section_id,
            title=head.title,
            level=head.level,
            body=body,
            base_version=head.number,
            note="",
        )
        db.session.commit()


def _add_figure(live: LiveServer, caption: str) -> int:
    with live.app.app_context():
        from sqlalchemy import select

        from drafting.extensions import db
        from drafting.models import User
        from workflows import figures as figure_flow

        editor_user = db.session.scalars(select(User).where(User.email == live.people.editor)).one()
        out = io.BytesIO()
        Image.new("RGB", (300, 120), (200, 120, 40)).save(out, format="PNG")
        figure = figure_flow.add_figure(
            editor_user,
            live.people.paper_id,
            data=out.getvalue(),
            filename="k.png",
            caption=caption,
        )
        db.session.commit()
        return figure.id


def test_insert_a_figure_and_a_footnote_with_the_toolbar(
    page: Page, live_server: LiveServer, tmp_path: Path
):
    live = live_server
    sid = live.people.section_id
    chart = _png(tmp_path / "karte.png")
    login(page, live, live.people.editor)
    page.goto(live(f"/sections/{sid}/edit"))
    editor = editor_of(page)
    expect(tool(page, "Fußnote einfügen")).to_have_count(1)
    expect(tool(page, "Abbildung einfügen")).to_have_count(1)
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("Die Innenstadt lebt vom Handel.")
    tool(page, "Abbildung einfügen").click()
    dialog = page.get_by_role("dialog", name="Abbildung einfügen")
    expect(dialog).to_be_visible()
    check_a11y(page)
    dialog.get_by_role("button", name="Hochladen und einfügen").click()  # no file yet
    expect(dialog.locator("[role=alert]")).to_contain_text("Bilddatei")
    dialog.get_by_label("Bilddatei (PNG, JPEG oder SVG)").set_input_files(str(chart))
    dialog.get_by_label("Bildunterschrift").fill("Karte [Innenstadt]")
    dialog.get_by_role("button", name="Hochladen und einfügen").click()
    expect(dialog).to_be_hidden()
    figure = editor.locator("figure.ve-figure")
    expect(figure.locator("img")).to_have_js_property("naturalWidth", 320)
    expect(figure.locator("figcaption")).to_contain_text("Karte [Innenstadt]")
    # The caption is edited in a dialog, as the image's own text.
    figure.get_by_role("button", name=re.compile("^Bildunterschrift ändern")).click()
    page.get_by_role("dialog").get_by_label("Bildunterschrift").fill("Karte der Innenstadt")
    page.get_by_role("dialog").get_by_role("button", name="OK").click()
    expect(figure.locator("figcaption")).to_contain_text("Karte der Innenstadt")
    # The footnote: its number where the caret is, its text written at the section's end.
    editor.get_by_text("Die Innenstadt lebt vom Handel.").click()
    page.keyboard.press("End")
    tool(page, "Fußnote einfügen").click()
    page.keyboard.type("Quelle: Handelsverband 2025.")
    expect(editor.locator("sup.ve-fnref")).to_have_text("Fußnote 1")
    expect(editor.locator(".ve-fndef")).to_have_attribute("data-caption", "Fußnote 1:")
    # From the number in the text, Enter goes to the note (as a double click in Word).
    editor.locator("sup.ve-fnref > span").last.click()  # the visible number
    page.keyboard.press("Enter")
    page.keyboard.type(" Seite 3.")
    check_a11y(page)
    source = markdown_source(page)
    found = re.fullmatch(
        r"Die Innenstadt lebt vom Handel\.\[\^1\]\n\n!\[Karte der Innenstadt\]\(figure:(\d+)\)"
        r"\n\n\[\^1\]: Quelle: Handelsverband 2025\. Seite 3\.",
        source,
    )
    assert found, source
    page.locator("#section-editor [type=submit].primary").click()
    page.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    assert newest_body(live, sid) == source
    expect(page.locator("figure.md-figure figcaption").first).to_contain_text(
        "Karte der Innenstadt"
    )
    expect(page.locator(".footnote-item").first).to_contain_text("Handelsverband 2025. Seite 3.")
    check_a11y(page)
    assert not live.errors


def test_no_op_save_of_a_section_with_footnote_and_figure_makes_no_version(
    page: Page, live_server: LiveServer
):
    live = live_server
    sid = live.people.section_id
    figure_id = _add_figure(live, "Pendler")
    # Hand-written: definitions on consecutive lines, a caption with an escaped bracket.
    body = (
        f"Pendler[^a] kommen morgens.[^2]\n\n![Pendler \\[2024\\]](figure:{figure_id})\n\n"
        "[^a]: Zählung der Stadt.\n[^2]: Zweite Notiz\nüber zwei Zeilen."
    )
    _save_body(live, sid, body)
    before = version_count(live, sid)
    login(page, live, live.people.editor)
    page.goto(live(f"/sections/{sid}/edit"))
    editor = editor_of(page)
    expect(tool(page, "Markdown")).to_have_attribute("aria-pressed", "false")  # no fallback
    expect(editor.locator("sup.ve-fnref")).to_have_text(["Fußnote 1", "Fußnote 2"])
    expect(editor.locator("figure.ve-figure img")).to_have_js_property("naturalWidth", 300)
    expect(editor.locator("figure.ve-figure figcaption")).to_contain_text("Pendler [2024]")
    check_a11y(page)
    editor.get_by_text("Zählung der Stadt.").click()
    page.keyboard.type("x")
    page.keyboard.press("Backspace")
    page.locator("#section-editor [type=submit].primary").click()
    page.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(page)
    assert version_count(live, sid) == before
    assert newest_body(live, sid) == body
    # Text put in by another script (figure upload, merge) stays in the visual editor.
    page.goto(live(f"/sections/{sid}/edit"))
    check_a11y(page)
    editor = editor_of(page)
    text = "Neu.[^1]\n\n[^1]: Quelle."
    page.evaluate(
        """(text) => {
            const area = document.querySelector("#section-editor textarea[name=body]");
            area.value = text;
            area.dispatchEvent(new Event("input", { bubbles: true }));
        }""",
        text,
    )
    expect(editor.locator(".ve-fndef")).to_have_text("Quelle.")
    expect(tool(page, "Markdown")).to_have_attribute("aria-pressed", "false")
    page.wait_for_timeout(600)  # a pending visual sync must not write the older text back
    expect(page.locator("#section-editor textarea[name=body]")).to_have_value(text)
    page.locator("#section-editor [type=submit].primary").click()
    page.wait_for_url(re.compile(r"/papers/\d+#section-\d+$"))
    check_a11y(page)
    assert newest_body(live, sid) == text
    assert not live.errors


def test_pick_one_of_the_papers_figures_in_english(page: Page, live_server: LiveServer):
    live = live_server
    sid = live.people.section_id
    figure_id = _add_figure(live, "Commuters [2024]")
    login(page, live, live.people.editor)
    page.locator("#language-select").select_option("en")
    page.locator("form.language-switch [type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    check_a11y(page)
    page.goto(live(f"/sections/{sid}/edit"))
    editor = editor_of(page)
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("Commuters arrive in the morning.")
    # Keyboard path: inside the toolbar the arrow keys move from button to button.
    tool(page, "Insert footnote").focus()
    page.keyboard.press("ArrowRight")
    expect(tool(page, "Insert figure")).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Insert figure")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Or one of the paper’s figures").select_option(str(figure_id))
    expect(dialog.get_by_label("Caption")).to_have_value("Commuters [2024]")
    check_a11y(page)
    dialog.get_by_role("button", name="Insert", exact=True).click()
    expect(editor.locator("figure.ve-figure figcaption")).to_contain_text("Commuters [2024]")
    # Reached with the arrow keys, Enter opens its caption.
    page.keyboard.press("ArrowUp")  # into the text above
    page.keyboard.press("ArrowDown")  # the figure, selected as a whole
    page.keyboard.press("Enter")
    caption = page.get_by_role("dialog", name="Edit caption")
    expect(caption).to_be_visible()
    page.keyboard.press("Escape")
    expect(caption).to_be_hidden()
    assert markdown_source(page) == (
        f"Commuters arrive in the morning.\n\n![Commuters \\[2024\\]](figure:{figure_id})"
    )
    assert not live.errors


def test_a_deleted_footnote_number_takes_its_note_along(page: Page, live_server: LiveServer):
    """As in Word: the note goes with its number; undo, or the number pasted back, return it.

    A note that had no number in the loaded text is left alone.
    """
    live = live_server
    sid = live.people.section_id
    _save_body(
        live,
        sid,
        "Erster Satz.[^1] Zweiter Satz.[^2]\n\n[^1]: Quelle eins.\n\n[^2]: Quelle zwei."
        "\n\n[^9]: Ohne Nummer.",
    )
    login(page, live, live.people.editor)
    page.goto(live(f"/sections/{sid}/edit"))
    editor = editor_of(page)
    notes = editor.locator(".ve-fndef")
    expect(notes).to_have_count(3)
    first_number = editor.locator("sup.ve-fnref").first
    first_number.locator("span").last.click()  # the visible number: the node selected
    page.keyboard.press("Delete")
    expect(editor.locator("sup.ve-fnref")).to_have_count(1)
    expect(notes).to_have_count(2)
    expect(editor).not_to_contain_text("Quelle eins.")
    expect(editor).to_contain_text("Ohne Nummer.")
    # One undo brings back the number and its note.
    page.keyboard.press("Control+z")
    expect(editor.locator("sup.ve-fnref")).to_have_count(2)
    expect(notes).to_have_count(3)
    expect(notes.first).to_contain_text("Quelle eins.")
    check_a11y(page)
    # Cut and pasted elsewhere, the number brings its note back (at the section's end).
    editor.get_by_text("Zweiter Satz.").click()
    page.keyboard.press("Home")
    for _ in "Erster Satz.":
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")  # over the number
    cut = editor.evaluate(
        """(element) => {
            const data = new DataTransfer();
            element.dispatchEvent(new ClipboardEvent("cut", {
                clipboardData: data, bubbles: true, cancelable: true }));
            return data.getData("text/html");
        }"""
    )
    assert "data-footnote" in cut, cut
    expect(notes).to_have_count(2)
    editor.get_by_text("Zweiter Satz.").click()
    page.keyboard.press("End")
    paste_html(page, cut)
    expect(editor.locator("sup.ve-fnref")).to_have_count(2)
    expect(notes).to_have_count(3)
    assert markdown_source(page) == (
        "Erster Satz. Zweiter Satz.[^2][^1]\n\n[^2]: Quelle zwei.\n[^9]: Ohne Nummer."
        "\n[^1]: Quelle eins."
    )
    check_a11y(page)
    assert not live.errors


def test_footnote_and_figure_copied_in_the_editor_paste_back(page: Page, live_server: LiveServer):
    """What the editor puts on the clipboard for its own nodes (their HTML) pastes back."""
    live = live_server
    figure_id = _add_figure(live, "Pendler")
    login(page, live, live.people.editor)
    page.goto(live(f"/sections/{live.people.section_id}/edit"))
    check_a11y(page)
    editor = editor_of(page)
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    paste_html(
        page,
        '<p>Satz<sup data-footnote="" data-label="7" class="ve-fnref">7</sup></p>'
        f'<figure data-figure="{figure_id}" data-caption="Pendler \\[2024\\]" class="ve-figure">'
        f'<img src="/figures/{figure_id}" alt="Pendler [2024]">'
        "<figcaption>Pendler [2024]</figcaption></figure>"
        '<div data-footnote-definition="" data-label="7" class="ve-fndef"><p>Notiz</p></div>',
    )
    expect(editor.locator("figure.ve-figure")).to_have_count(1)
    assert markdown_source(page) == (
        f"Satz[^7]\n\n![Pendler \\[2024\\]](figure:{figure_id})\n\n[^7]: Notiz"
    )
    assert not live.errors


@pytest.mark.parametrize("language", ["de", "en"])
def test_suggest_mode_shows_tracked_changes_while_typing(
    page: Page, live_server: LiveServer, language: str
):
    live = live_server
    sid = live.people.section_id
    _save_body(live, sid, "Der Radweg wird bis 2027 gebaut.\n\nDie Kosten trägt das Land.")
    login(page, live, live.people.reviewer)
    if language == "en":
        page.locator("#language-select").select_option("en")
        page.locator("form.language-switch [type=submit]").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        check_a11y(page)
    page.goto(live(f"/sections/{sid}/suggest"))
    editor = editor_of(page)
    expect(editor.locator("ins, del")).to_have_count(0)
    editor.get_by_text("Der Radweg").dblclick(position={"x": 40, "y": 5})  # "Radweg"
    page.keyboard.type("Fußweg")
    inserted, deleted = ("eingefügt", "gelöscht") if language == "de" else ("inserted", "deleted")
    ins = editor.locator("ins.ve-ins")
    dele = editor.locator("del.ve-del")
    expect(ins).to_have_text("Fußweg")
    expect(dele).to_contain_text("Radweg")
    expect(dele.locator(".ve-sr").first).to_have_text(f"{deleted}: ")
    expect(editor.locator(".ve-sr", has_text=f"{inserted}:")).to_have_count(1)
    # Underline and strike-through, not colour alone.
    assert "underline" in ins.evaluate("e => getComputedStyle(e).textDecorationLine")
    assert "line-through" in dele.evaluate("e => getComputedStyle(e).textDecorationLine")
    check_a11y(page)
    page.locator("main form [type=submit].primary").click()
    page.wait_for_url(re.compile(r"/suggestions/\d+$"))
    check_a11y(page)
    with live.app.app_context():
        from sqlalchemy import select

        from drafting.extensions import db
        from drafting.models import Suggestion

        stored = db.session.scalars(select(Suggestion).order_by(Suggestion.id.desc())).first()
        assert stored is not None
        assert stored.body == "Der Fußweg wird bis 2027 gebaut.\n\nDie Kosten trägt das Land."
    assert not live.errors
