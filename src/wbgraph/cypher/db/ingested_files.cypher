// The files ingested into this database and where their rejected rows went (markers of
// loaders/ingest_started), for `wbgraph forget`.
MATCH (i:WbgraphIngest)
RETURN i.file AS file, i.rejectsFile AS rejectsFile
ORDER BY file
