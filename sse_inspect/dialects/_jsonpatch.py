"""A JSON document changed by JSON-pointer operations: ChatGPT's ``delta`` encoding, v1.

ChatGPT's web app streams operations ``{"p": path, "o": op, "v": value}`` on a
conversation document. ``p`` is a JSON pointer (RFC 6901); the ops are RFC 6902's
``add``, ``replace`` and ``remove``, plus ``append`` (strings concatenate, lists extend,
objects merge) and ``truncate`` (a string or list cut to a length). An op that cannot be
applied changes nothing and says so, because a stream may send anything.

Strings grown by ``append`` are kept as :class:`GrowingStr` (a list of pieces joined only
when read), so an answer streamed in thousands of small appends costs linear time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OPS", "Document", "GrowingStr", "get", "join", "string", "touches"]

OPS = frozenset({"add", "replace", "append", "truncate", "remove"})

_MISSING = object()


class GrowingStr:
    """A string leaf that grows by appends: its pieces, joined only when read."""

    __slots__ = ("_pieces",)

    def __init__(self, first: str = "") -> None:
        self._pieces = [first] if first else []

    def add(self, piece: str) -> None:
        self._pieces.append(piece)

    def value(self) -> str:
        if len(self._pieces) != 1:
            self._pieces = ["".join(self._pieces)]
        return self._pieces[0]


class Document:
    """The document and the ops on it; :attr:`value` is the document itself."""

    __slots__ = ("value",)

    def __init__(self, value: Any = None) -> None:
        self.value = value

    def apply(self, path: str, op: str, value: Any) -> bool:
        """Apply one op; ``False`` when it cannot be (nothing changed then)."""
        if path == "":
            return self._apply_root(op, value)
        if not path.startswith("/"):
            return False
        *parents, last = _tokens(path)
        container = self.value
        for token in parents:
            container = _child(container, token)
            if container is None:
                return False
        if isinstance(container, dict):
            return _apply_key(container, last, op, value)
        if isinstance(container, list):
            return _apply_index(container, last, op, value)
        return False

    def _apply_root(self, op: str, value: Any) -> bool:
        if op in ("add", "replace"):
            self.value = value
        elif op == "remove":
            self.value = None
        elif op == "append" and isinstance(self.value, dict) and isinstance(value, dict):
            self.value.update(value)
        else:
            return False
        return True


def string(value: Any) -> str | None:
    """A string leaf as ``str`` (a grown one joined), anything else as ``None``."""
    if isinstance(value, str):
        return value
    if isinstance(value, GrowingStr):
        return value.value()
    return None


def get(value: Any, *keys: str | int) -> Any:
    """The value at ``keys`` (dict keys, list indexes), or ``None`` if there is none."""
    for key in keys:
        if isinstance(key, str) and isinstance(value, dict):
            value = value.get(key)
        elif isinstance(key, int) and isinstance(value, list) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return None
    return value


def join(base: str, child: str) -> str:
    """A ``patch`` item's path, relative to the outer op's."""
    if not child:
        return base
    return base + child if child.startswith("/") else f"{base}/{child}"


def touches(path: str, target: str) -> bool:
    """Whether an op at ``path`` can change the value at ``target`` (one contains the other)."""
    return (
        path == target
        or target.startswith(path + "/")
        or path == ""
        or path.startswith(target + "/")
    )


def _is_index(token: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also takes ``"²"``, which ``int()`` refuses."""
    return token.isascii() and token.isdigit()


def _tokens(path: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]


def _child(container: Any, token: str) -> Any:
    if isinstance(container, dict):
        return container.get(token)
    if isinstance(container, list) and _is_index(token) and int(token) < len(container):
        return container[int(token)]
    return None


def _apply_key(container: dict[str, Any], key: str, op: str, value: Any) -> bool:
    if op in ("add", "replace"):
        container[key] = value
    elif op == "remove":
        return container.pop(key, _MISSING) is not _MISSING
    elif op == "append":
        if key not in container or container[key] is None:
            container[key] = value
            return True
        grown = _appended(container[key], value)
        if grown is None:
            return False
        container[key] = grown
    elif op == "truncate":
        cut = _truncated(container.get(key), value)
        if cut is None:
            return False
        container[key] = cut
    else:
        return False
    return True


def _apply_index(container: list[Any], token: str, op: str, value: Any) -> bool:
    if token == "-" and op in ("add", "append"):
        container.append(value)
        return True
    if not _is_index(token):
        return False
    i = int(token)
    if op == "add" and i <= len(container):
        container.insert(i, value)
        return True
    if i >= len(container):
        return False
    if op == "replace":
        container[i] = value
    elif op == "remove":
        del container[i]
    elif op == "append":
        grown = _appended(container[i], value)
        if grown is None:
            return False
        container[i] = grown
    elif op == "truncate":
        cut = _truncated(container[i], value)
        if cut is None:
            return False
        container[i] = cut
    else:
        return False
    return True


def _appended(target: Any, value: Any) -> Any:
    """``target`` with ``value`` appended (strings grow in place), or ``None`` if it can't."""
    if isinstance(value, str) and isinstance(target, str | GrowingStr):
        grown = GrowingStr(target) if isinstance(target, str) else target
        grown.add(value)
        return grown
    if isinstance(target, list):
        if isinstance(value, list):
            target.extend(value)
        else:
            target.append(value)
        return target
    if isinstance(target, dict) and isinstance(value, dict):
        target.update(value)
        return target
    return None


def _truncated(target: Any, length: Any) -> Any:
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        return None
    if isinstance(target, GrowingStr):
        return target.value()[:length]
    if isinstance(target, str | list):
        return target[:length]
    return None
