// Each entity's whole set of stakes from a hierarchy file, replacing those it had:
// $children [{customerId, parent: its consolidation parent, stakes: [{parent, share, since}]}]
// (since: an ISO date or null). The entities exist already (loaders/hierarchy_entities).
UNWIND $children AS child
MATCH (c:Customer {customerId: child.customerId})
CALL (c) {
  MATCH (c)-[old:OWNED_BY|SUBSIDIARY_OF]->()
  DELETE old
}
CALL (c, child) {
  UNWIND child.stakes AS stake
  MATCH (owner:Customer {customerId: stake.parent})
  CREATE (c)-[:OWNED_BY {share: stake.share, since: date(stake.since)}]->(owner)
}
MATCH (top:Customer {customerId: child.parent})
CREATE (c)-[:SUBSIDIARY_OF]->(top)
