"""Edit a .docx in LibreOffice (headless) as a partner would: tracked changes, a comment, a
footnote — each run under one author's name.

LibreOffice runs a small Basic macro from a throw-away user profile whose user name is set
before each run (the name tracked changes carry). The macro opens the document hidden,
switches on change tracking, replaces a passage, optionally adds a footnote after one, and
stores the document as Word 2007–365 .docx (comments it keeps from the file it opened).
Inserting a comment from a macro aborts this LibreOffice build (NoSuchElementException in
headless mode), so tests put the comment into the file with python-docx before the edit.
"""

from __future__ import annotations

# ruff: noqa: E501  (the Basic library files are XML written out as LibreOffice expects them)
import subprocess
from pathlib import Path
from xml.sax.saxutils import escape

from tests.lo_revisions import _CONTAINER, _DIALOGS

_MODULE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Edit" script:language="StarBasic">
Function Find(oDoc, sText)
    oSearch = oDoc.createSearchDescriptor()
    oSearch.SearchString = sText
    Find = oDoc.findFirst(oSearch)
End Function

Sub Run(sIn As String, sOut As String, sOld As String, sNew As String, sAfter As String, sNote As String)
    Dim aArgs(0) As New com.sun.star.beans.PropertyValue
    aArgs(0).Name = &quot;Hidden&quot;
    aArgs(0).Value = True
    oDoc = StarDesktop.loadComponentFromURL(ConvertToURL(sIn), &quot;_blank&quot;, 0, aArgs())
    oDoc.RecordChanges = True
    oFound = Find(oDoc, sOld)
    oFound.setString(sNew)
    If sAfter &lt;&gt; &quot;&quot; Then
        oNote = oDoc.createInstance(&quot;com.sun.star.text.Footnote&quot;)
        oRange = Find(oDoc, sAfter)
        oCursor = oRange.getText().createTextCursorByRange(oRange.getEnd())
        oRange.getText().insertTextContent(oCursor, oNote, False)
        oNote.setString(sNote)
    End If
    Dim aStore(0) As New com.sun.star.beans.PropertyValue
    aStore(0).Name = &quot;FilterName&quot;
    aStore(0).Value = &quot;MS Word 2007 XML&quot;
    oDoc.storeToURL(ConvertToURL(sOut), aStore())
    oDoc.dispose()
End Sub
</script:module>
"""
_LIBRARY = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">
<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" library:readonly="false" library:passwordprotected="false">
 <library:element library:name="Edit"/>
</library:library>
"""


def _set_user(profile: Path, given: str, family: str) -> None:
    """Write the user name LibreOffice signs tracked changes with into the profile."""
    xcu = profile / "user" / "registrymodifications.xcu"
    text = xcu.read_text(encoding="utf-8")
    items = "".join(
        f'<item oor:path="/org.openoffice.UserProfile/Data"><prop oor:name="{name}" '
        f'oor:op="fuse"><value>{escape(value)}</value></prop></item>\n'
        for name, value in (("givenname", given), ("sn", family))
    )
    xcu.write_text(text.replace("</oor:items>", items + "</oor:items>"), encoding="utf-8")


def edit(
    docx: bytes,
    work: Path,
    *,
    author: str,
    old: str,
    new: str,
    after: str = "",
    note: str = "",
) -> bytes:
    """Return the document after one author's tracked replacement (and a footnote)."""
    profile = work / f"profile-{abs(hash(author))}"
    basic = profile / "user" / "basic"
    if not (profile / "user").exists():
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--terminate_after_init",
            ],
            check=True,
            timeout=180,
            capture_output=True,
        )
    given, _sep, family = author.partition(" ")
    _set_user(profile, given, family)
    (basic / "Standard").mkdir(parents=True, exist_ok=True)
    (basic / "Standard" / "Edit.xba").write_text(_MODULE, encoding="utf-8")
    (basic / "Standard" / "script.xlb").write_text(_LIBRARY, encoding="utf-8")
    (basic / "Standard" / "dialog.xlb").write_text(_DIALOGS, encoding="utf-8")
    (basic / "script.xlc").write_text(_CONTAINER.format(name="script"), encoding="utf-8")
    (basic / "dialog.xlc").write_text(_CONTAINER.format(name="dialog"), encoding="utf-8")
    source = work / f"in-{abs(hash(author))}.docx"
    source.write_bytes(docx)
    target = work / f"out-{abs(hash(author))}.docx"
    args = '","'.join(a.replace('"', "") for a in (str(source), str(target), old, new, after, note))
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            f'macro:///Standard.Edit.Run("{args}")',
        ],
        check=True,
        timeout=240,
        capture_output=True,
    )
    return target.read_bytes()
