"""Text from outside the app (a link, a lesson file, an upload, an environment variable) shown as
text: never as Markdown or HTML.

Streamlit renders the body of ``st.warning``/``st.error``/``st.info``/``st.markdown`` as
Markdown, so ``?se_size=[Log in again](https://evil.example/login)`` in a link would put a
clickable link into a warning on the page, and ``![x](https://evil.example/p.png)`` would make
every visitor's browser fetch an outside image. Whatever such text contains, pass it through
:func:`literal` (inside running text) or :func:`code` (a name or value in a code span) before it
is put into a Markdown string.
"""

from __future__ import annotations

import re

# CommonMark lets a backslash escape every ASCII punctuation character, and an escaped character
# is always shown as itself: no link, image, emphasis, HTML tag, autolink (":" and "." of
# "https://", "www.") or Streamlit directive (":red[...]", "$...$") can start at one.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAKS = re.compile(r"[\r\n\t\f\v\u2028\u2029]+")
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
MAX_CHARS = 300
# what GitHub-flavoured Markdown links by itself: a URL, "www.…", an e-mail address (to the next space)
_LINKABLE = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]*://|www\.|[\w.+-]+@[\w-]+\.)\S*")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def literal(text: object, limit: int = MAX_CHARS) -> str:
    r"""``text`` escaped so that Markdown shows every character as it is, on one line.

    Line breaks become spaces (a value cannot start a heading or a list), control characters are
    dropped, and text longer than ``limit`` characters is cut with "…". Escapes do not stop the
    autolinks of GitHub-flavoured Markdown (a bare ``https://…``, ``www.…`` or e-mail address is
    linked after parsing), so such a run of text goes into a code span, which is never linked.

    Example:
        >>> print(literal("[Log in](https://evil.example)"))
        \[Log in\]\(`https://evil.example)`
    """
    one_line = _shorten(_INVISIBLE.sub("", _LINE_BREAKS.sub(" ", str(text))), limit)
    parts: list[str] = []
    end = 0
    for match in _LINKABLE.finditer(one_line):
        parts.append(_PUNCTUATION.sub(r"\\\1", one_line[end : match.start()]))
        parts.append(code(match.group(0), limit))
        end = match.end()
    parts.append(_PUNCTUATION.sub(r"\\\1", one_line[end:]))
    return "".join(parts)


def code(text: object, limit: int = MAX_CHARS) -> str:
    """``text`` as an inline code span, whatever backticks it contains (shown verbatim).

    Example:
        >>> code("se_`k")
        '`` se_`k ``'
    """
    one_line = _INVISIBLE.sub("", _LINE_BREAKS.sub(" ", str(text)))
    body = _shorten(one_line, limit)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    if longest or body.startswith(" ") or body.endswith(" "):
        return f"{fence} {body} {fence}"
    return f"{fence}{body}{fence}"


def shown(markdown: str) -> str:
    """The characters a reader sees of text made with :func:`literal`: its escapes removed.

    Example:
        >>> shown(literal("a [b](c)"))
        'a [b](c)'
    """
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)
