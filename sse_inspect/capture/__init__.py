"""Capture: the mitmproxy addon that records event streams, its proxy runner, and Contract 2.

``addon.py`` is the addon, ``proxy.py`` runs mitmproxy with it (``sse-inspect capture``),
``contract.py`` is Contract 2, and ``ends.py`` tells whether a stream's end marker arrived.

The addon runs inside the proxy a browser depends on, so this package imports mitmproxy,
the SSE decoder and content decoding, and nothing of the analysis or presentation (an
import-linter contract in ``make test`` keeps it so). Readers of captures import
:mod:`.contract`, which the writer owns.
"""
