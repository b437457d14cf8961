// Constraints and indexes of the wbgraph graph model. Idempotent: safe to run again.
CREATE CONSTRAINT customer_id IF NOT EXISTS FOR (c:Customer) REQUIRE c.customerId IS UNIQUE;
CREATE CONSTRAINT product_id IF NOT EXISTS FOR (p:Product) REQUIRE p.productId IS UNIQUE;
CREATE CONSTRAINT transaction_key IF NOT EXISTS FOR (t:Transaction) REQUIRE t.transactionKey IS UNIQUE;
CREATE CONSTRAINT industry_name IF NOT EXISTS FOR (n:Industry) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT location_name IF NOT EXISTS FOR (n:Location) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT relationship_manager_name IF NOT EXISTS FOR (n:RelationshipManager) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT product_category_name IF NOT EXISTS FOR (n:ProductCategory) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT regulation_name IF NOT EXISTS FOR (n:Regulation) REQUIRE n.name IS UNIQUE;
CREATE INDEX transaction_id IF NOT EXISTS FOR (t:Transaction) ON (t.transactionId);
CREATE INDEX transaction_date IF NOT EXISTS FOR (t:Transaction) ON (t.date);
CREATE INDEX customer_group IF NOT EXISTS FOR (c:Customer) ON (c.ultimateParentId);
CREATE CONSTRAINT segment_key IF NOT EXISTS FOR (s:Segment) REQUIRE s.segmentKey IS UNIQUE;
CREATE CONSTRAINT wbgraph_lock IF NOT EXISTS FOR (l:WbgraphLock) REQUIRE l.name IS UNIQUE;
CREATE CONSTRAINT wbgraph_ingest IF NOT EXISTS FOR (i:WbgraphIngest) REQUIRE i.fingerprint IS UNIQUE;
CREATE CONSTRAINT run_id IF NOT EXISTS FOR (r:Run) REQUIRE r.runId IS UNIQUE;
CREATE CONSTRAINT offer_key IF NOT EXISTS FOR (o:Offer) REQUIRE o.offerKey IS UNIQUE;
