// Add new transactions to the aggregated (:Customer)-[:USES]->(:Product) relationship.
// $pairs: [{customerId, productId, n, firstDate, lastDate, amount, value,
//           usageSum, usageCount, engagementSum, engagementCount}] summed over new rows only,
// so loading a second file adds to the totals and reloading a file adds nothing.
UNWIND $pairs AS pair
MATCH (c:Customer {customerId: pair.customerId})
MATCH (p:Product {productId: pair.productId})
MERGE (c)-[u:USES]->(p)
WITH u, pair,
     coalesce(u.transactionCount, 0) + pair.n AS n,
     coalesce(u.usageSum, 0.0) + pair.usageSum AS usageSum,
     coalesce(u.usageCount, 0) + pair.usageCount AS usageCount,
     coalesce(u.engagementSum, 0.0) + pair.engagementSum AS engagementSum,
     coalesce(u.engagementCount, 0) + pair.engagementCount AS engagementCount,
     datetime(pair.firstDate) AS first, datetime(pair.lastDate) AS last
SET u.transactionCount = n,
    u.totalAmount = coalesce(u.totalAmount, 0.0) + pair.amount,
    u.totalValue = coalesce(u.totalValue, 0.0) + pair.value,
    u.usageSum = usageSum, u.usageCount = usageCount,
    u.engagementSum = engagementSum, u.engagementCount = engagementCount,
    u.meanUsage = CASE WHEN usageCount > 0 THEN usageSum / usageCount END,
    u.meanEngagement = CASE WHEN engagementCount > 0 THEN engagementSum / engagementCount END,
    u.firstDate = CASE WHEN u.firstDate IS NULL OR first < u.firstDate THEN first ELSE u.firstDate END,
    u.lastDate = CASE WHEN u.lastDate IS NULL OR last > u.lastDate THEN last ELSE u.lastDate END
