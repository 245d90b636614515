"""The demo and its fixtures: a simulated chat, its scripts, and ``capture`` as a child process.

Used by ``sse-inspect demo``, the end-to-end tests, the benchmarks and ``samples/``; never by
the stages of the package (an import-linter contract keeps it so).
"""
