"""The real-data converter (ASSISTments 2009 skill builder → the harness's long format) on a tiny inline sample,
the index parsing and the integrity check; the download itself needs the network and is not tested here."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from smartpractice_dev.eval_io import read_answers
from smartpractice_dev.real_data import IntegrityError, check, convert, sdist_url

# Columns as in the raw file (a subset: the converter reads them by name), rows in the file's order: a two-skill
# answer written once per skill (order 7), a row without a skill (dropped), a learner with numerically smaller
# id later in the file, and skills that sort differently as text and as numbers.
RAW = (
    "order_id,assignment_id,user_id,problem_id,original,correct,skill_id,skill_name\n"
    "7,1,64525,51424,1,1,10,\"Box and Whisker, plots\"\n"
    "7,1,64525,51424,1,1,9,Mean\n"
    "3,1,64525,51435,1,0,9,Mean\n"
    "5,2,70363,51444,1,0,,\n"
    "4,2,9,51444,0,1,104,Fractions\n"
    "4,2,9,51444,0,1,104,Fractions\n"
    "2,2,9,51400,1,0,11,Mode\n"
)


def test_converts_one_row_per_order_id_skill_rows_only_sorted_by_learner_then_order() -> None:
    result = convert(csv.reader(io.StringIO(RAW)))
    assert result.lines == [
        "user_id,item_id,skill_id,correct,timestamp\n",
        "u9,p51400,11,0,2\n",
        "u9,p51444,104,1,4\n",
        "u64525,p51435,9,0,3\n",
        "u64525,p51424,9;10,1,7\n",
    ]
    assert (result.raw_rows, result.skill_rows, result.conflicting_outcomes) == (7, 6, 0)


def test_conflicting_outcomes_keep_the_first_row_and_are_counted_and_a_split_answer_fails() -> None:
    conflict = RAW.replace("7,1,64525,51424,1,1,9,Mean", "7,1,64525,51424,1,0,9,Mean")
    result = convert(csv.reader(io.StringIO(conflict)))
    assert result.lines[-1] == "u64525,p51424,9;10,1,7\n"
    assert result.conflicting_outcomes == 1
    split = RAW.replace("7,1,64525,51424,1,1,9,Mean", "7,1,64525,51999,1,1,9,Mean")
    with pytest.raises(ValueError, match="order_id 7 is not one answer"):
        convert(csv.reader(io.StringIO(split)))


def test_the_harness_reads_the_output_as_multi_skill_answers(tmp_path: Path) -> None:
    path = tmp_path / "assist.csv"
    path.write_text("".join(convert(csv.reader(io.StringIO(RAW))).lines))
    log = read_answers(path)
    assert log.user_names == ("u9", "u64525")
    assert [log.item_names[i] for i in log.item] == ["p51400", "p51444", "p51435", "p51424"]
    assert [tuple(log.skill_names[s] for s in k) for k in log.skills] == [("11",), ("104",), ("9",), ("9", "10")]
    assert log.merged_rows == 0 and log.item_difficulty is None


def test_index_parsing_and_integrity_check(tmp_path: Path) -> None:
    page = ('<a href="https://files.example/aa/pyBKT-1.1.tar.gz#sha256=00">pyBKT-1.1.tar.gz</a>\n'
            '<a href="https://files.example/bb/pyBKT-1.2.tar.gz#sha256=ff">pyBKT-1.2.tar.gz</a>\n')
    assert sdist_url(page) == "https://files.example/bb/pyBKT-1.2.tar.gz"
    with pytest.raises(LookupError):
        sdist_url(page, "pyBKT-9.tar.gz")
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    check(path, md5="900150983cd24fb0d6963f7d28e17f72")
    with pytest.raises(IntegrityError, match="sha256"):
        check(path, sha256="0" * 64)
