// The serving path's one-node read: a customer's facts and the snapshot of its current set
// (recommendationSnapshot, a JSON text the writeback wrote in the transaction that wrote the
// set's RECOMMENDED edges: {runId, createdAt, segment, segmentName, productIds, productTypes,
// categories, scores, probabilities}, one list per field, by rank; no probabilities in a
// snapshot written before calibration). One property is read whole, so no check is needed; the product and segment facts are as of that writeback. No row at all when the
// customer does not exist; a null snapshot for a customer without a set, or with one written
// by a wbgraph older than the snapshot (then serve/customer_recommendations reads the edges).
// Parameter: $customerId.
MATCH (c:Customer {customerId: $customerId})
RETURN c.customerId AS customerId, c.customerType AS customerType, c.industry AS industry,
       c.location AS location, c.recommendationSnapshot AS snapshot
