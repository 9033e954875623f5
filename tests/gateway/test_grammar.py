"""PostgREST query-string grammar (pure: no database)."""

from __future__ import annotations

import pytest

from supalocal.gateway.errors import ApiError
from supalocal.gateway.grammar import (
    Field,
    Filter,
    LogicTree,
    Operation,
    OrderTerm,
    SelectItem,
    parse_filter,
    parse_logic,
    parse_order,
    parse_query,
    parse_select,
)
from supalocal.gateway.rest import apply_range_header


def test_select_items_with_alias_cast_and_json_path() -> None:
    items = parse_select('id,label:name,score::text,meta->>level,"odd, name",*')
    assert items == (
        SelectItem(Field("id")),
        SelectItem(Field("name"), alias="label"),
        SelectItem(Field("score"), cast="text"),
        SelectItem(Field("meta", (("->>", "level"),))),
        SelectItem(Field("odd, name")),
        SelectItem(None),
    )
    assert [item.output_name for item in items[:4]] == ["id", "label", "score", "level"]


@pytest.mark.parametrize("select", ["author(name)", "author!fk(name)", "...author(name)", "count()", "x.sum()"])
def test_embedding_spreads_and_aggregates_are_refused_loudly(select: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_select(select)
    assert (info.value.status, info.value.code) == (501, "PGRST127")


def test_cast_must_be_a_plain_type_name() -> None:
    assert parse_select("x::double precision")[0].cast == "double precision"
    with pytest.raises(ApiError) as info:
        parse_select("x::text);drop table t;--")
    assert info.value.code == "PGRST100"


def test_filter_operators_modifiers_and_negation() -> None:
    assert parse_filter("score", "gte.10") == Filter(Field("score"), Operation("gte", "10"))
    assert parse_filter("name", "not.ilike.*a*") == Filter(Field("name"), Operation("ilike", "*a*", negated=True))
    assert parse_filter("name", "like(any).{a*,b*}").operation == Operation("like", "{a*,b*}", quantifier="any")
    assert parse_filter("doc", "fts(english).cat").operation == Operation("fts", "cat", fts_config="english")
    assert parse_filter("note", "is.NULL").operation == Operation("is", "null")
    # top-level values are taken verbatim, dots and quotes included
    assert parse_filter("name", 'eq.a.b"c').operation.value == 'a.b"c'
    assert parse_filter("meta->n", "eq.1").field == Field("meta", (("->", "n"),))


def test_in_list_with_quoted_items() -> None:
    op = parse_filter("name", 'in.(alpha,"epsilon,comma","say \\"hi\\"")').operation
    assert op.value == ("alpha", "epsilon,comma", 'say "hi"')
    assert parse_filter("id", "in.()").operation.value == ()


@pytest.mark.parametrize(("key", "value"), [
    ("score", "equals.1"), ("score", "eq"), ("score", "is.maybe"), ("score", "in.1,2"), ("score", "eq(some).1"),
])
def test_malformed_filters_are_pgrst100(key: str, value: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_filter(key, value)
    assert (info.value.status, info.value.code) == (400, "PGRST100")


def test_embedded_filter_is_refused() -> None:
    with pytest.raises(ApiError) as info:
        parse_filter("author.name", "eq.x")
    assert info.value.code == "PGRST127"


def test_nested_logic_tree() -> None:
    tree = parse_logic("not.or", '(score.gt.40,and(name.eq."a,b",note.not.is.null),tags.cs.{a,b},id.in.(1,2))')
    assert tree == LogicTree("or", True, (
        Filter(Field("score"), Operation("gt", "40")),
        LogicTree("and", False, (
            Filter(Field("name"), Operation("eq", "a,b")),
            Filter(Field("note"), Operation("is", "null", negated=True)),
        )),
        Filter(Field("tags"), Operation("cs", "{a,b}")),
        Filter(Field("id"), Operation("in", ("1", "2"))),
    ))


def test_order_terms() -> None:
    assert parse_order("score.desc.nullslast,name,meta->>n.asc.nullsfirst") == (
        OrderTerm(Field("score"), descending=True, nulls="last"),
        OrderTerm(Field("name")),
        OrderTerm(Field("meta", (("->>", "n"),)), nulls="first"),
    )
    with pytest.raises(ApiError):
        parse_order("score.sideways")


def test_query_split_into_reserved_filters_and_rpc_args() -> None:
    parts = parse_query([("select", "id"), ("n", "3"), ("id", "gt.1"), ("or", "(a.eq.1,b.eq.2)"),
                         ("limit", "5"), ("offset", "2"), ("order", "id.desc"), ("columns", '"a","b c"')],
                        rpc_param_names=frozenset({"n"}))
    assert parts.rpc_args == {"n": "3"}
    assert (parts.limit, parts.offset, parts.columns) == (5, 2, ("a", "b c"))
    assert [type(c).__name__ for c in parts.conditions] == ["Filter", "LogicTree"]


def test_limits_must_be_non_negative_integers() -> None:
    with pytest.raises(ApiError) as negative:
        parse_query([("limit", "-1")])
    assert (negative.value.status, negative.value.code) == (416, "PGRST103")
    with pytest.raises(ApiError) as garbage:
        parse_query([("offset", "1;drop")])
    assert (garbage.value.status, garbage.value.code) == (400, "PGRST100")


def test_range_header_intersects_limit_and_offset() -> None:
    parts = parse_query([("offset", "2"), ("limit", "10")])
    narrowed = apply_range_header(parts, "0-4")
    assert (narrowed.offset, narrowed.limit) == (2, 3)
    assert (apply_range_header(parse_query([]), "5-").offset, apply_range_header(parse_query([]), "5-").limit) \
        == (5, None)
    with pytest.raises(ApiError) as info:
        apply_range_header(parts, "4-1")
    assert info.value.status == 416
