# The two commands of the README. Each sets everything up first (scripts/setup-env).
.PHONY: demo test setup

WBGRAPH = .venv/bin/wbgraph
DEMO = demo-data

setup:
	@bash scripts/setup-env

# generate -> ingest -> train -> evaluate -> writeback -> show recommendations, on the local
# Neo4j (started if needed; NEO4J_URI points it elsewhere). Safe to run again.
demo: setup
	$(WBGRAPH) demo --folder $(DEMO)

test: setup
	@bash scripts/setup-browser
	.venv/bin/python -m pytest
