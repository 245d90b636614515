"""Transcripts of analysed streams: HAR 1.2 with SSE messages, JSONL and Markdown."""
