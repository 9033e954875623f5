"""PostgREST's query-string grammar: select lists, filters, logic trees (or/and), order, ranges.

The parser turns the query string into small immutable trees; nothing here builds SQL. Features the
gateway does not implement (embedding, spreads, aggregates, embedded filters/orders) are refused with
a PGRST127/501 error at parse time instead of being ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from supalocal.gateway import errors

OPERATORS = frozenset({
    "eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch", "in", "is", "isdistinct",
    "cs", "cd", "ov", "sl", "sr", "nxr", "nxl", "adj", "fts", "plfts", "phfts", "wfts",
})
QUANTIFIABLE = frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch"})
FTS_OPERATORS = frozenset({"fts", "plfts", "phfts", "wfts"})
IS_VALUES = frozenset({"null", "not_null", "true", "false", "unknown"})
LOGIC_KEYS = frozenset({"or", "and", "not.or", "not.and"})
_EMBEDDED_KEY_SUFFIXES = (".or", ".and", ".order", ".limit", ".offset", ".select")
_CAST_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*( [A-Za-z_][A-Za-z0-9_]*)*(\[\])?")
_FTS_CONFIG_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    path: tuple[tuple[str, str], ...] = ()  # (arrow, key): arrow is '->' or '->>'

    @property
    def output_name(self) -> str:
        """PostgREST names a JSON-path column after its last key."""
        return self.path[-1][1] if self.path else self.name


@dataclass(frozen=True, slots=True)
class SelectItem:
    field: Field | None  # None: '*'
    alias: str | None = None
    cast: str | None = None

    @property
    def output_name(self) -> str:
        assert self.field is not None
        return self.alias or self.field.output_name


@dataclass(frozen=True, slots=True)
class Operation:
    operator: str
    value: str | tuple[str, ...]
    negated: bool = False
    quantifier: str | None = None  # 'any' | 'all'
    fts_config: str | None = None


@dataclass(frozen=True, slots=True)
class Filter:
    field: Field
    operation: Operation


@dataclass(frozen=True, slots=True)
class LogicTree:
    operator: str  # 'and' | 'or'
    negated: bool
    children: tuple[Filter | LogicTree, ...]


Condition = Filter | LogicTree


@dataclass(frozen=True, slots=True)
class OrderTerm:
    field: Field
    descending: bool = False
    nulls: str | None = None  # 'first' | 'last'


@dataclass(frozen=True, slots=True)
class QueryParts:
    select: tuple[SelectItem, ...] = (SelectItem(None),)
    conditions: tuple[Condition, ...] = ()
    order: tuple[OrderTerm, ...] = ()
    limit: int | None = None
    offset: int = 0
    columns: tuple[str, ...] | None = None
    on_conflict: tuple[str, ...] | None = None
    rpc_args: dict[str, str] = field(default_factory=dict)

    @property
    def selects_everything(self) -> bool:
        return all(item.field is None for item in self.select)


class _Cursor:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.pos = 0

    def done(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.text[index] if index < len(self.text) else ""

    def take(self, token: str) -> bool:
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.take(token):
            found = repr(self.peek()) if not self.done() else "end of input"
            raise self.error(f"unexpected {found} expecting {token!r}")

    def read_while(self, accept: str) -> str:
        start = self.pos
        while not self.done() and self.peek() not in accept:
            self.pos += 1
        return self.text[start:self.pos]

    def error(self, details: str) -> errors.ApiError:
        if self.what == "filter":
            return errors.filter_parse_error(self.text, details)
        return errors.query_param_error(f"\"failed to parse {self.what} ({self.text})\"", details)


def _quoted(cur: _Cursor) -> str:
    cur.expect('"')
    out: list[str] = []
    while not cur.done():
        char = cur.peek()
        cur.pos += 1
        if char == "\\" and not cur.done():
            out.append(cur.peek())
            cur.pos += 1
        elif char == '"':
            return "".join(out)
        else:
            out.append(char)
    raise cur.error("unterminated quoted value")


def _word(cur: _Cursor) -> str:
    """Unquoted identifier characters; a '-' is part of the name unless it starts a JSON arrow."""
    start = cur.pos
    while not cur.done():
        char = cur.peek()
        if char.isalnum() or char in "_$ " or (char == "-" and cur.peek(1) != ">"):
            cur.pos += 1
        else:
            break
    return cur.text[start:cur.pos].strip()


def _name(cur: _Cursor) -> str:
    if cur.peek() == '"':
        return _quoted(cur)
    name = _word(cur)
    if not name:
        raise cur.error(f"expecting a name at position {cur.pos + 1}")
    return name


def _field(cur: _Cursor) -> Field:
    name = _name(cur)
    path: list[tuple[str, str]] = []
    while cur.peek() == "-" and cur.peek(1) == ">":
        arrow = "->>" if cur.take("->>") else "->"
        if arrow == "->":
            cur.expect("->")
        path.append((arrow, _name(cur)))
    return Field(name, tuple(path))


def _cast(cur: _Cursor) -> str:
    text = cur.read_while(",")
    if not _CAST_RE.fullmatch(text):
        raise cur.error(f"invalid cast type {text!r}")
    return text


def _select_item(cur: _Cursor) -> SelectItem:
    if cur.take("*"):
        return SelectItem(None)
    if cur.text.startswith("...", cur.pos):
        raise errors.not_implemented("spread embedding ('...') in select is not supported")
    start = cur.pos
    alias: str | None = None
    first = _name(cur)
    if cur.peek() == ":" and cur.peek(1) != ":":
        cur.pos += 1
        alias = first
    else:
        cur.pos = start
    item_field = _field(cur)
    if cur.peek() in ("(", "!", "."):
        raise errors.not_implemented(
            f"resource embedding and aggregate functions are not supported (select item '{item_field.name}"
            f"{cur.text[cur.pos:].split(',')[0]}')")
    cast = _cast(cur) if cur.take("::") else None
    return SelectItem(item_field, alias, cast)


def parse_select(text: str) -> tuple[SelectItem, ...]:
    cur = _Cursor(text.strip(), "select")
    if cur.done():
        return (SelectItem(None),)
    items = [_select_item(cur)]
    while not cur.done():
        cur.expect(",")
        items.append(_select_item(cur))
    return tuple(items)


def _tree_value(cur: _Cursor) -> str:
    if cur.peek() == '"':
        return _quoted(cur)
    if cur.peek() == "{":
        value = cur.read_while("}")
        cur.expect("}")
        return value + "}"
    return cur.read_while(",)")


def _list_value(cur: _Cursor) -> tuple[str, ...]:
    cur.expect("(")
    values: list[str] = []
    if cur.take(")"):
        return ()
    while True:
        values.append(_quoted(cur) if cur.peek() == '"' else cur.read_while(",)"))
        if cur.take(")"):
            return tuple(values)
        cur.expect(",")


def _operation(cur: _Cursor, *, in_tree: bool) -> Operation:
    negated = cur.take("not.")
    start = cur.pos
    while cur.peek().isalpha():
        cur.pos += 1
    operator = cur.text[start:cur.pos]
    if operator not in OPERATORS:
        raise cur.error(f"unknown operator {operator!r}")
    quantifier = config = None
    if cur.take("("):
        modifier = cur.read_while(")")
        cur.expect(")")
        if operator in QUANTIFIABLE and modifier in ("any", "all"):
            quantifier = modifier
        elif operator in FTS_OPERATORS and _FTS_CONFIG_RE.fullmatch(modifier):
            config = modifier
        else:
            raise cur.error(f"invalid modifier ({modifier}) for operator {operator!r}")
    cur.expect(".")
    value: str | tuple[str, ...]
    if operator == "in":
        value = _list_value(cur)
    elif in_tree:
        value = _tree_value(cur)
    else:
        value = cur.text[cur.pos:]
        cur.pos = len(cur.text)
    if operator == "is":
        if not isinstance(value, str) or value.lower() not in IS_VALUES:
            raise cur.error(f"'is' expects one of {', '.join(sorted(IS_VALUES))}")
        value = value.lower()
    return Operation(operator, value, negated, quantifier, config)


def parse_filter(key: str, value: str) -> Filter:
    key_cur = _Cursor(key, "filter")
    filter_field = _field(key_cur)
    if not key_cur.done():
        if key_cur.peek() == ".":
            raise errors.not_implemented(f"filters on embedded resources are not supported ('{key}')")
        raise key_cur.error(f"unexpected {key_cur.peek()!r} in column name")
    cur = _Cursor(value, "filter")
    operation = _operation(cur, in_tree=False)
    if not cur.done():
        raise cur.error(f"unexpected {cur.peek()!r} after the value")
    return Filter(filter_field, operation)


def _tree_children(cur: _Cursor) -> tuple[Condition, ...]:
    cur.expect("(")
    children = [_tree_child(cur)]
    while not cur.take(")"):
        cur.expect(",")
        children.append(_tree_child(cur))
    return tuple(children)


def _tree_child(cur: _Cursor) -> Condition:
    start = cur.pos
    negated = cur.take("not.")
    for operator in ("and", "or"):
        if cur.text.startswith(operator + "(", cur.pos):
            cur.pos += len(operator)
            return LogicTree(operator, negated, _tree_children(cur))
    cur.pos = start
    child_field = _field(cur)
    cur.expect(".")
    return Filter(child_field, _operation(cur, in_tree=True))


def parse_logic(key: str, value: str) -> LogicTree:
    cur = _Cursor(value, "logic tree")
    children = _tree_children(cur)
    if not cur.done():
        raise cur.error(f"unexpected {cur.peek()!r} after the closing parenthesis")
    return LogicTree(key.removeprefix("not."), key.startswith("not."), children)


def parse_order(text: str) -> tuple[OrderTerm, ...]:
    cur = _Cursor(text, "order")
    terms: list[OrderTerm] = []
    while True:
        term_field = _field(cur)
        if cur.peek() in ("(", "!"):
            raise errors.not_implemented("ordering by embedded resources is not supported")
        descending, nulls = False, None
        while cur.take("."):
            word = cur.read_while(".,")
            if word in ("asc", "desc"):
                descending = word == "desc"
            elif word in ("nullsfirst", "nullslast"):
                nulls = word.removeprefix("nulls")
            else:
                raise cur.error(f"unexpected {word!r} expecting asc, desc, nullsfirst or nullslast")
        terms.append(OrderTerm(term_field, descending, nulls))
        if cur.done():
            return tuple(terms)
        cur.expect(",")


def parse_names(text: str, what: str) -> tuple[str, ...]:
    cur = _Cursor(text, what)
    names = [_name(cur)]
    while not cur.done():
        cur.expect(",")
        names.append(_name(cur))
    return tuple(names)


def parse_non_negative(text: str, what: str) -> int:
    if not text.strip().isdigit():
        if text.strip().startswith("-") and text.strip()[1:].isdigit():
            raise errors.invalid_range(f"{what.capitalize()} should be greater than or equal to zero.")
        raise errors.query_param_error(f"\"failed to parse {what} parameter ({text})\"",
                                       f"{what} must be a non-negative integer")
    return int(text)


def parse_query(pairs: Sequence[tuple[str, str]], *,
                rpc_param_names: frozenset[str] = frozenset()) -> QueryParts:
    """Split query parameters into PostgREST's reserved parameters, filters and (GET rpc) arguments."""
    select: tuple[SelectItem, ...] = (SelectItem(None),)
    conditions: list[Condition] = []
    order: tuple[OrderTerm, ...] = ()
    limit: int | None = None
    offset = 0
    columns = on_conflict = None
    rpc_args: dict[str, str] = {}
    for key, value in pairs:
        if key in rpc_param_names:
            rpc_args[key] = value
        elif key == "select":
            select = parse_select(value)
        elif key == "order":
            order = parse_order(value)
        elif key == "limit":
            limit = parse_non_negative(value, "limit")
        elif key == "offset":
            offset = parse_non_negative(value, "offset")
        elif key == "columns":
            columns = parse_names(value, "columns")
        elif key == "on_conflict":
            on_conflict = parse_names(value, "on_conflict")
        elif key in LOGIC_KEYS:
            conditions.append(parse_logic(key, value))
        elif key.endswith(_EMBEDDED_KEY_SUFFIXES):
            raise errors.not_implemented(f"parameters on embedded resources are not supported ('{key}')")
        else:
            conditions.append(parse_filter(key, value))
    return QueryParts(select, tuple(conditions), order, limit, offset, columns, on_conflict, rpc_args)
