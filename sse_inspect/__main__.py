"""``python -m sse_inspect``: the same as the ``sse-inspect`` command."""

from .cli import main

main()
