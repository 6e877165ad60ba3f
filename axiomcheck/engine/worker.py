"""`python -m axiomcheck.engine.worker READ_FD WRITE_FD`: the fresh process of `isolate=True`."""

from __future__ import annotations

import sys

from ..calling.isolation import serve_fresh

if __name__ == "__main__":
    serve_fresh(int(sys.argv[1]), int(sys.argv[2]))
