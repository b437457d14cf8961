"""The corporate groups of ``wbgraph generate --groups``: who owns whom, with planted effects.

The story (its own seeded stream, ``[seed, 2]``, so the rest of the generator draws what it
draws without groups; the defaults below were fixed before anything was measured on them):

1. **Structure.** About :data:`GROUPED_SHARE` (20%) of the clients belong to a group, the
   rest stand alone. Group sizes run from 2 to 40 entities with a heavy tail (P(size = k) ∝
   k^-:data:`SIZE_EXPONENT`). The top of half the groups is a holding company that is not a
   client (``HOLD-...``, with a name, no transactions); the others' top is a client. Each
   other member hangs under an earlier member (the top three times as likely as any other)
   with a majority share of 0.51 to 1; one member in seven also has a minority owner outside
   its group (a joint venture), with a share that leaves the majority intact.
2. **An entity adopts what its group holds.** Each group has a product effect, normal with
   standard deviation :data:`GROUP_STRENGTH` (the hidden taste's weight is 1.5), added to
   every member's affinity: members of one group like the same products. It is hidden (part
   of the truth file's taste, not of the attributes).
3. **Products spread from parent to children over time.** A member that adopts a product
   its consolidation parent adopts does so 7 to 60 days after the parent (within the year).
4. **Group-level risk.** A group's members share a credit-score shock (normal, standard
   deviation :data:`GROUP_RISK`), so their default probabilities and risk ratings move together.

The oracle (the truth file's ``ranking``, by affinity) includes the group effect; its
``historyRanking`` is the best any method can do from a customer's *own* history, so a
method that reads the group can beat it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

GROUPED_SHARE = 0.2  # of the clients, in a group
SIZE_EXPONENT = 2.2  # P(group size = k) ∝ k^-SIZE_EXPONENT, k = 2..40
SIZES = np.arange(2, 41)
HOLDING_SHARE = 0.5  # of the groups, topped by a holding company that is not a client
MINORITY_SHARE = 1 / 7  # of the members, with a minority owner outside the group
GROUP_STRENGTH = 1.5  # standard deviation of a group's product effect
GROUP_RISK = 30.0  # standard deviation of a group's credit-score shock
SPREAD_DAYS = (7, 60)  # a child adopts its parent's product this many days after it


@dataclass
class Groups:
    """The groups drawn: each client's group (-1: alone), the stakes, the hidden product effect."""

    group: np.ndarray  # [customers] group index, -1 alone
    parent: np.ndarray  # [customers] consolidation parent: a customer index, -1 none, -2 - h for holding h
    effect: np.ndarray  # [customers, products] the group's product effect (0 alone)
    score_shock: np.ndarray  # [customers]
    stakes: pd.DataFrame  # the hierarchy file's rows


def draw_groups(seed: int, ids: np.ndarray, n_products: int, year_start: pd.Timestamp) -> Groups:
    """The groups of ``len(ids)`` clients (the story's step 1, 2's effect and 4's shock)."""
    rng = np.random.default_rng([seed, 2])
    n_c = len(ids)
    order = rng.permutation(n_c)
    weights = SIZES.astype(float) ** -SIZE_EXPONENT
    group, parent = np.full(n_c, -1), np.full(n_c, -1)
    rows, used, g, holdings = [], 0, 0, 0
    while used < GROUPED_SHARE * n_c:
        size = int(rng.choice(SIZES, p=weights / weights.sum()))
        holding = rng.uniform() < HOLDING_SHARE
        clients = order[used : used + size - holding]
        if len(clients) < 1 + (not holding):
            break
        used += len(clients)
        members = ([-2 - holdings] if holding else []) + clients.tolist()
        holdings += holding
        group[clients] = g
        for i in range(1, len(members)):
            pick = rng.choice(i, p=np.r_[3.0, np.ones(i - 1)] / (i + 2))
            parent[members[i]] = members[pick]
            share = round(float(rng.uniform(0.51, 1.0)), 2)
            rows.append(_stake(ids, members[i], members[pick], share, rng, year_start))
            if share <= 0.9 and rng.uniform() < MINORITY_SHARE:
                outside = int(rng.integers(n_c))
                if group[outside] != g:
                    minority = round(float(rng.uniform(0.05, 1 - share)), 2)
                    rows.append(_stake(ids, members[i], outside, minority, rng, year_start))
        g += 1
    effect = np.zeros((n_c, n_products))
    shock = np.zeros(n_c)
    if g:
        by_group = rng.normal(0, GROUP_STRENGTH, (g, n_products))
        shocks = rng.normal(0, GROUP_RISK, g)
        grouped = group >= 0
        effect[grouped], shock[grouped] = by_group[group[grouped]], shocks[group[grouped]]
    columns = ["Customer ID", "Parent ID", "Share", "Since", "Parent Name"]
    return Groups(group, parent, effect, shock, pd.DataFrame(rows, columns=columns))


def _stake(
    ids: np.ndarray, child: int, owner: int, share: float, rng: np.random.Generator, year_start: pd.Timestamp
) -> tuple:
    """A hierarchy row: the child, its owner, the share, since when (up to ten years back), the owner's name."""
    since = (year_start - pd.Timedelta(days=int(rng.integers(30, 3650)))).date().isoformat()
    owner_id, owner_name = _name(ids, owner)
    return _name(ids, child)[0], owner_id, share, since, owner_name


def _name(ids: np.ndarray, entity: int) -> tuple[str, str]:
    """An entity's ID and name: a client's (no name), or holding company h's (``-2 - h``)."""
    if entity >= 0:
        return str(ids[entity]), ""
    h = -2 - entity
    return f"HOLD-{h + 1:04d}", f"Holding {h + 1} Group"


def spread(
    customer: np.ndarray,
    product: np.ndarray,
    offset: np.ndarray,
    parent: np.ndarray,
    days: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Step 3: a child's adoption of a product its (client) parent adopted moves 7 to 60 days
    after the parent's (parents first, so a chain moves down the tree; never past ``days``);
    returns the order that sorts the adoptions again by customer, then date, and the dates."""
    depth = np.zeros(len(parent), dtype=int)
    for c in range(len(parent)):
        up = parent[c]
        while up >= 0:
            depth[c] += 1
            up = parent[up]
    moved = offset.copy()
    when = {}
    for i in np.argsort(depth[customer], kind="stable"):
        c, p, up = int(customer[i]), int(product[i]), parent[customer[i]]
        if up >= 0 and (int(up), p) in when:
            moved[i] = min(max(moved[i], when[int(up), p] + rng.uniform(*SPREAD_DAYS)), days)
        when[c, p] = moved[i]
    order = np.lexsort((moved, customer))
    return order, moved[order]
