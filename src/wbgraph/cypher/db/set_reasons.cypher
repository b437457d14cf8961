// Replace customers' stored reasons (wbgraph forget, without those that cite an erased group
// member). $rows: [{customerId, reasons, ranks, kinds, cites, shares, counts}].
UNWIND $rows AS row
MATCH (c:Customer {customerId: row.customerId})
SET c.recommendationReasons = row.reasons, c.recommendationReasonRanks = row.ranks,
    c.recommendationReasonKinds = row.kinds, c.recommendationReasonCites = row.cites,
    c.recommendationReasonShares = row.shares, c.recommendationReasonCounts = row.counts
