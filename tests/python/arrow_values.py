"""The api_server's typed rows as the Python values pyarrow gives back for them."""
import datetime as dt

from api_server import TYPED_COLUMNS


def _arrow_value(column, value):
    if value is None:
        return None
    if column == "bin":
        return value.encode("utf-8")
    if column == "dt":
        return dt.date.fromisoformat(value)
    if column == "ts":
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=dt.timezone.utc)
    return value


def typed_rows_as_arrow_values(rows):
    """typed_dataset rows with BINARY as bytes, DATE as date, TIMESTAMP as aware UTC."""
    return [{c: _arrow_value(c, row[c]) for c in TYPED_COLUMNS} for row in rows]
