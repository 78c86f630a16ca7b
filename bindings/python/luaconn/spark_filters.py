"""Spark's pushed-down filters (pyspark.sql.datasource.Filter, Spark 4.1+) as luaconn's
pushed filters (spec/CONTRACT.md, "Filter pushdown"): {"column", "op", "value"}.

Imports nothing from the rest of the package.
"""
import datetime
import json
import math

# Spark filter class -> luaconn operator (Not(EqualTo) is "!=").
_OPERATORS = {
    "EqualTo": "=", "GreaterThan": ">", "GreaterThanOrEqual": ">=", "LessThan": "<",
    "LessThanOrEqual": "<=", "In": "in", "IsNull": "is_null", "IsNotNull": "is_not_null",
    "StringStartsWith": "starts_with", "StringEndsWith": "ends_with",
    "StringContains": "contains",
}
_NO_VALUE = ("is_null", "is_not_null")


def _json_value(value):
    """value as JSON carries it (dates and timestamps as ISO-8601 text), or None when
    it cannot (None, NaN, Decimal, bytes, ...): such a filter stays with Spark."""
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return None


def as_pushed(spark_filter):
    """The luaconn form of a Spark filter on a top-level column, or None when it has
    none (And, Or, EqualNullSafe, other Nots, nested columns, values JSON cannot carry)."""
    op = _OPERATORS.get(type(spark_filter).__name__)
    if type(spark_filter).__name__ == "Not" and type(spark_filter.child).__name__ == "EqualTo":
        op, spark_filter = "!=", spark_filter.child
    if op is None or len(spark_filter.attribute) != 1:
        return None
    pushed = {"column": spark_filter.attribute[0], "op": op}
    if op in _NO_VALUE:
        return pushed
    values = spark_filter.value if op == "in" else (spark_filter.value,)
    converted = [_json_value(v) for v in values]
    if not converted or None in converted:
        return None
    pushed["value"] = converted if op == "in" else converted[0]
    return pushed


def split(filters, declared):
    """(pushed, returned): the luaconn forms of the filters the declaration
    ({column: {op: "exact"|"inexact"}}, Connector.filters()) takes, and the Spark filters
    Spark must still apply: those it does not take, and the inexact ones."""
    columns = {name.lower(): name for name in declared}
    pushed, returned = [], []
    for spark_filter in filters:
        form = as_pushed(spark_filter)
        column = columns.get(form["column"].lower()) if form else None
        exactness = declared[column].get(form["op"]) if column else None
        if exactness is None:
            returned.append(spark_filter)
            continue
        pushed.append({**form, "column": column})
        if exactness != "exact":
            returned.append(spark_filter)
    return pushed, returned


def with_pushed(options, pushed, option="filters"):
    """options with pushed added to the filters option (a JSON list) they may hold."""
    given = options.get(option)
    merged = (json.loads(given) if given else []) + pushed
    return {**options, option: json.dumps(merged)}
