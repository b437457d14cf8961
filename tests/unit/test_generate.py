"""`wbgraph generate`: the seed's columns without its bugs, deterministic, with structure to find."""

import json

import pandas as pd
from scipy.stats import chi2_contingency, spearmanr

from wbgraph.loaders.columns import HEADERS
from wbgraph.loaders.generate import generate
from wbgraph.loaders.validate import validate


def test_same_seed_same_file_other_seed_other_file(cli, tmp_path):
    paths = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        result = cli("generate", "--rows", "2000", "--seed", str(seed), "--output", str(tmp_path / f"{name}.csv"))
        assert result.exit_code == 0, result.output
        paths.append((tmp_path / f"{name}.csv").read_bytes())
    assert paths[0] == paths[1] and paths[0] != paths[2]


def test_columns_vocabularies_and_no_seed_bugs(tmp_path):
    cli_path = tmp_path / "g.csv"
    data = generate(5000, seed=1)
    rows = data.rows
    assert list(rows.columns) == list(HEADERS) and len(rows) == 5000
    assert rows["Transaction ID"].is_unique
    for key, owner_cols in (("Customer ID", HEADERS[1:6]), ("Product ID", HEADERS[7:11])):
        assert (rows.groupby(key)[list(owner_cols)].nunique() == 1).all().all(), key
    from wbgraph.loaders.generate import write

    write(data, cli_path)
    checked = validate(cli_path, strict=True)  # every value in the documented vocabularies, nothing conflicting
    assert (len(checked.rows), len(checked.rejects)) == (5000, 0)


def test_risk_fields_agree(tmp_path):
    rows = generate(5000, seed=2).rows.drop_duplicates("Customer ID")
    assert spearmanr(rows["Credit Score"], rows["Default Probability"]).statistic < -0.99
    order = rows.groupby("Risk Rating")["Default Probability"].agg(["min", "max"])
    assert (
        order.loc["Low", "max"] < order.loc["Medium", "min"] and order.loc["Medium", "max"] < order.loc["High", "min"]
    )


def test_planted_structure_is_detectable():
    rows = generate(20_000, seed=3).rows
    adoptions = rows.drop_duplicates(["Customer ID", "Product ID"])
    table = pd.crosstab(adoptions["Industry"], adoptions["Product Category"])
    assert chi2_contingency(table).pvalue < 1e-6  # what an industry adopts depends on the industry
    popularity = adoptions["Product ID"].value_counts()
    assert popularity.iloc[:6].sum() > 3 * popularity.iloc[-6:].sum()  # a long tail
    per_pair = rows.groupby(["Customer ID", "Product ID"]).agg(
        n=("Transaction ID", "size"), usage=("Product Usage", "mean")
    )
    assert spearmanr(per_pair["n"], per_pair["usage"]).statistic > 0.2  # usage rises with affinity, as activity does


def test_adoptions_happen_in_sequence_and_truth_ranks_every_product(cli, tmp_path):
    result = cli(
        "generate",
        "--rows",
        "3000",
        "--seed",
        "4",
        "--products",
        "30",
        "--output",
        str(tmp_path / "g.csv"),
        "--truth",
        str(tmp_path / "t.json"),
    )
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "g.csv", parse_dates=["Transaction Date"])
    truth = json.loads((tmp_path / "t.json").read_text())["customers"]
    assert set(truth) == set(rows["Customer ID"])
    some = next(iter(truth.values()))
    assert sorted(some["ranking"]) == sorted(f"PROD-{i:03d}" for i in range(1, 31))
    first_use = rows.groupby(["Customer ID", "Product ID"])["Transaction Date"].min()
    assert first_use.max() - first_use.min() > pd.Timedelta(days=240)  # adoptions spread over the year
    for customer, facts in list(truth.items())[:50]:
        dates = [first_use[(customer, p)] for p in facts["adopted"]]
        assert dates == sorted(dates)  # adopted one after another, in the order recorded
        counts = rows[rows["Customer ID"] == customer].sort_values("Transaction Date")["Product Adoption"]
        assert counts.is_monotonic_increasing and counts.iloc[-1] == len(facts["adopted"])


def test_history_ceiling_ranks_the_last_adoption_better_than_attributes_and_worse_than_the_hidden_truth():
    truth = generate(20_000, seed=5).truth

    def recall_at_10(key):
        found = [
            facts["adopted"][-1] in [p for p in facts[key] if p not in facts["adopted"][:-1]][:10]
            for facts in truth.values()
            if len(facts["adopted"]) >= 2
        ]
        return sum(found) / len(found)

    attributes, history, oracle = (
        recall_at_10("attributeRanking"),
        recall_at_10("historyRanking"),
        recall_at_10("ranking"),
    )
    assert attributes + 0.05 < history < oracle  # earlier adoptions reveal much of the hidden taste, not all of it
    some = next(iter(truth.values()))
    assert some["historyRanking"][-(len(some["adopted"]) - 1) :] == some["adopted"][:-1]  # earlier adoptions rank last


def test_truth_can_be_skipped_and_the_rows_stay_the_same():
    assert generate(2000, seed=6, truth=False).truth == {}
    assert generate(2000, seed=6, truth=False).rows.equals(generate(2000, seed=6).rows)


def test_the_file_is_written_a_slice_of_rows_at_a_time_with_the_same_bytes(tmp_path, monkeypatch):
    from wbgraph.loaders import generate as generator

    data = generate(3000, seed=4, truth=False)
    generator.write(data, tmp_path / "whole.csv")
    monkeypatch.setattr(generator, "WRITE_ROWS", 700)  # 5 slices, the last one short
    generator.write(data, tmp_path / "sliced.csv")
    assert (tmp_path / "sliced.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert len((tmp_path / "sliced.csv").read_text().splitlines()) == 3001
