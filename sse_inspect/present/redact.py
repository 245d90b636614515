"""Secrets out of what is shown and exported: keys, tokens, signatures, passwords, cookies.

Captures hold bearer tokens, API keys, signed URLs and session cookies; a transcript is made
to be handed to someone else. So every output goes through :func:`redact_stream` unless the
user says ``--no-redact``: it runs once, on the :class:`Stream`, before any writer, and every
writer (HAR, including the fields mitmproxy derives from the request: ``queryString``,
``postData.params``, ``cookies``, ``redirectURL``; JSON Lines; Markdown and the conversation
it reads from the request body; the JSON record and the terminal) sees only its result.
Secrets are found **by their names**, never by guessing at values.

The rule: which names are secret
--------------------------------

A name (of a header, a URL or form parameter, a JSON key) is cut into words at every
character that is not a letter or a digit (``-``, ``_``, ``.``, ...) and where camelCase
changes case, and the words are compared in lower case: ``X-Amz-Signature`` is *x amz
signature*, ``apiKey`` and ``APIKey`` are *api key*, ``maxOutputTokens`` is *max output
tokens*. The name is secret when a word

- is ``key`` or ends with it: ``api_key``, ``x-goog-api-key``, ``Ocp-Apim-Subscription-Key``,
  ``apikey``, ``AWSAccessKeyId`` (but ``keys``, ``keywords``, ``keep_alive`` are kept);
- is ``token`` or ends with it: ``token``, ``access_token``, ``idToken``,
  ``X-Amz-Security-Token``, ``csrftoken``. Not when another word of the name says it counts
  or describes tokens of text: ``max``, ``min``, ``num``, ``count``, ``limit``, ``budget``,
  ``ids``, ``type``, ``usage``, ``logprobs``, ``stop``, ``special`` (``max_token``,
  ``token_type``, ``stop_token_ids``). The plural ``tokens`` is never secret: ``max_tokens``,
  ``prompt_tokens``, ``budget_tokens``, ``anthropic-ratelimit-tokens-remaining`` are counts;
- contains ``secret``, ``password``, ``passwd``, ``passphrase``, ``credential``,
  ``signature`` or ``cookie``: ``client_secret``, ``X-Amz-Credential``, ``Set-Cookie``;
- is ``sig``, ``pwd``, ``jwt``, ``assertion``, ``verifier``, ``otp`` or ``totp``
  (``code_verifier``, ``client_assertion``);
- is ``auth``, ``authorization``, ``authorisation``, ``authentication``, ``authn`` or
  ``authz``, or ends with ``auth`` (``oauth_token``, ``cf-aig-authorization``); never
  ``author``, ``authority``, ``authored`` (HTTP/2's ``:authority``, ChatGPT's ``author``);
- is ``session``, ``sessionid``, ``sessid`` or ``sid``, or ends with ``sessid`` or
  ``sessionid`` (``PHPSESSID``, ``JSESSIONID``);

or when the whole name is ``code`` (OAuth's authorization code). In JSON bodies ``code`` and
the session words are not secret: there ``code`` is the code of a code-execution tool
(Gemini's ``executableCode``, a tool's input) and ``session`` a configuration object.

Headers besides: ``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``,
``x-api-key``, ``api-key``, ``x-goog-api-key`` always (the rule names them too), and OpenAI's
and Anthropic's organisation and project headers (a name beginning ``openai-`` or
``anthropic-`` with a word ``organization``, ``organisation``, ``org`` or ``project``);
never the CORS headers ``Access-Control-*``, which list header names, not their values.

What is replaced by ``REDACTED``
--------------------------------

- a secret header: its whole value;
- in a URL (the request's, and any URL in any other header's value: ``Location``, hence HAR's
  ``redirectURL``, ``Content-Location``, ``Referer``, ``Link``, ``Refresh``...): the value of
  each secret parameter of the query and of the fragment, parameters being separated by
  ``&`` or ``;`` (so a repeated parameter is redacted each time); and the user information
  (``https://user:REDACTED@host``, ``https://REDACTED@host``). The rest of the URL is kept as
  it was, byte for byte;
- in a JSON request body (any body that parses as JSON): under a secret key, at any depth,
  every string and number however deeply nested, so the body keeps its shape and its keys
  (``{"auth": {"token": "REDACTED", "type": "REDACTED"}}``); ``true``, ``false``, ``null``
  and empty strings stay. The parameters a tool declares are no secrets: in a JSON Schema's
  ``"properties"``, an entry whose value is an object (its schema) is not judged by its name
  (``"password": {"type": "string"}`` stays). A body with nothing to redact is kept byte
  for byte; one with something is written again (compact, or with ``", "`` and ``": "``
  when it had them). A body nested too deeply to be read is replaced whole;
- in an ``application/x-www-form-urlencoded`` body: the values of secret parameters, as in a
  query. Other bodies are kept as they are;
- the response body of an event stream is kept as received: it is the transcript. That of
  another exchange (HAR ``--all-flows``: a token endpoint's answer) is redacted like a JSON
  request body, its content coding undone.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from typing import Any
from urllib.parse import unquote_plus

from ..decode.body import decoded_bytes
from ..load.stream import Stream
from ..sse import is_event_stream

__all__ = [
    "REDACTED",
    "redact_body",
    "redact_headers",
    "redact_stream",
    "redact_url",
    "secret_header",
    "secret_name",
]

REDACTED = "REDACTED"

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
"""A word of a name: an acronym (``API`` of ``APIKey``), a capitalised or lower-case run."""

_TOKEN_OF_TEXT = frozenset(
    {"max", "min", "num", "count", "limit", "budget", "ids", "type", "usage", "logprobs"}
    | {"stop", "special"}
)
_EXACT = frozenset(
    {"sig", "pwd", "jwt", "assertion", "verifier", "otp", "totp"}
    | {"auth", "authorization", "authorisation", "authentication", "authn", "authz"}
)
_INSIDE = ("secret", "password", "passwd", "passphrase", "credential", "signature", "cookie")
_SESSION = frozenset({"session", "sessionid", "sessid", "sid"})

_ALWAYS_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
    }
)
_VENDORS = ("openai-", "anthropic-")
_VENDOR_SECRET = frozenset({"organization", "organisation", "org", "project"})


def words(name: str) -> list[str]:
    """``X-Amz-Signature`` -> ``["x", "amz", "signature"]``; ``APIKey`` -> ``["api", "key"]``."""
    return [w.lower() for w in _WORD.findall(name)]


@functools.lru_cache(maxsize=4096)  # names repeat from stream to stream
def secret_name(name: str, *, in_json: bool = False) -> bool:
    """Whether a header, parameter or (``in_json``) JSON key of this name holds a secret."""
    ws = words(name)
    if not in_json and ws == ["code"]:
        return True
    for w in ws:
        if w == "key" or w.endswith("key"):
            return True
        if (w == "token" or w.endswith("token")) and _TOKEN_OF_TEXT.isdisjoint(ws):
            return True
        if w in _EXACT or w.endswith("auth") or any(part in w for part in _INSIDE):
            return True
        if not in_json and (w in _SESSION or w.endswith(("sessid", "sessionid"))):
            return True
    return False


@functools.lru_cache(maxsize=4096)
def secret_header(name: str) -> bool:
    lower = name.lower()
    if lower in _ALWAYS_HEADERS:
        return True
    if lower.startswith("access-control-"):
        return False
    if lower.startswith(_VENDORS) and not _VENDOR_SECRET.isdisjoint(words(lower)):
        return True
    return secret_name(name)


def redact_headers(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Secret headers' values replaced; in the others, any URL's secret parameters."""
    return tuple((k, REDACTED if secret_header(k) else _redact_urls(v)) for k, v in headers)


