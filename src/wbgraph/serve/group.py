"""A customer's corporate group as analysts read it: the tree, each entity's products and
recommendations, and the customer's **white space** (products used somewhere in its group
but not by it). ``wbgraph recommend --group`` prints it; ``wbgraph visualize --group`` draws it.
"""

from __future__ import annotations

import neo4j

from ..config import Settings
from ..db import read
from ..errors import NotInGraph


def group_of(driver: neo4j.Driver, settings: Settings, customer_id: str, top_k: int = 5) -> dict:
    """The group of ``customer_id``: ``ultimateParentId`` (None: it belongs to none, and the
    group is the customer alone), ``members`` in tree order (the top first, each entity's
    subsidiaries after it, by ID) with ``depth``, ``parentId``, ``share``, ``client``,
    ``uses`` and its best ``top_k`` ``recommended``, and ``whiteSpace``: each product used
    elsewhere in the group but not by the customer, with the members using it (most used first)."""
    records = read(driver, settings, "serve/group_of_customer", customerId=customer_id)
    if not records:
        raise NotInGraph(f"No customer {customer_id!r} in the graph.")
    record = records[0]
    members = _tree_order(record["members"], record["ultimateParentId"] or customer_id)
    for m in members:
        m["uses"] = sorted(m["uses"])
        m["recommended"] = sorted(m["recommended"], key=lambda r: r["rank"])[:top_k]
    mine = next(set(m["uses"]) for m in members if m["customerId"] == customer_id)
    used_by: dict[str, list[str]] = {}
    for m in members:
        for product in m["uses"]:
            if m["customerId"] != customer_id and product not in mine:
                used_by.setdefault(product, []).append(m["customerId"])
    white = sorted(used_by.items(), key=lambda item: (-len(item[1]), item[0]))
    return {
        "customerId": customer_id,
        "ultimateParentId": record["ultimateParentId"],
        "members": members,
        "whiteSpace": [{"productId": p, "usedBy": sorted(ids)} for p, ids in white],
    }


def _tree_order(members: list[dict], top: str) -> list[dict]:
    """``members`` depth first from ``top``, children by ID, each with its ``depth``; a member
    whose chain does not reach ``top`` (not expected) comes last, at depth 0."""
    children: dict[str | None, list[dict]] = {}
    for m in members:
        children.setdefault(m["parentId"], []).append(dict(m))
    by_id = {m["customerId"]: m for group in children.values() for m in group}
    ordered, seen = [], set()

    def visit(member: dict, depth: int) -> None:
        if member["customerId"] in seen:
            return
        seen.add(member["customerId"])
        ordered.append(member | {"depth": depth})
        for child in sorted(children.get(member["customerId"], []), key=lambda m: m["customerId"]):
            visit(child, depth + 1)

    if top in by_id:
        visit(by_id[top], 0)
    for m in sorted(by_id.values(), key=lambda m: m["customerId"]):
        visit(m, 0)
    return ordered
