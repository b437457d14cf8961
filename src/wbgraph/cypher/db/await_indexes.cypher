// Wait until every index is online (after the bulk importer, the constraints' indexes are built from the data).
CALL db.awaitIndexes(600)