def redact_url(url: str | None) -> str | None:
    """The URL with the values of its secret query and fragment parameters replaced, and its
    user information; otherwise as it was, byte for byte."""
    return url and _redact_urls(url)


_QUERY_OR_FRAGMENT = re.compile(r"""[?#][^\s<>"'#]*""")
_USERINFO = re.compile(r"""(?i)\b([a-z][a-z0-9+.-]*://)([^/?#@\s<>"']+)@""")
_SEPARATOR = re.compile(r"([&;])")


def _redact_urls(text: str) -> str:
    """Every URL in ``text`` (a URL, or a header value holding some) with its secrets out."""
    if "?" in text or "#" in text:
        text = _QUERY_OR_FRAGMENT.sub(lambda m: m[0][0] + _redact_pairs(m[0][1:]), text)
    if "@" in text:
        text = _USERINFO.sub(_userinfo, text)
    return text


def _userinfo(m: re.Match[str]) -> str:
    user, colon, _ = m[2].partition(":")
    return f"{m[1]}{user}:{REDACTED}@" if colon else f"{m[1]}{REDACTED}@"


def _redact_pairs(text: str) -> str:
    """``a=1&key=s;b=2`` -> ``a=1&key=REDACTED;b=2``: the secret parameters' values."""
    parts = _SEPARATOR.split(text)  # the separators stay, at the odd indexes
    for i in range(0, len(parts), 2):
        name, eq, value = parts[i].partition("=")
        if eq and value and value != REDACTED and secret_name(unquote_plus(name)):
            parts[i] = f"{name}={REDACTED}"
    return "".join(parts)


