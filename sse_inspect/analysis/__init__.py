"""Analysis: one loaded stream through decoding and its dialect to the answer and cadence."""
