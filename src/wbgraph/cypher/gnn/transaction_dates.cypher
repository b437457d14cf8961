// The earliest and the latest transaction date (epoch seconds; null in an empty graph), on
// or after $since (null = any): where the as-of protocol's periods begin and end. Each end
// is read from the index on :Transaction(date), not by scanning every transaction.
CALL {
  MATCH (t:Transaction) WHERE t.date >= datetime(coalesce($since, '0001-01-01'))
  RETURN t.date AS earliest ORDER BY t.date ASC LIMIT 1
}
CALL {
  MATCH (t:Transaction) WHERE t.date >= datetime(coalesce($since, '0001-01-01'))
  RETURN t.date AS latest ORDER BY t.date DESC LIMIT 1
}
RETURN earliest.epochSeconds AS earliest, latest.epochSeconds AS latest
