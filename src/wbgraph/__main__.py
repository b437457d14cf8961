"""``python -m wbgraph``: the ``wbgraph`` command."""

from .cli import main

if __name__ == "__main__":
    main()
