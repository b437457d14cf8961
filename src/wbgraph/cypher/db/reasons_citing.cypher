// The customers whose stored reasons cite one of $customerIds as their corporate group (a
// group reason cites the parent it names, else the group's ultimate parent): wbgraph forget
// drops those reasons. Their reasons as stored: the sentences by rank and the parallel lists.
MATCH (c:Customer)
WHERE any(i IN range(0, size(coalesce(c.recommendationReasonKinds, [])) - 1)
          WHERE c.recommendationReasonKinds[i] = 'group' AND c.recommendationReasonCites[i] IN $customerIds)
RETURN c.customerId AS customerId, c.recommendationReasons AS reasons, c.recommendationReasonRanks AS ranks,
       c.recommendationReasonKinds AS kinds, c.recommendationReasonCites AS cites,
       c.recommendationReasonShares AS shares, c.recommendationReasonCounts AS counts
