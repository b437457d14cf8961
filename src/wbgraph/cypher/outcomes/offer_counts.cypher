// How many offers the graph holds, by outcome, and how many converted (wbgraph outcomes ingest's summary).
MATCH (o:Offer)
RETURN count(o) AS offers, count(CASE WHEN o.outcome = 'accepted' THEN 1 END) AS accepted,
       count(CASE WHEN o.outcome = 'declined' THEN 1 END) AS declined,
       count(CASE WHEN o.outcome = 'no-response' THEN 1 END) AS noResponse,
       count { (:Offer)-[:CONVERTED_TO]->() } AS converted
