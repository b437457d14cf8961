"""CSV rows in: validation, quarantine of bad rows, batched MERGE into Neo4j (issue: data in)."""
