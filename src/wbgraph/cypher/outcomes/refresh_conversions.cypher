// Which offers converted: (:Offer)-[:CONVERTED_TO]->(:Transaction) to the customer's first
// transaction with the product when it falls within $days days on or after the offer date
// (a customer that used the product before the offer did not convert: an accepted offer is
// not counted twice). Every offer is worked out again, so the relationship follows the
// transactions ingested since; one transaction per batch of offers.
MATCH (o:Offer)
CALL (o) {
  OPTIONAL MATCH (o)-[old:CONVERTED_TO]->()
  DELETE old
  WITH o
  MATCH (c:Customer)-[:RECEIVED]->(o)-[:FOR]->(p:Product)
  MATCH (c)-[:PERFORMED]->(t:Transaction)-[:OF_PRODUCT]->(p)
  WITH o, t ORDER BY t.date, t.transactionKey
  WITH o, head(collect(t)) AS first
  WHERE date(first.date) >= o.offeredAt AND date(first.date) <= o.offeredAt + duration({days: $days})
  MERGE (o)-[:CONVERTED_TO]->(first)
} IN TRANSACTIONS OF 5000 ROWS
