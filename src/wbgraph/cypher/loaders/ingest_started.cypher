// An ingest of a file begins writing: its marker says started and not finished (until
// loaders/ingest_finished), so an interrupted ingest shows in `db status`, `train` and the
// next ingest. One marker per file content ($fingerprint); a rerun restarts it.
// $rejectsFile: where its rejected rows went (null: none), for `wbgraph forget`.
MERGE (i:WbgraphIngest {fingerprint: $fingerprint})
SET i.file = $file, i.rows = $rows, i.rejectsFile = $rejectsFile, i.startedAt = datetime(), i.finishedAt = null
