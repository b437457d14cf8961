// After a writeback has moved every customer: remove every Segment node it did not write
// (other runs', or this run's with another K). Parameter: $segmentKeys, the keys just written.
MATCH (g:Segment)
WHERE NOT g.segmentKey IN $segmentKeys
DETACH DELETE g
