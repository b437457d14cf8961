// Create new transactions with their customer and product links.
// $rows: [{transactionKey, customerId, productId, date, props: {...}}]; customers and
// products exist already (upsert_customers, upsert_products).
UNWIND $rows AS row
MATCH (c:Customer {customerId: row.customerId})
MATCH (p:Product {productId: row.productId})
CREATE (t:Transaction {transactionKey: row.transactionKey})
SET t += row.props, t.date = datetime(row.date)
CREATE (c)-[:PERFORMED]->(t)-[:OF_PRODUCT]->(p)
