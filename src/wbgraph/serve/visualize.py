"""``wbgraph visualize``: an interactive HTML picture of a customer, a product or a segment.

The neighbourhood is read with a Cypher file per view (``visualize_*.cypher``) and drawn
with neo4j-viz, Neo4j's own visualisation library: one self-contained HTML file (no server,
no network), pan, zoom, drag, hover for properties. Recommendations are the orange products,
the best drawn biggest, their relationships captioned with rank, score and chance.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import neo4j

from ..config import Settings
from ..db import read
from ..errors import NotInGraph

COLOURS = {
    "focus": "#1f4e79",  # the customer or product the picture is about
    "customer": "#8fb8de",
    "held": "#2e8b57",  # products the customer uses
    "recommended": "#ff7f0e",  # recommendations: the highlight
    "product": "#2e8b57",
    "segment": "#7b4fa0",
    "regulation": "#8c8c8c",
    "white space": "#e6b800",  # used in the customer's group, not by it
    "not a client": "#c8c8c8",  # a holding company of a group
}


@dataclass
class Picture:
    """Nodes and relationships to draw: plain dicts, so they can be checked without a browser."""

    title: str
    nodes: dict = field(default_factory=dict)  # id -> {caption, colour, size, properties}
    relationships: list = field(default_factory=list)  # {source, target, caption, colour, width}

    def node(self, key: str, caption: str, colour: str, size: float = 20, properties: dict | None = None) -> str:
        if key not in self.nodes:
            self.nodes[key] = {"caption": caption, "colour": colour, "size": size, "properties": properties or {}}
        return key

    def link(self, source: str, target: str, caption: str, colour: str = "#b0b0b0", width: float = 1) -> None:
        self.relationships.append(
            {"source": source, "target": target, "caption": caption, "colour": colour, "width": width}
        )


def customer_picture(driver: neo4j.Driver, settings: Settings, customer_id: str, similar: int = 5) -> Picture:
    """The customer, its products, its recommendations (highlighted), its segment and similar customers."""
    row = _one(
        driver,
        settings,
        "serve/visualize_customer",
        f"No customer {customer_id!r} in the graph.",
        customerId=customer_id,
        similar=similar,
    )
    c = row["customer"]
    pic = Picture(f"Customer {c['customerId']}")
    me = pic.node(f"c:{c['customerId']}", c["customerId"], COLOURS["focus"], 35, c)
    for p in row["held"]:
        pic.link(
            me,
            pic.node(f"p:{p['productId']}", p["productId"], COLOURS["held"], 22, p),
            f"USES ×{p['transactionCount']}",
        )
    for r in sorted(row["recommended"], key=lambda r: r["rank"]):
        node = pic.node(
            f"p:{r['productId']}", f"{r['productId']} (#{r['rank']})", COLOURS["recommended"], _size(r["rank"]), r
        )
        pic.link(me, node, recommended_caption(r, "RECOMMENDED "), COLOURS["recommended"], 3)
    if row["segment"]:
        g = row["segment"]
        seg = pic.node(f"s:{g['segmentId']}", g.get("name") or f"Segment {g['segmentId']}", COLOURS["segment"], 30, g)
        pic.link(me, seg, "IN_SEGMENT", COLOURS["segment"])
        for peer in row["similar"]:
            other = pic.node(f"c:{peer['customerId']}", peer["customerId"], COLOURS["customer"], 16, peer)
            pic.link(other, seg, "IN_SEGMENT", COLOURS["segment"])
            for product in peer["shared"]:
                pic.link(other, f"p:{product}", "USES")
    return pic


def product_picture(driver: neo4j.Driver, settings: Settings, product_id: str, limit: int = 25) -> Picture:
    """The product, its regulations, its heaviest users and its strongest prospects (highlighted)."""
    row = _one(
        driver,
        settings,
        "serve/visualize_product",
        f"No product {product_id!r} in the graph.",
        productId=product_id,
        limit=limit,
    )
    p = row["product"]
    pic = Picture(f"Product {p['productId']}")
    me = pic.node(f"p:{p['productId']}", p["productId"], COLOURS["focus"], 35, p)
    for name in row["regulations"]:
        pic.link(me, pic.node(f"r:{name}", name, COLOURS["regulation"], 14), "SUBJECT_TO")
    for u in row["users"]:
        pic.link(
            pic.node(f"c:{u['customerId']}", u["customerId"], COLOURS["customer"], 16, u),
            me,
            f"USES ×{u['transactionCount']}",
        )
    for r in row["prospects"]:
        node = pic.node(f"c:{r['customerId']}", r["customerId"], COLOURS["recommended"], 18, r)
        pic.link(node, me, recommended_caption(r, "RECOMMENDED "), COLOURS["recommended"], 3)
    return pic


def segment_picture(driver: neo4j.Driver, settings: Settings, segment_id: int, limit: int = 30) -> Picture:
    """The segment, some of its members and their top-3 recommendations (highlighted)."""
    row = _one(
        driver,
        settings,
        "serve/visualize_segment",
        f"No segment {segment_id} in the graph: run `wbgraph writeback` first.",
        segmentId=segment_id,
        limit=limit,
    )
    g = row["segment"]
    pic = Picture(g.get("name") or f"Segment {segment_id}")
    me = pic.node(f"s:{g['segmentId']}", pic.title, COLOURS["focus"], 40, g)
    for c in row["members"]:
        pic.link(
            pic.node(f"c:{c['customerId']}", c["customerId"], COLOURS["customer"], 16, c),
            me,
            "IN_SEGMENT",
            COLOURS["segment"],
        )
    for r in row["recommendations"]:
        product = pic.node(
            f"p:{r['productId']}",
            r["productId"],
            COLOURS["recommended"],
            22,
            {"productId": r["productId"], "productType": r["productType"]},
        )
        pic.link(f"c:{r['customerId']}", product, recommended_caption(r), COLOURS["recommended"], 2)
    return pic


def group_picture(driver: neo4j.Driver, settings: Settings, customer_id: str) -> Picture:
    """The customer's corporate group: the ownership tree (share on each link), the products
    each entity uses, the customer's recommendations (orange) and its white space (gold: used
    in its group, not by it)."""
    from .group import group_of

    group = group_of(driver, settings, customer_id, top_k=10)
    top = group["ultimateParentId"]
    pic = Picture(f"Group of {top}" if top else f"Customer {customer_id} (no group)")
    white = {w["productId"]: w["usedBy"] for w in group["whiteSpace"]}
    for m in group["members"]:
        colour = COLOURS["focus" if m["customerId"] == customer_id else "customer" if m["client"] else "not a client"]
        me = pic.node(f"c:{m['customerId']}", m["name"] or m["customerId"], colour, 35 if m["depth"] == 0 else 22, m)
        if m["parentId"] is not None:
            share = f" {m['share']:.0%}" if m["share"] is not None else ""
            pic.link(me, f"c:{m['parentId']}", f"SUBSIDIARY_OF{share}", COLOURS["focus"], 3)
        for product in m["uses"]:
            colour = COLOURS["white space"] if product in white else COLOURS["product"]
            pic.link(me, pic.node(f"p:{product}", product, colour, 18, {"productId": product}), "USES")
    for r in next(m["recommended"] for m in group["members"] if m["customerId"] == customer_id):
        node = pic.node(f"p:{r['productId']}", r["productId"], COLOURS["recommended"], _size(r["rank"]), r)
        pic.link(f"c:{customer_id}", node, recommended_caption(r, "RECOMMENDED "), COLOURS["recommended"], 3)
    return pic


def render(picture: Picture, height: str = "800px") -> str:
    """The picture as one self-contained HTML page (neo4j-viz)."""
    from neo4j_viz import Node, Relationship, VisualizationGraph

    nodes = [
        Node(id=key, caption=n["caption"], color=n["colour"], size=n["size"], properties=_plain(n["properties"]))
        for key, n in picture.nodes.items()
    ]
    relationships = [
        Relationship(
            id=f"r{i}",
            source=r["source"],
            target=r["target"],
            caption=r["caption"],
            color=r["colour"],
            width=r["width"],
        )
        for i, r in enumerate(picture.relationships)
        if r["target"] in picture.nodes and r["source"] in picture.nodes
    ]
    page = VisualizationGraph(nodes=nodes, relationships=relationships).render(height=height, theme="light")
    return getattr(page, "data", str(page)).replace(
        "<title>neo4j-viz</title>", f"<title>wbgraph · {html.escape(picture.title)}</title>", 1
    )


def visualize(
    driver: neo4j.Driver,
    settings: Settings,
    output: str | Path,
    *,
    customer_id: str | None = None,
    product_id: str | None = None,
    segment_id: int | None = None,
    group_of: str | None = None,
) -> Picture:
    """Draw one customer, product, segment or customer's corporate group into ``output`` (HTML);
    return what was drawn."""
    if group_of is not None:
        picture = group_picture(driver, settings, group_of)
    elif customer_id is not None:
        picture = customer_picture(driver, settings, customer_id)
    elif product_id is not None:
        picture = product_picture(driver, settings, product_id)
    else:
        picture = segment_picture(driver, settings, segment_id)
    Path(output).write_text(render(picture), encoding="utf-8")
    return picture


def _one(driver: neo4j.Driver, settings: Settings, name: str, missing: str, **params) -> dict:
    records = read(driver, settings, name, **params)
    if not records:
        raise NotInGraph(missing)
    return dict(records[0])


def _size(rank: int) -> float:
    """Best recommendations drawn biggest."""
    return 18 + 3 * max(0, 11 - rank)


def _plain(properties: dict) -> dict:
    return {k: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v)) for k, v in properties.items()}


def recommended_caption(r: dict, prefix: str = "") -> str:
    """A RECOMMENDED link's caption: its rank and score, and its chance when the run has one."""
    chance = f" · {r['probability']:.0%}" if r.get("probability") is not None else ""
    return f"{prefix}#{r['rank']} {r['score']:.2f}{chance}"
