// An ingest of a file wrote everything, usage aggregates included.
MATCH (i:WbgraphIngest {fingerprint: $fingerprint})
SET i.finishedAt = datetime()
