"""A hierarchy file, checked: stakes, rejects with reasons, the consolidation tree and groups."""

import re

import pandas as pd
import pytest

from wbgraph.errors import InputFileError
from wbgraph.loaders.hierarchy import check_hierarchy, consolidation_of, find_cycle, groups_of

HEADER = "Customer ID,Parent ID,Share,Since,Parent Name\n"


def hierarchy(tmp_path, body: str, header: str = HEADER):
    path = tmp_path / "groups.csv"
    path.write_text(header + body)
    return path


def test_every_row_is_a_stake_or_a_reject_with_its_line_and_reason(tmp_path):
    path = hierarchy(
        tmp_path,
        "SUB-1,HOLD,0.6,2024-01-31,ACME Holdings\n"  # line 2
        "SUB-1,OTHER,0.4,,\n"
        ",HOLD,0.5,,\n"  # line 4: no child
        "SUB-2,,0.5,,\n"
        "SUB-3,SUB-3,1,,\n"
        "SUB-4,HOLD,0,,\n"
        "SUB-4,HOLD2,1.5,,\n"
        "SUB-5,HOLD,half,,\n"
        "SUB-6,HOLD,1,2024-13-01,\n"
        "SUB-1,HOLD,0.6,,\n"  # line 11: the same stake again
        "SUB-7,HOLD,,,\n"
        "SUB-8,HOLD,2,,\n"  # line 13: a bad stake ...
        "SUB-8,HOLD,0.7,,\n",  # ... then the sound one, which is not a repeat of it
    )
    checked = check_hierarchy(path)
    summary = checked.summary
    assert (summary.read, summary.loaded, summary.rejected) == (13, 3, 10)
    assert summary.read == summary.loaded + summary.rejected
    rejects = pd.read_csv(summary.rejects_file, dtype=str, keep_default_na=False)
    assert dict(zip(rejects["lineNumber"].astype(int), rejects["reason"])) == {
        4: "missing Customer ID",
        5: "missing Parent ID",
        6: "an entity cannot own itself",
        7: "Share 0 is outside (0, 1]",
        8: "Share 1.5 is outside (0, 1]",
        9: "Share half is not a number",
        10: "Since 2024-13-01 is not a date (YYYY-MM-DD)",
        11: "the stake of HOLD in SUB-1 is on line 2",
        12: "missing Share",
        13: "Share 2 is outside (0, 1]",
    }
    assert list(rejects.columns[2:]) == ["Customer ID", "Parent ID", "Share", "Since", "Parent Name"]  # as written
    assert checked.rows.to_dict("records") == [
        {"child": "SUB-1", "parent": "HOLD", "share": 0.6, "since": "2024-01-31", "name": "ACME Holdings"},
        {"child": "SUB-1", "parent": "OTHER", "share": 0.4, "since": None, "name": None},
        {"child": "SUB-8", "parent": "HOLD", "share": 0.7, "since": None, "name": None},
    ]
    assert checked.consolidation == {"SUB-1": "HOLD", "SUB-8": "HOLD"} and summary.entities == 4


def test_a_file_without_a_needed_column_is_refused_in_one_line(tmp_path):
    path = hierarchy(tmp_path, "SUB-1,HOLD\n", header="Customer ID,Parent ID\n")
    with pytest.raises(InputFileError, match="no column 'Share'"):
        check_hierarchy(path)


def test_the_consolidation_parent_is_the_majority_owner_else_the_largest_else_the_smallest_id():
    stakes = pd.DataFrame(
        [
            ("A", "P1", 0.3),
            ("A", "P2", 0.55),
            ("A", "P3", 0.15),  # majority: P2
            ("B", "P1", 0.4),
            ("B", "P2", 0.35),  # no majority: the largest, P1
            ("C", "P9", 0.5),
            ("C", "P4", 0.5),  # a tie: the smallest ID, P4
        ],
        columns=["child", "parent", "share"],
    )
    assert consolidation_of(stakes) == {"A": "P2", "B": "P1", "C": "P4"}


def test_a_cycle_is_found_and_named_member_by_member():
    assert find_cycle({"A": "B", "B": "C", "C": "D"}) is None
    assert find_cycle({"X": "A", "A": "B", "B": "C", "C": "A"}) == ["A", "B", "C", "A"]
    assert find_cycle({"A": "B", "B": "A"}) == ["A", "B", "A"]


