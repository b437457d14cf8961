// Create or update the Segment nodes of a writeback run, before any customer joins them.
// $segments: [{segmentKey, segmentId, runId, size, silhouette, name, dominantType, ...}]
UNWIND $segments AS s
MERGE (g:Segment {segmentKey: s.segmentKey})
SET g += s
