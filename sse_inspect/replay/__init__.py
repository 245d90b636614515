"""Replay: captured streams served again with their timing, as a server and a pytest fixture."""
