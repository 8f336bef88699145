"""Text from a user, a dataset or a run folder is data: how it is shown in each output.

Every string that reaches a terminal, a markdown or a LaTeX table goes through one of these
pure functions, so that no such string becomes markup (rich's `[link=...]`, markdown's `|`,
HTML's `<script>`, LaTeX's `$`), a broken row, or a terminal escape sequence. Control
characters (C0, DEL, C1: ESC among them) are never written: they are shown visibly as Python
writes them (`\\x1b`), a line break as `\\n`. CSV and JSON need none of this: their writers
quote, and the text round-trips exactly.
"""

from __future__ import annotations

import logging
import re

from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def visible(text: object) -> str:
    """The text with every control character (line breaks and tabs included) shown as its
    escape (`\\x1b`, `\\n`, `\\t`), so nothing reaches a terminal as a control sequence."""
    def show(match: re.Match[str]) -> str:
        char = match.group()
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{ord(char):02x}")

    return _CONTROL.sub(show, str(text))


def terminal(text: object, style: str = "") -> Text:
    """A rich Text for the terminal: never parsed as markup, control characters visible."""
    return Text(visible(text), style=style)


_MD = {"|": "\\|", "<": "&lt;", ">": "&gt;", "&": "&amp;", "\\": "\\\\", "`": "\\`",
       "[": "\\[", "]": "\\]"}


def md_cell(text: object) -> str:
    """A markdown table cell (or list item): `|`, HTML, code and link characters escaped,
    control characters visible, so the text stays inside its one cell of its one row."""
    return "".join(_MD.get(ch, ch) for ch in visible(text))


_LATEX = {"\\": "\\textbackslash{}", "&": "\\&", "%": "\\%", "$": "\\$", "#": "\\#", "_": "\\_",
          "{": "\\{", "}": "\\}", "~": "\\textasciitilde{}", "^": "\\textasciicircum{}",
          "<": "\\textless{}", ">": "\\textgreater{}"}


def latex_cell(text: object) -> str:
    """A LaTeX table cell: every special character escaped, control characters visible (as
    escaped text), so the text is one cell of one row and is typeset as written."""
    return "".join(_LATEX.get(ch, ch) for ch in visible(text))


def message_lines(error: BaseException) -> list[str]:
    """An error's message for a terminal, a line each: ibench's own line breaks (an
    IbenchError's `lines`) kept, every control character inside a line shown as data."""
    lines = getattr(error, "lines", None) or (str(error),)
    return [visible(line) for line in lines]


_CONTROL_IN_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible_lines(text: object) -> str:
    """The text with its control characters shown as escapes, line breaks and tabs kept: for
    what keeps its own lines (a library's warning, an HTML page's preformatted text)."""
    def show(match: re.Match[str]) -> str:
        return {"\r": "\\r"}.get(match.group(), f"\\x{ord(match.group()):02x}")

    return _CONTROL_IN_LINES.sub(show, str(text))


class EscapingFilter(logging.Filter):
    """A logging filter that turns a record's message into data before any handler writes it
    (a library's warning may quote text ibench passed it: a --model-args value, a path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = visible_lines(record.getMessage()), ()
        return True


def escape_library_output(logger_names: tuple[str, ...] = ("transformers", "huggingface_hub")
                          ) -> None:
    """Make what libraries print data on the terminal: Python warnings and every handler of the
    root and the libraries' loggers escape control characters (idempotent)."""
    import sys
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        text = warnings.formatwarning(message, category, filename, lineno, line)
        (file or sys.stderr).write(visible_lines(text))

    warnings.showwarning = show
    root = logging.getLogger()
    if not root.handlers:  # what logging's last resort would print raw
        fallback = logging.StreamHandler()
        fallback.setLevel(logging.WARNING)
        root.addHandler(fallback)
    for logger in (root, *(logging.getLogger(name) for name in logger_names)):
        for handler in logger.handlers:
            if not any(isinstance(f, EscapingFilter) for f in handler.filters):
                handler.addFilter(EscapingFilter())
