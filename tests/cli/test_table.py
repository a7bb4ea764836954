"""Table rendering: aligned columns, '-' for null, yes/no for booleans, '(none)' when empty."""

from __future__ import annotations

import pytest

from cli import table


def test_columns_are_as_wide_as_their_widest_cell_and_two_spaces_apart() -> None:
    text = table.render(("ID", "NODE"), [[0, "perdure-1"], [12, "n2"]])
    assert text.splitlines() == [
        "ID  NODE",
        "0   perdure-1",
        "12  n2",
    ]


def test_a_header_wider_than_its_cells_sets_the_width() -> None:
    assert table.render(("COMMITTED", "X"), [[5, "a"]]).splitlines() == [
        "COMMITTED  X",
        "5          a",
    ]


def test_null_reads_as_dash_and_booleans_as_yes_or_no() -> None:
    assert table.render(("PID", "ALIVE", "UP"), [[None, True, False]]).splitlines() == [
        "PID  ALIVE  UP",
        "-    yes    no",
    ]


def test_lines_have_no_trailing_spaces() -> None:
    text = table.render(("A", "LONG-HEADER"), [["wide cell", ""]])
    assert all(line == line.rstrip() for line in text.splitlines())
    assert text.splitlines()[1] == "wide cell"


def test_a_table_without_rows_says_none() -> None:
    assert table.render(("NAME", "ADDRESS"), []).splitlines() == ["NAME  ADDRESS", "(none)"]


def test_a_row_with_the_wrong_number_of_cells_is_refused() -> None:
    with pytest.raises(ValueError, match="2 cells for 3 columns"):
        table.render(("A", "B", "C"), [[1, 2]])
