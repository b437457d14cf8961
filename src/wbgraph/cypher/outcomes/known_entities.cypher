// Which of the given customers and products the graph holds, for checking an outcomes file:
// $customerIds, $productIds. Entities that are not clients (client = false) are listed apart:
// nobody makes them an offer.
RETURN COLLECT { MATCH (c:Customer) WHERE c.customerId IN $customerIds AND coalesce(c.client, true)
                 RETURN c.customerId } AS customers,
       COLLECT { MATCH (c:Customer {client: false}) WHERE c.customerId IN $customerIds
                 RETURN c.customerId } AS notClients,
       COLLECT { MATCH (p:Product) WHERE p.productId IN $productIds RETURN p.productId } AS products
