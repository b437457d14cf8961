# The two commands of the README. Each sets everything up first (scripts/setup-env).
.PHONY: demo test setup

setup:
	@bash scripts/setup-env

demo: setup
	.venv/bin/wbgraph db start
	.venv/bin/wbgraph db status

test: setup
	.venv/bin/python -m pytest
