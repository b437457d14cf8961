# The two commands of the README. Each sets everything up first (scripts/setup-env).
.PHONY: demo test setup

WBGRAPH = .venv/bin/wbgraph
DEMO = demo-data

setup:
	@bash scripts/setup-env

# generate -> ingest -> train -> evaluate -> writeback -> show recommendations, on the local Neo4j.
# The demo replaces whatever the local graph holds, so a rerun gives the same graph.
demo: setup
	$(WBGRAPH) db start
	$(WBGRAPH) db reset --yes
	mkdir -p $(DEMO)
	$(WBGRAPH) generate --rows 50000 --seed 1 --output $(DEMO)/transactions.csv --truth $(DEMO)/truth.json
	$(WBGRAPH) ingest $(DEMO)/transactions.csv
	$(WBGRAPH) train --runs-dir $(DEMO)/runs
	$(WBGRAPH) evaluate --runs-dir $(DEMO)/runs --truth $(DEMO)/truth.json
	$(WBGRAPH) writeback --runs-dir $(DEMO)/runs
	$(WBGRAPH) recommend CUS-0001 --explain
	$(WBGRAPH) recommend CUS-0002
	$(WBGRAPH) recommend CUS-0003
	$(WBGRAPH) db status

test: setup
	.venv/bin/python -m pytest
