"""Reading datasets (`engine.format.dataset.read_csv`): what is a sample, what is refused, and where."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import LoadError
from engine.format.dataset import read_csv


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    return path


def issues(path: Path, known: tuple[str, ...] = ("x", "y")) -> list[str]:
    with pytest.raises(LoadError) as caught:
        read_csv(path, known)
    return [f"{i.line}:{i.column} {i.code} {i.message}" for i in caught.value.issues]


def test_rows_are_samples_named_by_their_line(tmp_path: Path) -> None:
    data = read_csv(write(tmp_path, "x, y\n1, 2\n\n , \n,\n 3.5 ,-4e-3\n1e308,1e308\n"), ("x", "y"))
    assert {k: v.tolist() for k, v in data.columns.items()} == {
        "x": [1.0, 3.5, 1e308],
        "y": [2.0, -0.004, 1e308],
    }  # a sum may overflow: still finite
    assert data.lines == [2, 6, 7]
    assert data.row_label(1) == f"row 6 of '{tmp_path / 'data.csv'}'"


def test_every_bad_cell_is_placed(tmp_path: Path) -> None:
    path = write(tmp_path, "x,y\n1,nan\ninf,2\n1,\n-inf,abc\n1,2,3\n")
    assert issues(path) == [
        "2:3 invalid-number 'nan' in column 'y' is not a finite number",
        "3:1 invalid-number 'inf' in column 'x' is not a finite number",
        "4:3 invalid-number '' in column 'y' is not a number",
        "5:1 invalid-number '-inf' in column 'x' is not a finite number",
        "5:6 invalid-number 'abc' in column 'y' is not a number",
        "6:1 row-length row has 3 cells, the header has 2",
    ]


def test_at_most_twenty_issues(tmp_path: Path) -> None:
    path = write(tmp_path, "x,y\n" + "a,b\n" * 30)
    found = issues(path)
    assert len(found) == 20
    assert found[-1] == "11:3 invalid-number 'b' in column 'y' is not a number"


def test_header_only(tmp_path: Path) -> None:
    assert issues(write(tmp_path, "x,y\n\n")) == ["2:1 empty-dataset dataset has a header but no rows"]


def test_results_csv_writes_what_csv_writer_would(tmp_path: Path) -> None:
    import csv
    import io

    import numpy as np

    from engine.cli.dataset import results_csv

    xs = np.array([0.1, -0.0, 1e-300, 123456789.125, -2.5e17])
    values = {"x": xs, "f": xs * 3}
    grads = {"x": np.array([3.0, 3.0, 3.0, 3.0, 3.0])}
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\n")
    writer.writerow(["x", "f", "df/dx"])
    writer.writerows(zip(xs.tolist(), (xs * 3).tolist(), grads["x"].tolist()))
    assert results_csv(["x"], "f", values, grads) == expected.getvalue()
    assert results_csv(["x"], "f", values, grads).splitlines()[2] == "-0.0,-0.0,3.0"


def test_unreadable_files_are_io_errors(tmp_path: Path) -> None:
    (tmp_path / "latin.csv").write_bytes(b"x\n1\n\xff\n")
    (tmp_path / "huge.csv").write_text('x\n"' + "1" * 200_000 + '"\n', encoding="utf-8")
    (tmp_path / "folder.csv").mkdir()
    found = {name: issues(tmp_path / name) for name in ("latin.csv", "huge.csv", "folder.csv", "missing.csv")}
    assert found == {
        "latin.csv": [
            "None:None io cannot read dataset: 'utf-8' codec can't decode byte 0xff in position 4: invalid start byte"
        ],
        "huge.csv": ["None:None io cannot read dataset: field larger than field limit (131072)"],
        "folder.csv": [f"None:None io cannot read dataset: [Errno 21] Is a directory: '{tmp_path / 'folder.csv'}'"],
        "missing.csv": ["None:None io no such file"],
    }


def test_cells_are_quoted_readably(tmp_path: Path) -> None:
    path = write(tmp_path, "x,y\n1,a\x00b\n1," + "9" * 50 + "z\n")
    assert issues(path) == [
        "2:3 invalid-number 'a\\x00b' in column 'y' is not a number",
        "3:3 invalid-number '" + "9" * 35 + "…' in column 'y' is not a number",
    ]


def test_a_wide_header_of_unknown_columns_is_read_in_one_pass(tmp_path: Path) -> None:
    known = tuple(f"in{i}" for i in range(5_000))
    columns = [f"c{i}" for i in range(20_000)]
    path = write(tmp_path, ",".join(columns) + "\n" + ",".join("1" for _ in columns) + "\n")
    with pytest.raises(LoadError) as caught:
        read_csv(path, known)
    found = caught.value.issues
    assert len(found) == 20_000
    last = found[-1]
    assert (last.line, last.column, last.message) == (
        1,
        sum(len(c) + 1 for c in columns[:-1]) + 1,
        "column 'c19999' names no input of the circuit",
    )
    assert last.hint == "inputs: " + ", ".join(known[:10]) + " and 4990 more"
