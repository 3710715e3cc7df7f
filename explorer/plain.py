"""Text that people typed, shown as plain text inside Streamlit's markdown.

Streamlit renders markdown, KaTeX (`$...$`), colour directives (`:red[...]`) and HTML-like
syntax in `st.markdown`, `st.error`, captions and titles, so a display name like
`_italic_ __bold__` or `$\\sum$` would render for everyone. `plain(text)` escapes every ASCII
punctuation character that formats with a backslash (CommonMark allows it for each of them) and
folds line breaks, so the text shows exactly as typed; use it for every name or echo of user input that
goes into a markdown string.
"""

from __future__ import annotations

import re

# What formats inline anywhere in a line (emphasis, code, links, KaTeX, :colour[...] directives,
# tables, strikethrough); the rest of the punctuation only at a line's start (lists, headings).
_INLINE = "\\`*_{}[]()<>#+!|$~:"
_ESCAPE = {ord(c): "\\" + c for c in _INLINE}
_ESCAPE.update({ord("\n"): " ", ord("\r"): " ", ord("\t"): " "})
_LINE_START = re.compile(r"^(\s*\d*)([-=.)])")  # "- x", "1. x", "1) x", "= x"


def plain(text: object) -> str:
    """`text` escaped for markdown: it renders as the same characters, never as formatting."""
    out = str(text).translate(_ESCAPE)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), out)


# An absolute path of the server (/usr/share/datasets/mnist, /home/x/.cache/...), not a URL's.
_PATH = re.compile(r"(?<![\w:/.])(?:~|[A-Za-z]:)?/(?:[^\s/,;:'\"()\[\]]+/)*[^\s/,;:'\"()\[\]]*")


def public(message: object) -> str:
    """An error's message as a student may see it: each server path becomes its last part, so a
    file is still named but no folder of the server is shown (the log keeps the full message)."""

    def last_part(m: re.Match) -> str:
        tail = m.group(0).rstrip("/").rsplit("/", 1)[-1]
        return tail or "…"

    return _PATH.sub(last_part, str(message))


def shown(exc: object) -> str:
    """public() and plain(): an error's message, without server paths, safe inside markdown."""
    return plain(public(exc))
