// The headline question as a picture: the customer, the products it uses, its current
// recommendations (RECOMMENDED, captioned by rank with the shipped Browser style) and its
// segment. Returns paths, so Neo4j Browser and Bloom draw the graph view.
// Parameters: $customerId (e.g. 'CUS-0001').
// In Neo4j Browser: :param customerId => 'CUS-0001'
MATCH (c:Customer {customerId: $customerId})
OPTIONAL MATCH recommended = (c)-[:RECOMMENDED]->(:Product)
OPTIONAL MATCH uses = (c)-[:USES]->(:Product)
OPTIONAL MATCH member = (c)-[:IN_SEGMENT]->(:Segment)
RETURN c, collect(DISTINCT recommended) AS recommended, collect(DISTINCT uses) AS uses,
       collect(DISTINCT member) AS segment
