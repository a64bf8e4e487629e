"""Hostile input for every place a user's text reaches a page, and a check that it stayed inert.

Use the corpus wherever user text is shown: section bodies and titles, paper titles,
display names, comments, edit forms. Render a page (or a fragment) containing a payload
and pass the HTML to :func:`assert_inert`.

Every payload carries the marker ``1337`` (``alert(1337)``, ``https://evil.example/1337``,
``tmpl1337…``), so a whole page may keep its own legitimate ``<script>`` elements: only
executable constructs that contain the marker count as a hit. For a fragment produced by
a sanitiser, pass ``strict=True`` to reject every executable construct, marker or not.

The HTML is parsed with :class:`html.parser.HTMLParser`, so escaped text such as
``&lt;script&gt;`` is correctly seen as text, not as an element.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Final

MARKER: Final = "1337"

# payload -> what it would become if some layer evaluated it as a template. The
# ``tmpl1337x-`` prefixes keep each result unique on a page that shows all payloads.
TEMPLATE_MARKERS: Final[dict[str, str]] = {
    "tmpl1337a-{{7*7}}": "tmpl1337a-49",
    "tmpl1337b-{{ 7*'7' }}": "tmpl1337b-7777777",
    "tmpl1337c-{% raw %}{{7*7}}{% endraw %}": "tmpl1337c-{{7*7}}",
    "tmpl1337d-{% endraw %}{{7*7}}": "tmpl1337d-49",
    "tmpl1337e-{% for i in 'abc' %}x{% endfor %}": "tmpl1337e-xxx",
    "tmpl1337f-{{ config }}": "tmpl1337f-<Config",
    "tmpl1337g-${7*7}": "tmpl1337g-49",
    "tmpl1337h-#{7*7}": "tmpl1337h-49",
}

PAYLOADS: Final[tuple[str, ...]] = (
    # --- plain script and event handlers
    "<script>alert(1337)</script>",
    "<SCRIPT SRC=https://evil.example/1337.js></SCRIPT>",
    "<script>alert(1337)",
    "<img src=x onerror=alert(1337)>",
    "<IMG SRC=x OnErRoR=alert(1337)>",
    "<img src=x onerror=alert(1337)",
    "<svg onload=alert(1337)>",
    "<svg/onload=alert(1337)>",
    "<body onload=alert(1337)>",
    "<details open ontoggle=alert(1337)>",
    "<input autofocus onfocus=alert(1337)>",
    "<video><source onerror=alert(1337)></video>",
    "<marquee onstart=alert(1337)>x</marquee>",
    "<x-widget onclick=alert(1337)>click</x-widget>",
    '<a href="https://ok.example" onclick="alert(1337)">x</a>',
    # --- breaking out of an attribute or element the app put the text into
    '"><script>alert(1337)</script>',
    "'><img src=x onerror=alert(1337)>",
    "</textarea><script>alert(1337)</script>",
    "</title><script>alert(1337)</script>",
    "</script><script>alert(1337)</script>",
    "Robert'); alert(1337);//",
    "x\u2028alert(1337)\u2029",
    # --- Markdown links and images
    "[x](javascript:alert(1337))",
    "[x](JaVaScRiPt:alert(1337))",
    "[x](java&#x09;script:alert(1337))",
    "[x](&#106;avascript:alert(1337))",
    "[x](javascript&colon;alert(1337))",
    "[x](<javascript:alert(1337)>)",
    "[x](vbscript:msgbox(1337))",
    "[x](data:text/html,%3Cscript%3Ealert(1337)%3C/script%3E)",
    "![x](javascript:alert(1337))",
    '![x" onerror="alert(1337)](https://ok.example/a.png)',
    "![x](data:image/svg+xml,%3Csvg%20onload=alert(1337)%3E)",
    "[<img src=x onerror=alert(1337)>](https://ok.example)",
    '[x](http://a "\\" onmouseover=alert(1337) x=\\"")',
    "[x][1]\n\n[1]: javascript:alert(1337)",
    '[x][a]\n\n[a]: https://ok.example "\\" onmouseover=alert(1337) x=\\""',
    "<javascript:alert(1337)>",
    "`<script>alert(1337)</script>`",
    "```\n</code></pre><script>alert(1337)</script>\n```",
    "javascript:alert(1337)",
    # --- raw HTML links and URLs
    '<a href="javascript:alert(1337)">x</a>',
    '<a href="javascript:alert(1337)">',
    '<a href="&#x6A;avascript&#x3A;alert(1337)">x</a>',
    '<a href="javascript&#58;alert(1337)">x</a>',
    '<a href="jav&#x0A;ascript:alert(1337)">x</a>',
    '<a href="java\tscript:alert(1337)">x</a>',
    '<a href="\x01 javascript:alert(1337)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxMzM3KTwvc2NyaXB0Pg==#1337">x</a>',
    '<form action="javascript:alert(1337)"><input type=submit></form>',
    '<form><button formaction="javascript:alert(1337)">x</button></form>',
    '<table background="javascript:alert(1337)"><tr><td>x</td></tr></table>',
    # --- SVG and MathML
    "<svg><script>alert(1337)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1337)"><text y="20">x</text></a></svg>',
    '<svg><animate attributeName="href" values="javascript:alert(1337)"/></svg>',
    '<svg><set attributeName="onmouseover" to="alert(1337)"/></svg>',
    '<math><mi xlink:href="javascript:alert(1337)">x</mi></math>',
    '<math href="javascript:alert(1337)">x</math>',
    # --- frames, plugins and document-level elements
    '<iframe src="https://evil.example/1337"></iframe>',
    '<iframe srcdoc="&lt;script&gt;alert(1337)&lt;/script&gt;"></iframe>',
    '<object data="javascript:alert(1337)"></object>',
    '<embed src="https://evil.example/1337.swf">',
    '<base href="https://evil.example/1337/">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1337)">',
    '<link rel=import href="https://evil.example/1337.html">',
    "<style>@import 'https://evil.example/1337.css';</style>",
    '<div style="background:url(javascript:alert(1337))">x</div>',
    '<p style="width:expression(alert(1337))">x</p>',
    # --- parser confusion
    "<scr<script>ipt>alert(1337)</scr</script>ipt>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1337)>">',
    '<!--<img src="--><img src=x onerror=alert(1337)//">',
    "<![CDATA[<script>alert(1337)</script>]]>",
    "<<script>script>alert(1337)<</script>/script>",
    # --- entities and Unicode
    "&lt;script&gt;alert(1337)&lt;/script&gt;",
    "&#60;script&#62;alert(1337)&#60;/script&#62;",
    "\u202e<script>alert(1337)</script>",
    "<scr\u0130pt>alert(1337)</scr\u0130pt>",
    "\uff1cscript\uff1ealert(1337)\uff1c/script\uff1e",
    "[x](\uff4a\uff41\uff56\uff41\uff53\uff43\uff52\uff49\uff50\uff54:alert(1337))",
    "[x](java\u200bscript:alert(1337))",
    # --- template injection
    *TEMPLATE_MARKERS,
)

_URL_ATTRS: Final = frozenset(
    "action background cite code codebase data dynsrc formaction href icon longdesc lowsrc"
    " manifest ping poster src usemap xlink:href".split()
)
# Attributes holding lists of URLs (srcset) or SVG animation values.
_URL_LIST_ATTRS: Final = frozenset({"srcset", "values", "to", "from", "by"})
_SAFE_DATA_URL: Final = re.compile(r"data:image/(?:png|gif|jpeg|webp)[;,]")
_EXECUTABLE_ELEMENTS: Final = frozenset(
    "script iframe frame frameset object embed applet base link style svg math animate"
    " animatemotion animatetransform set use foreignobject handler listener portal isindex".split()
)
_RAW_TEXT_ELEMENTS: Final = frozenset({"script", "style"})
# HTMLParser only treats <script> and <style> as raw text. A browser with scripting enabled
# does so for these too; otherwise a "</noscript>" inside an attribute value would hide the
# element a browser sees right after it.
_BROWSER_RAW_TEXT: Final = frozenset(
    "xmp iframe noembed noframes noscript textarea title plaintext".split()
)
_STYLE_HAZARDS: Final = ("expression(", "javascript:", "vbscript:", "behavior:", "-moz-binding")


def _normalise_url(value: str) -> str:
    """Return a URL as a browser reads its scheme: no tabs/newlines, no leading controls."""
    without_tabs = re.sub(r"[\t\n\r]", "", value)
    return without_tabs.strip("".join(map(chr, range(0x21)))).lower()


def _dangerous_url(value: str) -> bool:
    url = _normalise_url(value)
    if url.startswith(("javascript:", "vbscript:", "livescript:")):
        return True
    return url.startswith("data:") and not _SAFE_DATA_URL.match(url)


class _Inspector(HTMLParser):
    def __init__(self, *, strict: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.strict = strict
        self.findings: list[str] = []
        self.text: list[str] = []
        self.attribute_text: list[str] = []
        self._raw_element: tuple[str, tuple[int, int], str] | None = None
        self._raw_content: list[str] = []

    def _flag(self, what: str, snippet: str, pos: tuple[int, int] | None = None) -> None:
        line, col = pos or self.getpos()
        self.findings.append(f"line {line} col {col}: {what}: {snippet[:200]!r}")

    def _hit(self, value: str) -> bool:
        return self.strict or MARKER in value

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        source = self.get_starttag_text() or f"<{tag}>"
        values = [value or "" for _, value in attrs]
        self.attribute_text.extend(values)
        for name, raw_value in attrs:
            value = raw_value or ""
            if name.startswith("on") and self._hit(value):
                self._flag(f"event handler {name}= on <{tag}>", source)
            elif name in _URL_ATTRS and _dangerous_url(value) and self._hit(value):
                self._flag(f"dangerous URL in {name}= on <{tag}>", source)
            elif name in _URL_LIST_ATTRS and self._hit(value):
                if any(_dangerous_url(part) for part in re.split(r"[;,\s]+", value)):
                    self._flag(f"dangerous URL in {name}= on <{tag}>", source)
            elif name == "srcdoc" and self._hit(value):
                self._flag(f"srcdoc document on <{tag}>", source)
            elif name == "style" and any(h in value.lower() for h in _STYLE_HAZARDS):
                if self._hit(value):
                    self._flag(f"script in style= on <{tag}>", source)
        if tag == "meta" and any(name == "http-equiv" for name, _ in attrs):
            if self._hit(" ".join(values)):
                self._flag("<meta http-equiv>", source)
        elif tag in _RAW_TEXT_ELEMENTS:
            # Decide when the element closes: the marker may sit in its content.
            self._raw_element = (tag, self.getpos(), source)
            self._raw_content = []
        elif tag in _EXECUTABLE_ELEMENTS and self._hit(" ".join(values)):
            self._flag(f"<{tag}> element", source)
        if tag in _BROWSER_RAW_TEXT:
            self.set_cdata_mode(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _RAW_TEXT_ELEMENTS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._raw_element is None or self._raw_element[0] != tag:
            return
        _, pos, source = self._raw_element
        content = "".join(self._raw_content)
        if self._hit(source + content):
            self._flag(f"<{tag}> element", source + content, pos)
        self._raw_element = None

    def handle_data(self, data: str) -> None:
        if self._raw_element is not None:
            self._raw_content.append(data)
        else:
            self.text.append(data)

    def close(self) -> None:
        super().close()
        if self._raw_element is not None:  # an unclosed <script> runs to the end of the page
            # Older parsers keep the unterminated raw text in their buffer instead of
            # reporting it as data.
            self._raw_content.append(self.rawdata)
            self.handle_endtag(self._raw_element[0])


def assert_inert(html: str, *, strict: bool = False) -> None:
    """Fail if the HTML holds anything executable or template-evaluated from a payload.

    :param strict: flag executable constructs even without the payload marker; use it for
        sanitiser output, which should contain none at all.
    :raises AssertionError: listing every finding with its position.
    """
    inspector = _Inspector(strict=strict)
    inspector.feed(html)
    inspector.close()
    text = "".join(inspector.text)
    for payload, evaluated in TEMPLATE_MARKERS.items():
        if evaluated in text or any(evaluated in v for v in inspector.attribute_text):
            inspector.findings.append(f"template evaluated: {payload!r} became {evaluated!r}")
    if inspector.findings:
        listing = "\n  ".join(inspector.findings)
        raise AssertionError(f"executable content in HTML:\n  {listing}\nHTML: {html[:2000]!r}")
