// The facts shown beside recommendations scored at request time (a newcomer's). $productIds.
UNWIND $productIds AS productId
MATCH (p:Product {productId: productId})
RETURN p.productId AS productId, p.productType AS productType, p.category AS category
