// Group facts after a hierarchy load: $members [{customerId, ultimateParentId, groupSize}],
// the top of each member's consolidation chain and how many entities hang under it (the top
// included); nulls remove them from an entity that no longer belongs to a group.
UNWIND $members AS m
MATCH (c:Customer {customerId: m.customerId})
SET c.ultimateParentId = m.ultimateParentId, c.groupSize = m.groupSize
