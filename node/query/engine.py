"""SQL over the system tables with Apache DataFusion (the engine Restate's `/query` uses, so the
restate CLI's SQL works as it is).

A query runs in two steps, both in a worker thread:

1. `plan(sql)`: DataFusion plans it against empty tables and tells which tables it reads and
   which of its filters reach each table's scan (`column = 'v'`, `column IN (...)`); those
   become a `Where` per table, used to read only the rows that can match (node/query/rows.py).
2. `execute(sql, tables)`: DataFusion runs it over the tables built for it, batch by batch,
   with a bound on the rows of the result.

The session is Restate's: PostgreSQL dialect, no DDL, DML or statements, information_schema
on, catalog `restate` and schema `public`, batches of 128 rows, the `sys_invocation` view.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
from datafusion import Expr, RuntimeEnvBuilder, SessionConfig, SessionContext, SQLOptions

from node.query import rows, schema
from node.query.errors import Cancelled, QueryError

Where = dict[str, frozenset[str]]
Columns = frozenset[str] | None  # the columns of a table a query reads; None: maybe all
MEMORY_LIMIT_BYTES = 256 * 1024 * 1024  # DataFusion's memory pool per query
_OPTIONS = SQLOptions().with_allow_ddl(False).with_allow_dml(False).with_allow_statements(False)
_VIEW_TABLES = {"sys_invocation": ("sys_invocation_status", "sys_invocation_state")}
# Columns whose pushed-down values narrow what is read (node/query/rows.py uses these).
PUSHDOWN_COLUMNS = frozenset(
    {
        "id",
        "target_service_name",
        "target_service_key",
        "service_name",
        "service_key",
        "invocation_id",
    }
)


@dataclass(frozen=True, slots=True)
class Plan:
    tables: dict[str, Where]  # every table the query may read -> what its scans allow
    # Every table the query may read -> the columns its scans read (their projections and the
    # columns of the filters pushed into them), None where that is not sure: the others need
    # not be built (node/query/rows.py); `count(*)` reads none, so no row is even decoded.
    columns: dict[str, Columns] = field(default_factory=dict)
    # Tables of which every scan takes at most this many rows, whatever rows (a LIMIT pushed
    # into a scan without filters: the CLI's count estimate reads 50,000 of the statuses).
    limits: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Result:
    schema: pa.Schema
    batches: list[pa.RecordBatch]


def plan(sql: str) -> Plan:
    """Which tables `sql` reads and what its filters allow of each (raises QueryError)."""
    ctx = _context({}, planning=True)
    try:
        logical = ctx.sql_with_options(sql, _OPTIONS).optimized_logical_plan()
    except Exception as exc:  # DataFusion raises plain exceptions: any is the query's fault
        raise _bad_query(exc) from None
    scans: dict[str, list[Where]] = {}
    projections: dict[str, list[Columns]] = {}
    fetches: dict[str, list[int | None]] = {}
    _collect_scans(logical, scans, projections, fetches)
    named = _named_tables(sql)
    all_scanned = _all_scanned(logical)
    tables: dict[str, Where] = {}
    columns: dict[str, Columns] = {}
    for name in schema.TABLES:
        if name in scans and all_scanned:
            tables[name] = _union(scans[name])
            columns[name] = _all_read(projections[name])
        elif name in scans or name in named:
            tables[name] = {}  # maybe also read where the plan's inputs do not show
            columns[name] = None
    _narrow_the_view_state(sql, tables, columns)
    limits = {
        name: max(f for f in taken if f is not None)
        for name, taken in fetches.items()
        if all_scanned and name in tables and taken and None not in taken
    }
    return Plan(tables, columns, limits)


def execute(
    sql: str, tables: Mapping[str, pa.Table], max_rows: int, check: Callable[[], None]
) -> Result:
    """Run `sql` over `tables` (missing ones are empty); raises QueryError past `max_rows`
    result rows, and whatever `check` raises (it is called between batches)."""
    ctx = _context(tables, planning=False)
    try:
        df = ctx.sql_with_options(sql, _OPTIONS)
        out_schema = df.schema()
        batches: list[pa.RecordBatch] = []
        rows = 0
        for batch in df.execute_stream():
            check()
            record_batch = batch.to_pyarrow()
            rows += record_batch.num_rows
            if rows > max_rows:
                raise QueryError(
                    400,
                    f"the result has more than {max_rows} rows; narrow the query with WHERE "
                    "or LIMIT",
                )
            batches.append(record_batch)
    except (QueryError, Cancelled):
        raise
    except Exception as exc:  # DataFusion's errors while running: the query asks too much
        raise _bad_query(exc) from None
    return Result(out_schema, batches)


# ------------------------------------------------------------------------------- session


def _context(tables: Mapping[str, pa.Table], *, planning: bool) -> SessionContext:
    config = (
        SessionConfig()
        .with_information_schema(True)
        .with_default_catalog_and_schema("restate", "public")
        .with_batch_size(128)
        .with_target_partitions(1)  # one core per query: the node serves on the other
        .set("datafusion.sql_parser.dialect", "PostgreSQL")
    )
    runtime = RuntimeEnvBuilder().with_greedy_memory_pool(MEMORY_LIMIT_BYTES)
    ctx = SessionContext(config, runtime)
    for name, table_schema in schema.TABLES.items():
        table = tables.get(name)
        if planning:
            # A pyarrow dataset accepts filters, so the plan shows which reach each scan.
            ctx.register_dataset(name, pads.dataset(table_schema.empty_table()))
        else:
            if table is None or table.num_rows == 0:
                batches = [pa.RecordBatch.from_pylist([], schema=table_schema)]
            else:
                batches = table.to_batches()
            ctx.register_record_batches(name, [batches])
    for name, view_sql in schema.VIEWS.items():
        ctx.register_view(name, ctx.sql(view_sql))
    return ctx


def _bad_query(exc: Exception) -> QueryError:
    return QueryError(400, f"Datafusion error: {exc}")


# ------------------------------------------------------------------------------- pushdown


def _words(sql: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql.lower()))


def _narrow_the_view_state(sql: str, tables: dict[str, Where], columns: dict[str, Columns]) -> None:
    """`sys_invocation` reads the invoker's state only for the statuses it returns (a RIGHT
    JOIN on id, at most one state row per id), so unless the query names `sys_invocation_state`
    itself, what narrows the statuses narrows it too: a key's invocations are one prefix scan
    there as well, instead of a scan of every status for the paused ones (node/query/rows.py).
    And if the query reads none of its columns but the join's id (`count(*)`, a filter on the
    status's own phase), its rows change nothing: none are built (no id is allowed)."""
    state, status = "sys_invocation_state", "sys_invocation_status"
    if state not in tables or status not in tables or state in _words(sql):
        return
    narrowed = dict(tables[state])
    for column, values in tables[status].items():
        narrowed[column] = narrowed[column] & values if column in narrowed else values
    read = columns.get(state)
    if read is not None and read <= {"id"}:
        narrowed["id"] = frozenset()
    tables[state] = narrowed


