// What segments do our customers fall into? Every segment of the latest writeback with its
// size, cohesion (silhouette), dominant customer facts and top products.
// Parameters: none.
MATCH (g:Segment)
RETURN g.segmentId AS segment, g.name AS name, g.size AS customers, g.silhouette AS silhouette,
       g.dominantType AS type, g.dominantIndustry AS industry, g.dominantLocation AS location,
       g.avgCreditScore AS avgCreditScore, g.avgDefaultProbability AS avgDefaultProbability,
       g.highRiskShare AS highRiskShare, g.mostAdopted AS mostAdopted, g.mostRecommended AS mostRecommended
ORDER BY segment
