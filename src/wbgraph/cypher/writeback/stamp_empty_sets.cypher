// Before the sets are written: every customer without a set (and without a recorded one) is
// stamped as holding an empty set (recommendationCount 0), in a transaction of its own. So a
// reader that meets a customer's first set half-written sees edges its customer says it does
// not have, and reads again (serve/customer_recommendations.cypher), as for any later set.
MATCH (c:Customer)
WHERE c.recommendationCount IS NULL AND NOT EXISTS { (c)-[:RECOMMENDED]->() }
SET c.recommendationCount = 0
