"""_jsonpatch: the JSON-pointer ops of ChatGPT's delta-v1 encoding on a Document.

Covered: add / replace / remove at the root, in dicts and in lists; append (strings grow as
GrowingStr, lists extend, dicts merge, missing or null keys take the value); truncate; the
JSON-pointer escapes; refused ops leaving the document unchanged; the helpers ``get``,
``join``, ``string`` and ``touches``; and a property test that ``apply`` never raises.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sse_inspect.dialects._jsonpatch import (
    OPS,
    Document,
    GrowingStr,
    get,
    join,
    string,
    touches,
)


def _refused(doc: Document, path: str, op: str, value: Any) -> bool:
    """Whether ``op`` is refused (``False``) and leaves the document as it was."""
    before = copy.deepcopy(_plain(doc.value))
    refused = doc.apply(path, op, value) is False
    return refused and _plain(doc.value) == before


def _plain(value: Any) -> Any:
    """``value`` with every GrowingStr joined, so documents compare with ``==``."""
    if isinstance(value, GrowingStr):
        return value.value()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- OPS and GrowingStr ---------------------------------------------------------------------


def test_ops_are_the_five_ops() -> None:
    assert frozenset({"add", "replace", "remove", "append", "truncate"}) == OPS


def test_growing_str_joins_its_pieces() -> None:
    grown = GrowingStr("ab")
    grown.add("c")
    grown.add("")
    grown.add("de")
    assert grown.value() == "abcde"
    grown.add("f")
    assert grown.value() == "abcdef"


def test_an_empty_growing_str_is_the_empty_string() -> None:
    assert GrowingStr().value() == ""
    grown = GrowingStr("")
    grown.add("x")
    assert grown.value() == "x"


# --- the root -------------------------------------------------------------------------------


def test_a_new_document_is_none() -> None:
    assert Document().value is None


@pytest.mark.parametrize("op", ["add", "replace"])
def test_add_or_replace_at_the_root_replaces_the_document(op: str) -> None:
    doc = Document({"a": 1})
    assert doc.apply("", op, [1, 2]) is True
    assert doc.value == [1, 2]


def test_remove_at_the_root_empties_the_document() -> None:
    doc = Document({"a": 1})
    assert doc.apply("", "remove", None) is True
    assert doc.value is None


def test_append_at_the_root_merges_dicts() -> None:
    doc = Document({"a": 1, "b": 2})
    assert doc.apply("", "append", {"b": 3, "c": 4}) is True
    assert doc.value == {"a": 1, "b": 3, "c": 4}


@pytest.mark.parametrize(
    ("start", "op", "value"),
    [
        ({"a": 1}, "append", [1]),
        ([1], "append", {"a": 1}),
        (None, "append", {"a": 1}),
        ("text", "truncate", 2),
        ({"a": 1}, "nonsense", 1),
    ],
)
def test_other_ops_at_the_root_are_refused(start: Any, op: str, value: Any) -> None:
    assert _refused(Document(start), "", op, value)


# --- dicts ----------------------------------------------------------------------------------


def test_add_sets_a_new_key() -> None:
    doc = Document({"a": 1})
    assert doc.apply("/b", "add", 2) is True
    assert doc.value == {"a": 1, "b": 2}


def test_add_overwrites_an_existing_key() -> None:
    doc = Document({"a": 1})
    assert doc.apply("/a", "add", {"x": None}) is True
    assert doc.value == {"a": {"x": None}}


def test_replace_sets_a_key() -> None:
    doc = Document({"a": 1})
    assert doc.apply("/a", "replace", "one") is True
    assert doc.value == {"a": "one"}


def test_add_in_a_nested_dict() -> None:
    doc = Document({"message": {"content": {}}})
    assert doc.apply("/message/content/parts", "add", ["hi"]) is True
    assert doc.value == {"message": {"content": {"parts": ["hi"]}}}


def test_remove_deletes_a_key() -> None:
    doc = Document({"a": 1, "b": None})
    assert doc.apply("/b", "remove", None) is True
    assert doc.value == {"a": 1}


def test_remove_of_a_missing_key_is_refused() -> None:
    assert _refused(Document({"a": 1}), "/b", "remove", None)


def test_an_unknown_op_on_a_key_is_refused() -> None:
    assert _refused(Document({"a": 1}), "/a", "move", 2)


# --- lists ----------------------------------------------------------------------------------


def test_add_at_an_index_inserts_before_it() -> None:
    doc = Document({"l": [1, 2, 3]})
    assert doc.apply("/l/1", "add", "x") is True
    assert doc.value == {"l": [1, "x", 2, 3]}


def test_add_at_the_length_of_a_list_appends() -> None:
    doc = Document([1, 2])
    assert doc.apply("/2", "add", 3) is True
    assert doc.value == [1, 2, 3]


def test_add_at_dash_appends() -> None:
    doc = Document({"l": [1]})
    assert doc.apply("/l/-", "add", [2]) is True
    assert doc.value == {"l": [1, [2]]}


def test_append_at_dash_appends_the_value_as_one_element() -> None:
    doc = Document({"l": ["a"]})
    assert doc.apply("/l/-", "append", "b") is True
    assert doc.value == {"l": ["a", "b"]}


@pytest.mark.parametrize("op", ["replace", "remove", "truncate"])
def test_other_ops_at_dash_are_refused(op: str) -> None:
    assert _refused(Document({"l": ["abc"]}), "/l/-", op, 1)


def test_add_past_the_end_of_a_list_is_refused() -> None:
    assert _refused(Document({"l": [1, 2]}), "/l/3", "add", 9)


def test_replace_sets_an_element() -> None:
    doc = Document([1, 2, 3])
    assert doc.apply("/1", "replace", "two") is True
    assert doc.value == [1, "two", 3]


def test_remove_deletes_an_element() -> None:
    doc = Document([1, 2, 3])
    assert doc.apply("/0", "remove", None) is True
    assert doc.value == [2, 3]


@pytest.mark.parametrize("op", ["replace", "remove", "append", "truncate"])
def test_an_index_out_of_range_is_refused(op: str) -> None:
    assert _refused(Document({"l": ["a", "b"]}), "/l/2", op, "x")


@pytest.mark.parametrize("token", ["-1", "x", "1.0", "", " 1"])
def test_a_token_that_is_not_an_index_is_refused(token: str) -> None:
    assert _refused(Document(["a", "b"]), f"/{token}", "replace", "x")


def test_an_unknown_op_on_an_element_is_refused() -> None:
    assert _refused(Document([1]), "/0", "copy", 2)


# --- append ---------------------------------------------------------------------------------


def test_append_to_a_string_grows_it_as_a_growing_str() -> None:
    doc = Document({"s": "Hel"})
    assert doc.apply("/s", "append", "lo") is True
    assert isinstance(doc.value["s"], GrowingStr)
    assert string(doc.value["s"]) == "Hello"


def test_append_to_a_growing_str_keeps_the_same_object() -> None:
    doc = Document({"s": "a"})
    doc.apply("/s", "append", "b")
    grown = doc.value["s"]
    assert doc.apply("/s", "append", "c") is True
    assert doc.value["s"] is grown
    assert string(grown) == "abc"


def test_append_to_a_string_in_a_list_grows_it() -> None:
    doc = Document({"parts": ["Hi"]})
    assert doc.apply("/parts/0", "append", " there") is True
    assert isinstance(doc.value["parts"][0], GrowingStr)
    assert string(doc.value["parts"][0]) == "Hi there"


def test_append_of_a_list_to_a_list_extends_it() -> None:
    doc = Document({"l": [1]})
    assert doc.apply("/l", "append", [2, 3]) is True
    assert doc.value == {"l": [1, 2, 3]}


def test_append_of_a_non_list_to_a_list_adds_one_element() -> None:
    doc = Document({"l": [1]})
    assert doc.apply("/l", "append", "two") is True
    assert doc.apply("/l", "append", {"k": 3}) is True
    assert doc.value == {"l": [1, "two", {"k": 3}]}


def test_append_to_a_list_in_a_list_extends_it() -> None:
    doc = Document([[1]])
    assert doc.apply("/0", "append", [2]) is True
    assert doc.value == [[1, 2]]


def test_append_of_a_dict_to_a_dict_merges_them() -> None:
    doc = Document({"meta": {"a": 1, "b": 2}})
    assert doc.apply("/meta", "append", {"b": 20, "c": 3}) is True
    assert doc.value == {"meta": {"a": 1, "b": 20, "c": 3}}


def test_append_to_a_missing_key_creates_it() -> None:
    doc = Document({})
    assert doc.apply("/s", "append", "first") is True
    assert doc.value == {"s": "first"}


def test_append_to_a_null_key_takes_the_value() -> None:
    doc = Document({"l": None})
    assert doc.apply("/l", "append", [1]) is True
    assert doc.value == {"l": [1]}


@pytest.mark.parametrize(
    ("target", "value"),
    [
        ("text", 1),
        ("text", ["x"]),
        ("text", {"a": 1}),
        ({"a": 1}, "text"),
        ({"a": 1}, [1]),
        (1, 2),
        (1.5, "x"),
        (True, "x"),
    ],
)
def test_append_of_an_incompatible_value_is_refused(target: Any, value: Any) -> None:
    assert _refused(Document({"k": target}), "/k", "append", value)
    assert _refused(Document([target]), "/0", "append", value)


def test_append_of_a_number_to_a_growing_str_is_refused() -> None:
    doc = Document({"s": "a"})
    doc.apply("/s", "append", "b")
    assert _refused(doc, "/s", "append", 3)
    assert string(doc.value["s"]) == "ab"


def test_ten_thousand_appends_give_a_string_of_ten_thousand() -> None:
    doc = Document({"message": {"content": {"parts": [""]}}})
    for _ in range(10_000):
        assert doc.apply("/message/content/parts/0", "append", "x") is True
    text = string(get(doc.value, "message", "content", "parts", 0))
    assert text == "x" * 10_000


# --- truncate -------------------------------------------------------------------------------


def test_truncate_cuts_a_string() -> None:
    doc = Document({"s": "Hello"})
    assert doc.apply("/s", "truncate", 2) is True
    assert doc.value == {"s": "He"}


def test_truncate_cuts_a_growing_str() -> None:
    doc = Document({"s": "Hel"})
    doc.apply("/s", "append", "lo")
    assert doc.apply("/s", "truncate", 4) is True
    assert string(doc.value["s"]) == "Hell"
    assert doc.apply("/s", "append", "!") is True
    assert string(doc.value["s"]) == "Hell!"


def test_truncate_cuts_a_list() -> None:
    doc = Document({"l": [1, 2, 3]})
    assert doc.apply("/l", "truncate", 1) is True
    assert doc.value == {"l": [1]}


def test_truncate_cuts_a_string_in_a_list() -> None:
    doc = Document(["abc"])
    assert doc.apply("/0", "truncate", 0) is True
    assert doc.value == [""]


def test_truncate_to_more_than_the_length_keeps_everything() -> None:
    doc = Document({"s": "ab", "l": [1]})
    assert doc.apply("/s", "truncate", 10) is True
    assert doc.apply("/l", "truncate", 10) is True
    assert doc.value == {"s": "ab", "l": [1]}


@pytest.mark.parametrize("length", [-1, True, False, 1.0, "1", None, [1]])
def test_truncate_to_a_bad_length_is_refused(length: Any) -> None:
    assert _refused(Document({"s": "Hello"}), "/s", "truncate", length)
    assert _refused(Document([[1, 2, 3]]), "/0", "truncate", length)


def test_truncate_of_a_growing_str_to_a_bad_length_is_refused() -> None:
    doc = Document({"s": "ab"})
    doc.apply("/s", "append", "c")
    assert _refused(doc, "/s", "truncate", -2)
    assert string(doc.value["s"]) == "abc"


@pytest.mark.parametrize("target", [{"a": 1}, 5, None])
def test_truncate_of_something_not_a_string_or_list_is_refused(target: Any) -> None:
    assert _refused(Document({"k": target}), "/k", "truncate", 0)
    assert _refused(Document([target]), "/0", "truncate", 0)


def test_truncate_of_a_missing_key_is_refused() -> None:
    assert _refused(Document({}), "/k", "truncate", 0)


# --- paths ----------------------------------------------------------------------------------


def test_tilde_one_in_a_key_is_a_slash() -> None:
    doc = Document({"a/b": {"c": 1}})
    assert doc.apply("/a~1b/c", "replace", 2) is True
    assert doc.apply("/x~1y", "add", 3) is True
    assert doc.value == {"a/b": {"c": 2}, "x/y": 3}


def test_tilde_zero_in_a_key_is_a_tilde() -> None:
    doc = Document({"m~n": {}})
    assert doc.apply("/m~0n/k", "add", 1) is True
    assert doc.value == {"m~n": {"k": 1}}


def test_tilde_zero_one_is_a_tilde_then_a_one() -> None:
    # RFC 6901: ``~1`` is decoded before ``~0``, so ``~01`` is ``~1``, not ``/``.
    doc = Document({})
    assert doc.apply("/~01", "add", 1) is True
    assert doc.value == {"~1": 1}


def test_an_empty_token_is_the_empty_key() -> None:
    doc = Document({"": {}})
    assert doc.apply("//k", "add", 1) is True
    assert doc.value == {"": {"k": 1}}


@pytest.mark.parametrize("path", ["a", "a/b", "~1a", " /a"])
def test_a_path_not_starting_with_a_slash_is_refused(path: str) -> None:
    assert _refused(Document({"a": {"b": 1}}), path, "add", 2)


@pytest.mark.parametrize(
    "path",
    ["/missing/k", "/a/missing/k", "/l/5/k", "/l/-/k", "/l/x/k", "/s/k", "/n/k", "/z/k"],
)
def test_a_parent_that_does_not_exist_is_refused(path: str) -> None:
    doc = Document({"a": {}, "l": [{}], "s": "text", "n": 1, "z": None})
    assert _refused(doc, path, "add", 1)


@pytest.mark.parametrize("start", [None, "text", 1])
def test_a_path_into_a_document_that_is_no_container_is_refused(start: Any) -> None:
    assert _refused(Document(start), "/a", "add", 1)


def test_ops_go_through_list_indexes_in_the_parents() -> None:
    doc = Document({"l": [{"a": "x"}, {"a": "y"}]})
    assert doc.apply("/l/1/a", "append", "z") is True
    assert _plain(doc.value) == {"l": [{"a": "x"}, {"a": "yz"}]}


@pytest.mark.parametrize("path", ["/²", "/²/k"])
def test_a_unicode_digit_that_is_no_decimal_is_refused_on_a_list(path: str) -> None:
    assert _refused(Document([{"k": 1}]), path, "replace", 2)


# --- string ---------------------------------------------------------------------------------


def test_string_of_a_str_is_itself() -> None:
    assert string("abc") == "abc"
    assert string("") == ""


def test_string_of_a_growing_str_joins_it() -> None:
    grown = GrowingStr("a")
    grown.add("b")
    assert string(grown) == "ab"


@pytest.mark.parametrize("value", [None, 1, ["a"], {"a": "b"}, b"bytes"])
def test_string_of_anything_else_is_none(value: Any) -> None:
    assert string(value) is None


# --- get ------------------------------------------------------------------------------------

NESTED: dict[str, Any] = {"a": {"b": [10, {"c": "deep"}, 30]}, "n": None}


def test_get_with_no_keys_is_the_value() -> None:
    assert get(NESTED) is NESTED


def test_get_follows_dict_keys_and_list_indexes() -> None:
    assert get(NESTED, "a", "b", 0) == 10
    assert get(NESTED, "a", "b", 1, "c") == "deep"


def test_get_with_a_negative_index_counts_from_the_end() -> None:
    assert get(NESTED, "a", "b", -1) == 30
    assert get(NESTED, "a", "b", -3) == 10


@pytest.mark.parametrize("index", [3, 100, -4, -100])
def test_get_with_an_index_out_of_range_is_none(index: int) -> None:
    assert get(NESTED, "a", "b", index) is None


@pytest.mark.parametrize(
    "keys",
    [
        ("missing",),
        ("a", "missing"),
        ("a", 0),  # an index into a dict
        ("a", "b", "0"),  # a key into a list
        ("a", "b", 1, "c", "x"),  # a key into a string
        ("n", "x"),
    ],
)
def test_get_of_what_is_not_there_is_none(keys: tuple[str | int, ...]) -> None:
    assert get(NESTED, *keys) is None


# --- join -----------------------------------------------------------------------------------


def test_join_puts_a_relative_child_under_the_base() -> None:
    assert join("/message/content", "parts/0") == "/message/content/parts/0"


def test_join_appends_an_absolute_looking_child_to_the_base() -> None:
    assert join("/message", "/content/parts") == "/message/content/parts"


def test_join_with_an_empty_child_is_the_base() -> None:
    assert join("/message", "") == "/message"


def test_join_under_the_root() -> None:
    assert join("", "/a") == "/a"
    assert join("", "a") == "/a"
    assert join("", "") == ""


# --- touches --------------------------------------------------------------------------------


def test_touches_the_same_path() -> None:
    assert touches("/a/b", "/a/b")


def test_an_op_on_an_ancestor_touches_the_target() -> None:
    assert touches("/a", "/a/b/c")


def test_an_op_on_a_descendant_touches_the_target() -> None:
    assert touches("/a/b/c", "/a")


def test_an_op_on_the_root_touches_everything() -> None:
    assert touches("", "/a/b")
    assert touches("", "")


def test_any_op_touches_the_root() -> None:
    assert touches("/a/b", "")


@pytest.mark.parametrize(
    ("path", "target"),
    [("/a", "/b"), ("/a/b", "/a/c"), ("/ab", "/a"), ("/a", "/ab"), ("/x/a", "/a")],
)
def test_unrelated_paths_do_not_touch(path: str, target: str) -> None:
    assert not touches(path, target)


# --- property: apply never raises -----------------------------------------------------------

PATHS = ["", "/", "/a", "/a/b", "/a/0", "/a/-", "/0", "/-", "/0/a", "/a~1b", "/~0", "a", "/1/1"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "0", ""]), children, max_size=3)
    ),
    max_leaves=8,
)

operations = st.tuples(
    st.sampled_from([*sorted(OPS), "move", ""]), st.sampled_from(PATHS), json_values
)


@settings(max_examples=300, deadline=None)
@given(start=json_values, ops=st.lists(operations, max_size=20))
def test_apply_never_raises(start: Any, ops: list[tuple[str, str, Any]]) -> None:
    doc = Document(start)
    for op, path, value in ops:
        before = copy.deepcopy(_plain(doc.value))
        applied = doc.apply(path, op, value)
        assert isinstance(applied, bool)
        if not applied:
            assert _plain(doc.value) == before