def redact_body(body: bytes, content_type: str | None) -> bytes:
    """A request body with its secrets out: JSON by key, a form by parameter (see above);
    the very same bytes when there is nothing to redact or it is neither."""
    if _looks_like_json(body):
        return _redact_json(body)
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime == "application/x-www-form-urlencoded":
        text = body.decode("utf-8", "surrogateescape")
        redacted = _redact_pairs(text)
        return body if redacted == text else redacted.encode("utf-8", "surrogateescape")
    return body


def _looks_like_json(body: bytes) -> bool:
    return body.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"[")


def _redact_json(body: bytes) -> bytes:
    try:
        doc = json.loads(body)
    except RecursionError:  # JSON, but too deep to look into: nothing of it is shown
        return REDACTED.encode()
    except ValueError:
        return body
    if not _redact_tree(doc):
        return body
    separators = (", ", ": ") if b'": ' in body else (",", ":")
    try:
        try:
            return json.dumps(doc, ensure_ascii=False, separators=separators).encode()
        except UnicodeEncodeError:  # a lone surrogate, from a \ud800 escape: keep it escaped
            return json.dumps(doc, separators=separators).encode()
    except RecursionError:
        return REDACTED.encode()


def _redact_tree(doc: Any) -> bool:
    """Replace, in place, every string and number under a secret key; whether any was.

    Iterative, so that a deep document cannot exhaust the stack.
    """
    changed = False
    # (node, whether it is under a secret key, whether it is a JSON Schema's "properties")
    stack: list[tuple[Any, bool, bool]] = [(doc, False, False)]
    while stack:
        node, under_secret, schema = stack.pop()
        if isinstance(node, dict):
            items: list[tuple[Any, Any]] = list(node.items())
        elif isinstance(node, list):
            items = list(enumerate(node))
        else:
            continue
        for k, v in items:
            named = isinstance(k, str) and not (schema and isinstance(v, dict))
            secret = under_secret or (named and secret_name(k, in_json=True))
            if isinstance(v, dict | list):
                stack.append((v, secret, k == "properties" and isinstance(v, dict)))
            elif secret and _hides_something(v):
                node[k] = REDACTED
                changed = True
    return changed


def _hides_something(value: Any) -> bool:
    if isinstance(value, str):
        return value not in ("", REDACTED)
    return isinstance(value, int | float) and not isinstance(value, bool)


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)


def redact_stream(stream: Stream) -> Stream:
    """The stream as every output may show it (see the module's rule); idempotent."""
    changes: dict[str, Any] = {
        "url": redact_url(stream.url),
        "request_headers": redact_headers(stream.request_headers),
        "response_headers": redact_headers(stream.response_headers),
        "request_body": redact_body(
            stream.request_body, _header(stream.request_headers, "content-type")
        ),
    }
    if stream.body and not is_event_stream(stream.response_header("content-type")):
        encoding = stream.response_header("content-encoding")
        decoded = decoded_bytes(stream.body, encoding)
        if _looks_like_json(decoded):
            redacted = _redact_json(decoded)
            if redacted is not decoded:
                changes["body"] = redacted
                changes["response_headers"] = tuple(
                    (k, str(len(redacted)) if k.lower() == "content-length" else v)
                    for k, v in changes["response_headers"]
                    if k.lower() != "content-encoding"
                )
    return dataclasses.replace(stream, **changes)
