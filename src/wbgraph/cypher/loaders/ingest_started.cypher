// An ingest of a file begins writing: its marker says started and not finished (until
// loaders/ingest_finished), so an interrupted ingest shows in `db status`, `train` and the
// next ingest. One marker per file content ($fingerprint); a rerun restarts it.
// $rejectsFile: where its rejected rows went (null: none), for `wbgraph forget`;
// $modelFeatures: the mapping's extra properties marked model = true ("Customer.sector:category"),
// which the graph-learning export reads (gnn/model_features).
MERGE (i:WbgraphIngest {fingerprint: $fingerprint})
SET i.file = $file, i.rows = $rows, i.rejectsFile = $rejectsFile, i.modelFeatures = $modelFeatures,
    i.startedAt = datetime(), i.finishedAt = null
