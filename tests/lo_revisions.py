"""Accept or reject all tracked changes of a .docx in LibreOffice (headless) and read its text.

LibreOffice runs a small Basic macro from a throw-away user profile: it opens the document
hidden, dispatches "accept all" or "reject all" and stores the result as UTF-8 text. So the
test reads the document as an independent office suite applies the revisions, not as the
exporter wrote them.
"""

from __future__ import annotations

# ruff: noqa: E501  (the Basic library files are XML written out as LibreOffice expects them)
import shutil
import subprocess
from pathlib import Path

_MODULE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Revisions" script:language="StarBasic">
Sub Apply(sIn As String, sOut As String, sCommand As String)
    Dim aArgs(0) As New com.sun.star.beans.PropertyValue
    aArgs(0).Name = &quot;Hidden&quot;
    aArgs(0).Value = True
    oDoc = StarDesktop.loadComponentFromURL(ConvertToURL(sIn), &quot;_blank&quot;, 0, aArgs())
    oDispatcher = createUnoService(&quot;com.sun.star.frame.DispatchHelper&quot;)
    oDispatcher.executeDispatch(oDoc.CurrentController.Frame, &quot;.uno:&quot; &amp; sCommand, &quot;&quot;, 0, Array())
    Dim aStore(1) As New com.sun.star.beans.PropertyValue
    aStore(0).Name = &quot;FilterName&quot;
    aStore(0).Value = &quot;Text (encoded)&quot;
    aStore(1).Name = &quot;FilterOptions&quot;
    aStore(1).Value = &quot;UTF8&quot;
    oDoc.storeToURL(ConvertToURL(sOut), aStore())
    oDoc.close(True)
End Sub
</script:module>
"""
_LIBRARY = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">
<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" library:readonly="false" library:passwordprotected="false">
 <library:element library:name="Revisions"/>
</library:library>
"""
_DIALOGS = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">
<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" library:readonly="false" library:passwordprotected="false"/>
"""
_CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:libraries PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "libraries.dtd">
<library:libraries xmlns:library="http://openoffice.org/2000/library" xmlns:xlink="http://www.w3.org/1999/xlink">
 <library:library library:name="Standard" library:link="false"/>
</library:libraries>
"""


def available() -> bool:
    """Return whether LibreOffice is installed."""
    return shutil.which("soffice") is not None


def apply_revisions(docx: bytes, work: Path, *, accept: bool) -> str:
    """Return the document's text after accepting (or rejecting) every tracked change."""
    profile = work / "profile"
    basic = profile / "user" / "basic"
    if not (profile / "user").exists():
        # A first start writes the default profile (and its Basic library) over ours.
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
    (basic / "Standard").mkdir(parents=True, exist_ok=True)
    (basic / "Standard" / "Revisions.xba").write_text(_MODULE, encoding="utf-8")
    (basic / "Standard" / "script.xlb").write_text(_LIBRARY, encoding="utf-8")
    (basic / "Standard" / "dialog.xlb").write_text(_DIALOGS, encoding="utf-8")
    (basic / "script.xlc").write_text(_CONTAINER.format(name="script"), encoding="utf-8")
    (basic / "dialog.xlc").write_text(_CONTAINER.format(name="dialog"), encoding="utf-8")
    source = work / "in.docx"
    source.write_bytes(docx)
    target = work / ("accepted.txt" if accept else "rejected.txt")
    command = "AcceptAllTrackedChanges" if accept else "RejectAllTrackedChanges"
    run = [
        "soffice",
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--norestore",
        f'macro:///Standard.Revisions.Apply("{source}","{target}","{command}")',
    ]
    # soffice headless now and then aborts (exit 134) on a loaded machine, before the macro
    # has written anything: one more start then. A second failure, or a crash after which no
    # text was written, fails the test with LibreOffice's own output.
    done = subprocess.run(run, timeout=180, capture_output=True, check=False)
    if done.returncode != 0 and not target.exists():
        done = subprocess.run(run, timeout=180, capture_output=True, check=False)
    if not target.exists():
        raise subprocess.CalledProcessError(done.returncode, run, done.stdout, done.stderr)
    return target.read_text(encoding="utf-8-sig")
