"""`wbgraph generate --groups`: corporate groups of the documented shape, with their planted effects."""

import itertools

import numpy as np
import pytest

from wbgraph.loaders import groups as drawn
from wbgraph.loaders.generate import generate, story, write
from wbgraph.loaders.hierarchy import check_hierarchy, find_cycle, groups_of


@pytest.fixture(scope="module")
def grouped():
    return story(20_000, seed=1, groups=True)


def test_the_groups_have_the_documented_shape_and_their_file_loads_without_a_reject(grouped, tmp_path):
    generated = generate(20_000, seed=1, truth=False, groups=True)
    write(generated, tmp_path / "rows.csv", hierarchy=tmp_path / "groups.csv")
    checked = check_hierarchy(tmp_path / "groups.csv")
    assert checked.summary.rejected == 0 and checked.summary.read == len(generated.hierarchy) > 0
    assert find_cycle(checked.consolidation) is None
    members = groups_of(checked.consolidation)
    clients = set(generated.rows["Customer ID"])
    grouped_clients = {m for m in members if m in clients}
    assert 0.17 <= len(grouped_clients) / len(clients) <= 0.23  # about a fifth
    sizes = [size for member, (top, size) in members.items() if member == top]
    assert min(sizes) >= 2 and max(sizes) <= 40 and np.median(sizes) < np.mean(sizes)  # a heavy tail
    holdings = {m for m in members if m.startswith("HOLD-")}
    assert holdings and not holdings & clients  # holding companies are not clients
    assert set(checked.rows.loc[checked.rows["parent"].isin(holdings), "name"]) == {
        f"Holding {h[5:].lstrip('0')} Group" for h in holdings
    }
    consolidating = checked.rows[checked.rows.apply(lambda r: checked.consolidation[r["child"]] == r["parent"], axis=1)]
    assert (consolidating["share"] > 0.5).all()  # every consolidation parent is a majority owner
    assert len(checked.rows) > len(consolidating)  # and some entities have a minority owner too


def test_without_groups_the_rows_are_those_of_before():
    plain, with_groups = story(6_000, seed=4), story(6_000, seed=4, groups=True)
    alone = with_groups.groups.group < 0
    assert alone.any() and not alone.all()
    for attribute in ("score", "risk", "size", "industry"):  # the groups draw from a stream of their own
        assert np.array_equal(
            getattr(plain.customers, attribute)[alone], getattr(with_groups.customers, attribute)[alone]
        )
    shocked = plain.customers.score[~alone] != with_groups.customers.score[~alone]
    assert shocked.mean() > 0.9  # a group member's credit score moves with its group's
    assert with_groups.groups is not None and plain.groups is None


def test_members_of_a_group_adopt_the_same_products_follow_their_parent_and_share_their_risk(grouped):
    a, g = grouped.adoptions, grouped.groups
    held = {c: set(a.product[a.customer == c]) for c in np.unique(a.customer)}

    def overlap(pairs):
        return np.mean([len(held[x] & held[y]) / len(held[x] | held[y]) for x, y in pairs if x in held and y in held])

    same = [pair for k in range(g.group.max() + 1) for pair in itertools.combinations(np.flatnonzero(g.group == k), 2)]
    rng = np.random.default_rng(0)
    strangers = [tuple(rng.choice(len(g.group), 2, replace=False)) for _ in range(len(same))]
    assert overlap(same) > 1.5 * overlap(strangers)

    when = {(c, p): d for c, p, d in zip(a.customer, a.product, a.offset)}
    followed = [when[c, p] - when[g.parent[c], p] for c, p in zip(a.customer, a.product) if (g.parent[c], p) in when]
    assert followed and min(followed) >= 0  # a child adopts its parent's product after the parent
    assert np.mean(followed) >= drawn.SPREAD_DAYS[0]

    score = grouped.customers.score
    within = np.mean([score[g.group == k].std() for k in range(g.group.max() + 1) if (g.group == k).sum() >= 4])
    assert within < score.std()