def _named_tables(sql: str) -> set[str]:
    words = _words(sql)
    named = {name for name in schema.TABLES if name in words}
    for view, underlying in _VIEW_TABLES.items():
        if view in words:
            named.update(underlying)
    return named


def _all_scanned(logical: Any) -> bool:
    """Whether every table the plan reads shows up as a scan among its inputs: unless a subquery
    is left in an expression (a scalar subquery, or one DataFusion could not turn into a join),
    whose plan hides in the expression. Derived tables (`FROM (SELECT ...)`) and the `IN` and
    `EXISTS` subqueries DataFusion turns into semi joins are inputs like any other."""
    return _EXPRESSION_SUBQUERY.search(logical.display_indent()) is None


# How DataFusion's plan display shows a subquery left in an expression ("Subquery:" heads its
# plan; "<subquery>" stands in the expression), never a derived table ("SubqueryAlias:").
_EXPRESSION_SUBQUERY = re.compile(r"\bSubquery:|<subquery>")


def _collect_scans(
    plan: Any,
    scans: dict[str, list[Where]],
    projections: dict[str, list[Columns]],
    fetches: dict[str, list[int | None]],
    above: Any = None,
) -> None:
    """`above`: the predicate of the Filter `plan` is the input of, if any."""
    variant = plan.to_variant()
    kind = type(variant).__name__
    if kind == "TableScan":
        name = str(variant.table_name()).rsplit(".", 1)[-1]
        # A fetch with filters counts the rows that pass them, which the rows built for a scan
        # need not (they may let through rows the filters drop): then all are built.
        filters = list(variant.filters())
        fetch = variant.fetch()
        fetches.setdefault(name, []).append(
            int(fetch) if fetch is not None and not filters else None
        )
        projected = variant.projection()
        read: Columns = None
        if projected is not None:
            # A filter pushed into the scan reads its columns there, outside the projection.
            read = frozenset(str(column) for _, column in projected)
            for expr in filters:
                used = _columns_of(expr)
                read = None if used is None or read is None else read | used
        projections.setdefault(name, []).append(read)
        where: Where = {}
        for expr in filters:
            allowed = _allowed(expr)
            if allowed is not None:
                column, values = allowed
                where[column] = where[column] & values if column in where else values
        if name == "sys_invocation_status":
            predicates = [*filters, *([above] if above is not None else [])]
            statuses = _statuses_allowed(predicates)
            if statuses is not None:
                where["status"] = statuses
        scans.setdefault(name, []).append(where)
    predicate = variant.predicate() if kind == "Filter" else None
    for child in plan.inputs():
        _collect_scans(child, scans, projections, fetches, predicate)


