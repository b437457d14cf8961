# The two commands of the README. Each sets everything up first (scripts/setup-env).
.PHONY: demo test unit lint setup pictures

WBGRAPH = .venv/bin/wbgraph
DEMO = demo-data

setup:
	@bash scripts/setup-env

# generate -> ingest -> train -> evaluate -> writeback -> show recommendations, on the local
# Neo4j (started if needed; NEO4J_URI points it elsewhere). Safe to run again.
demo: setup
	$(WBGRAPH) demo --folder $(DEMO)

# Both test tiers (unit, then the real-server tier), after the linter.
test: setup lint
	@bash scripts/setup-browser
	.venv/bin/python -m pytest

# The fast tier alone: no server, no Java, under a minute.
unit: setup
	.venv/bin/python -m pytest -m unit

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

# Every picture in docs/ again, from the current code (the demo on a server of its own, then
# visualize, report and Neo4j Browser in headless Chromium): scripts/pictures.py.
pictures: setup
	@bash scripts/setup-browser
	.venv/bin/python scripts/pictures.py
