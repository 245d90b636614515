"""Decoding a response body: content-coding undone per chunk, then SSE events with times.

Below the loaders and the capture addon, above only the SSE decoder: it takes bytes with
their arrival times and knows neither HTTP flows nor capture files.
"""