def _all_read(scans: list[Columns]) -> Columns:
    """What all scans of one table together read."""
    read: frozenset[str] = frozenset()
    for columns in scans:
        if columns is None:
            return None
        read |= columns
    return read


def _columns_of(expr: Any, depth: int = 0) -> Columns:
    """The columns `expr` reads, or None if that cannot be told."""
    variant = _variant(expr)
    kind = type(variant).__name__
    if variant is None:
        return None
    if kind == "Column":
        return frozenset({str(variant.name())})
    if kind == "Literal":
        return frozenset()
    if depth > 64:
        return None
    try:
        operands = expr.rex_call_operands()
    except Exception:  # an expression DataFusion's Python side cannot take apart
        return None
    found: frozenset[str] = frozenset()
    for operand in operands:
        columns = _columns_of(operand, depth + 1)
        if columns is None:
            return None
        found |= columns
    return found


# The values of sys_invocation_status.status: a filter reading only that column is evaluated
# over all of them, so any form of it narrows the read (`!=`, `NOT IN`, the CASE of the
# sys_invocation view as DataFusion simplifies it, ...).
STATUSES = tuple(rows.PHASES.values())


def _statuses_allowed(predicates: list[Any]) -> frozenset[str] | None:
    """The statuses that the conjuncts of `predicates` reading only `status` let through; None
    if no conjunct reads only it."""
    only = [c for p in predicates for c in _conjuncts(p) if _columns_of(c) == frozenset({"status"})]
    if not only:
        return None
    ctx = SessionContext()
    domain = pa.table({"status": pa.array(STATUSES, pa.large_utf8())})
    ctx.register_record_batches("sys_invocation_status", [domain.to_batches()])
    frame = ctx.table("sys_invocation_status")
    try:
        for conjunct in only:
            frame = frame.filter(Expr(conjunct))
        return frozenset(frame.to_pydict()["status"])
    except Exception:  # a conjunct this small table cannot evaluate: it narrows nothing
        return None


def _conjuncts(expr: Any) -> list[Any]:
    variant = _variant(expr)
    if type(variant).__name__ == "BinaryExpr" and str(variant.op()).upper() == "AND":
        return [*_conjuncts(variant.left()), *_conjuncts(variant.right())]
    return [expr]


def _variant(expr: Any) -> Any:
    """`expr`'s variant, or None where DataFusion's Python side has none (some functions)."""
    try:
        return expr.to_variant()
    except ValueError:
        return None


def _union(wheres: list[Where]) -> Where:
    """What all scans of one table together allow: a column constrains only if every scan
    constrains it."""
    common = set.intersection(*(set(w) for w in wheres)) if wheres else set()
    return {c: frozenset().union(*(w[c] for w in wheres)) for c in common}


def _allowed(expr: Any) -> tuple[str, frozenset[str]] | None:
    """(column, the string values it may have) if `expr` says that much, else None."""
    variant = _variant(expr)
    kind = type(variant).__name__
    if kind == "BinaryExpr":
        op = str(variant.op())
        left, right = variant.left(), variant.right()
        if op == "=":
            return _column_equals(left, right) or _column_equals(right, left)
        if op.upper() == "OR":
            a, b = _allowed(left), _allowed(right)
            if a is not None and b is not None and a[0] == b[0]:
                return a[0], a[1] | b[1]
            return None
        if op.upper() == "AND":
            return _allowed(left) or _allowed(right)
        return None
    if kind == "InList" and not variant.negated():
        column = _column_name(variant.expr())
        values = [_string_literal(item) for item in variant.list()]
        if column is not None and values and all(v is not None for v in values):
            return column, frozenset(v for v in values if v is not None)
    return None


def _column_equals(column: Any, literal: Any) -> tuple[str, frozenset[str]] | None:
    name = _column_name(column)
    value = _string_literal(literal)
    if name is None or value is None:
        return None
    return name, frozenset({value})


def _column_name(expr: Any) -> str | None:
    variant = _variant(expr)
    if type(variant).__name__ != "Column":
        return None
    name = str(variant.name())
    return name if name in PUSHDOWN_COLUMNS else None


def _string_literal(expr: Any) -> str | None:
    if type(_variant(expr)).__name__ != "Literal":
        return None
    value = expr.python_value()
    if isinstance(value, pa.Scalar):
        value = value.as_py()
    return value if isinstance(value, str) else None
