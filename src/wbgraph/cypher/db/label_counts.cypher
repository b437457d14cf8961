// What a training run saw in the graph, recorded in its run.json (answered from the count store).
CALL () { MATCH (c:Customer) RETURN count(c) AS customers }
CALL () { MATCH (p:Product) RETURN count(p) AS products }
CALL () { MATCH (t:Transaction) RETURN count(t) AS transactions }
CALL () { MATCH (:Customer)-[u:USES]->(:Product) RETURN count(u) AS uses }
RETURN customers, products, transactions, uses
