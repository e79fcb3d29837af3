"""Exports that staff open in spreadsheets and scripts: CSV lines with formula-safe cells, and JSON.

Both are generators, so a view can stream thousands of rows (``StreamingHttpResponse``) without
holding them in memory.

Spreadsheet programs (Excel, LibreOffice, Google Sheets) treat a CSV cell that starts with ``=``,
``+``, ``-`` or ``@`` as a formula, and a formula in a downloaded file can fetch web addresses
(``WEBSERVICE``, ``IMPORTXML``, ``HYPERLINK``) or, through DDE, start programs. Cells come from
staff prompts, model answers, image names and CSV rows people pasted, so any of them may carry one.
``csv_safe`` puts an apostrophe in front of such a cell, which every spreadsheet program reads as
"this is text". The apostrophe also ends up wherever the file is imported (a CMS's ``alt``
attribute), so it is only added where a formula is possible:

- a cell that starts with ``=`` or ``@`` (or their full-width forms) always gets it, and so does one
  that starts with a tab or a line break, which OWASP lists because some importers drop them;
- a cell that starts with ``+`` or ``-`` gets it only when the rest could be a formula: it calls a
  function, uses a DDE pipe (``|``), points into a sheet (``Sheet1!A1``), or is nothing but
  arithmetic (``-1+2``, ``+A1*2``, ``+44 20 7946 0000``). Ordinary prose keeps its sign: a Markdown
  list item (``- Red shoes (size 42)``), ``-20% off: yellow bowl``, ``+1 colour``, and so do a plain
  negative number (``-12``, ``-3.5``, ``-20%``: read as a formula it can only be that number) and a
  cell of dashes (``---``, the usual "nothing here").

A function call is a name directly followed by a bracket (``photo(s)``, ``HYPERLINK(``), or a name
followed by spaces and a bracket where a formula could call it: at the start or after an operator or
bracket (``- WEBSERVICE (``, but not ``- A red kite (diamond)``, where Excel forbids the space and
the others read two names in a row as an error, so nothing is called). Leading spaces are looked
past (some programs strip them before deciding).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

BYTE_ORDER_MARK = "\ufeff"  # so spreadsheet programs read the file as UTF-8, not the local code page

ALWAYS_FORMULA_STARTS = ("=", "@", "\uff1d", "\uff20")  # and their full-width forms
SIGN_STARTS = ("+", "-", "\uff0b", "\uff0d")
FORMULA_STARTS = ALWAYS_FORMULA_STARTS + SIGN_STARTS
CONTROL_STARTS = ("\t", "\r", "\n")
PLAIN_NEGATIVE_NUMBER = re.compile(r"-\d+(?:[.,]\d+)*(?:[eE][+-]?\d+)?%?")
DASHES_ONLY = re.compile(r"-+")
# What turns a formula from arithmetic into something that reaches outside the sheet: a function call.
FUNCTION_CALL = re.compile(r"[^\W\d][\w.]*\(|(?:^|[-=+*/^&<>(])\s*[^\W\d][\w.]*\s+\(")
# A reference into a sheet: `Sheet1!A1`, `'my sheet'!$B$2` (and the DDE form `cmd|'…'!A0`).
SHEET_REFERENCE = re.compile(r"!\$?[A-Za-z]{1,3}\$?\d")
# Nothing but numbers, cell references and operators: `-1+2`, `+A1*2`, `+44 20 7946 0000`.
_OPERAND = r"(?:\d+(?:[.,]\d+)*%?|\$?[A-Za-z]{1,3}\$?\d+)"
ARITHMETIC = re.compile(rf"[-+\s]*{_OPERAND}(?:[-+*/^&<>=\s()]+{_OPERAND})*[\s()%]*")


def could_be_formula(text: str) -> bool:
    """Whether a cell that starts with + or - could run as a formula (see the module's docstring)."""
    text = text.replace("\uff0b", "+", 1).replace("\uff0d", "-", 1)
    if PLAIN_NEGATIVE_NUMBER.fullmatch(text) or DASHES_ONLY.fullmatch(text.rstrip()):
        return False
    return bool("|" in text or FUNCTION_CALL.search(text) or SHEET_REFERENCE.search(text) or ARITHMETIC.fullmatch(text))


def csv_safe(value: Any) -> Any:
    """The value, with an apostrophe in front if a spreadsheet could run it as a formula.

    Only strings are changed; numbers, dates and None pass through untouched.
    """
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(CONTROL_STARTS):
        return "'" + value
    text = value.lstrip()
    if text.startswith(ALWAYS_FORMULA_STARTS):
        return "'" + value
    if text.startswith(SIGN_STARTS) and could_be_formula(text):
        return "'" + value
    return value


class _Line:
    """A file-like object whose write() hands back the line, so csv.writer can serve a generator."""

    def write(self, text: str) -> str:
        return text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> Iterator[str]:
    """CSV text one line at a time: the header (after a byte-order mark), then each row, every cell csv_safe.

    A row is either the values in header order or a mapping read by the header's names.
    """
    writer = csv.writer(_Line())
    yield BYTE_ORDER_MARK + writer.writerow([csv_safe(name) for name in header])
    for row in rows:
        values = [row[name] for name in header] if isinstance(row, Mapping) else row
        yield writer.writerow([csv_safe(value) for value in values])


def json_chunks(rows: Iterable[Any]) -> Iterator[str]:
    """A JSON array, one row (object) per chunk and per line, without building the whole text."""
    yield "["
    for number, row in enumerate(rows):
        yield ("," if number else "") + "\n" + json.dumps(row, ensure_ascii=False)
    yield "\n]\n"
