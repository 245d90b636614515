"""Secrets out of what is exported: header values and URL parameters that carry keys.

Captures hold bearer tokens, API keys and session cookies; a transcript is made to be
handed to someone else. So every export goes through :func:`redact_stream` unless the user
says ``--no-redact``. Bodies are kept: prompts and answers are the point of a transcript.
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..load.stream import Stream

__all__ = ["REDACTED", "redact_headers", "redact_stream", "redact_url", "secret_header"]

REDACTED = "REDACTED"

_SECRET_HEADERS = {
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
}
# OpenAI's and Anthropic's organisation/project headers, and any of theirs naming a key.
_VENDOR_HEADER = re.compile(r"^(openai|anthropic)-.*(key|organi[sz]ation|project|token)", re.I)
_SECRET_PARAMS = {"key", "api_key", "apikey", "token", "access_token"}


def secret_header(name: str) -> bool:
    lower = name.lower()
    return lower in _SECRET_HEADERS or bool(_VENDOR_HEADER.match(lower))


def redact_headers(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((k, REDACTED if secret_header(k) else v) for k, v in headers)


def redact_url(url: str | None) -> str | None:
    """Replace the values of ``key=``, ``api_key=``, ``token=``, ... in the query string."""
    if not url or "?" not in url:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k.lower() in _SECRET_PARAMS for k, _ in query):
        return url
    cleaned = [(k, REDACTED if k.lower() in _SECRET_PARAMS else v) for k, v in query]
    return urlunsplit(parts._replace(query=urlencode(cleaned, safe=":/")))


def redact_stream(stream: Stream) -> Stream:
    return dataclasses.replace(
        stream,
        url=redact_url(stream.url),
        request_headers=redact_headers(stream.request_headers),
        response_headers=redact_headers(stream.response_headers),
    )