def test_each_member_knows_its_ultimate_parent_and_its_group_size():
    parent_of = {"SUB-1": "MID", "SUB-2": "MID", "MID": "TOP", "SUB-3": "TOP", "X": "Y"}
    assert groups_of(parent_of) == {
        "SUB-1": ("TOP", 5),
        "SUB-2": ("TOP", 5),
        "MID": ("TOP", 5),
        "SUB-3": ("TOP", 5),
        "TOP": ("TOP", 5),
        "X": ("Y", 2),
        "Y": ("Y", 2),
    }
    assert groups_of({}) == {}


BANK_MAPPING = """
[columns]
customerId = "Customer ID"
productId = "Product ID"
date = "Transaction Date"

[hierarchy]
file = "ownership.csv"
child = "ENTITY"
parent = "OWNER"
share = "FRACTION"
since = { column = "SINCE", format = "%d/%m/%Y" }
name = "OWNER_NAME"
"""


def test_a_mappings_hierarchy_table_reads_the_banks_own_headers_and_dates(tmp_path):
    from wbgraph.loaders.ingest import hierarchy_source

    (tmp_path / "ownership.csv").write_text(
        "ENTITY,OWNER,FRACTION,SINCE,OWNER_NAME\nSUB-1,HOLD,0.6,31/01/2024,ACME Holdings\nSUB-2,SUB-1,1,2024-01-31,\n"
    )
    mapping = tmp_path / "bank.toml"
    mapping.write_text(BANK_MAPPING)
    source = hierarchy_source(mapping)
    assert source.file == tmp_path / "ownership.csv"  # relative to the mapping
    checked = check_hierarchy(source.file, source=source)
    assert checked.rows[["child", "parent", "share", "since", "name"]].values.tolist() == [
        ["SUB-1", "HOLD", 0.6, "2024-01-31", "ACME Holdings"]
    ]
    rejects = pd.read_csv(checked.summary.rejects_file, dtype=str, keep_default_na=False)
    assert rejects["reason"].tolist() == ["Since 2024-01-31 is not a date (%d/%m/%Y)"]  # not the mapping's format


@pytest.mark.parametrize(
    "table,message",
    [
        ('file = "o.csv"\nchild = "A"\nparent = "B"\n', "[hierarchy] needs file"),
        ('file = "o.csv"\nchild = "A"\nparent = "B"\nshare = "C"\nowner = "D"\n', "unknown keys ['owner']"),
        ('file = "o.csv"\nchild = "A"\nparent = "B"\nshare = 3\n', "[hierarchy] share must name a column"),
        (
            'file = "o.csv"\nchild = "A"\nparent = "B"\nshare = "C"\nsince = { column = "D", format = "dd/mm" }\n',
            "format 'dd/mm' is not iso8601",
        ),
    ],
)
def test_a_bad_hierarchy_table_is_a_one_line_mapping_error(tmp_path, table, message):
    from wbgraph.errors import MappingError
    from wbgraph.loaders.mapping import load_mapping

    mapping = tmp_path / "bank.toml"
    mapping.write_text(BANK_MAPPING.split("[hierarchy]")[0] + "[hierarchy]\n" + table)
    with pytest.raises(MappingError, match=re.escape(message)):
        load_mapping(mapping)


def test_bulk_refuses_a_mapping_with_a_hierarchy_and_ingest_needs_something_to_load(tmp_path):
    from click.testing import CliRunner

    from wbgraph.cli import cli as main

    mapping = tmp_path / "bank.toml"
    mapping.write_text(BANK_MAPPING)
    (tmp_path / "rows.csv").write_text("Customer ID,Product ID,Transaction Date\n")
    bulk = CliRunner().invoke(main, ["ingest", str(tmp_path / "rows.csv"), "--bulk", "--mapping", str(mapping)])
    assert bulk.exit_code == 2 and "has a [hierarchy], which loads online" in bulk.output
    nothing = CliRunner().invoke(main, ["ingest"])
    assert nothing.exit_code == 2 and "Give the files to load, --hierarchy FILE, or a --mapping" in nothing.output
