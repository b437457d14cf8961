// The entities a hierarchy file names: $entities [{customerId, name}] (name: null keeps the
// one stored). One not in the graph yet is not a client (a holding company, say): it is made
// with client = false, which its first transaction clears (loaders/upsert_customers).
UNWIND $entities AS e
MERGE (c:Customer {customerId: e.customerId})
  ON CREATE SET c.client = false
SET c.name = coalesce(e.name, c.name)
