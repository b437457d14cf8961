// Erasure: delete customers, their transactions, the offers they received and every
// relationship any of them has (USES, RECOMMENDED, IN_SEGMENT, the context links).
// $customerIds. One row per customer found, with its name (a hierarchy file's), which other
// customers' group reasons may cite.
UNWIND $customerIds AS id
MATCH (c:Customer {customerId: id})
CALL (c) {
  OPTIONAL MATCH (c)-[:PERFORMED]->(t:Transaction)
  DETACH DELETE t
  RETURN count(t) AS transactions
}
CALL (c) {
  OPTIONAL MATCH (c)-[:RECEIVED]->(o:Offer)
  DETACH DELETE o
  RETURN count(o) AS offers
}
WITH c, id, transactions, offers, c.name AS name
DETACH DELETE c
RETURN id AS customerId, transactions, offers, name
