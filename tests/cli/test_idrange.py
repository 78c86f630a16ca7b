"""idrange.lua and the split behind it (luaconn.ranges): the plan covers [min, max]
exactly for thousands of (min, max, n) cases, and reads return every id once."""
import json
import random
import re

import pytest

SPLIT_CONNECTOR = """\
local ranges = require "luaconn.ranges"
local C = { schema = "id_gte BIGINT, id_lt BIGINT, k INT",
            options = { cases = { type = "json", required = true } } }
function C.read(opts, partition, emit)
  for k, case in ipairs(opts.cases) do
    for _, r in ipairs(ranges.split(case[1], case[2], case[3])) do
      emit { id_gte = r.id_gte, id_lt = r.id_lt, k = k }
    end
  end
end
return C
"""


def cases():
    rng = random.Random(20240501)
    fixed = [(0, 99_999_999, 8), (1, 100_000_000, 8), (0, 99_999_999, 7), (37, 100_000_036, 64),
             (0, 0, 8), (5, 7, 8), (10, 9, 4), (0, 15, 16), (0, 16, 16),
             (3, 2**53 - 2, 9)]  # the last id_lt, 2^53 - 1, is BIGINT's largest value
    random_cases = []
    for _ in range(4000):
        low = rng.choice([0, rng.randrange(1, 1000), rng.randrange(1, 10**9)])
        size = rng.choice([rng.randrange(0, 20), rng.randrange(0, 10**4), rng.randrange(0, 10**8)])
        random_cases.append((low, low + size - 1, rng.randrange(1, 70)))
    return fixed + random_cases


def test_split_covers_every_range_exactly(cli, lua_script):
    all_cases = cases()
    script = lua_script(SPLIT_CONNECTOR)
    result = cli.run("read", script, "-o", "cases=" + json.dumps(all_cases), timeout=300).ok()
    by_case = {}
    for row in result.rows():
        by_case.setdefault(row["k"], []).append((row["id_gte"], row["id_lt"]))
    for k, (low, high, n) in enumerate(all_cases, start=1):
        parts = by_case.get(k, [])
        total = high - low + 1
        if total <= 0:
            assert parts == [], (low, high, n)
            continue
        assert len(parts) == min(n, total), (low, high, n)
        assert parts[0][0] == low and parts[-1][1] == high + 1, (low, high, n)
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:])), "no gap, no overlap"
        sizes = [b - a for a, b in parts]
        assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1, (low, high, n, sizes)
    assert len(all_cases) >= 4000


@pytest.mark.parametrize("low, high, n", [(0, 999, 8), (1000, 2006, 8), (7, 9, 8), (1, 1, 3)])
def test_reads_every_id_once(cli, api_server, low, high, n):
    url = f"{api_server}/ids/{low}/{high}/37"     # the server caps pages at 37 rows
    plan = cli.run("partitions", "idrange", "-o", f"url={url}", "-o", f"partitions={n}").ok()
    assert len(plan.rows()) == min(n, high - low + 1)
    rows = cli.run("read", "idrange", "-o", f"url={url}", "-o", f"partitions={n}").ok().rows()
    assert sorted(r["id"] for r in rows) == list(range(low, high + 1))
    assert all(r["value"] == f"v{r['id']}" for r in rows)


def test_empty_table_plans_nothing(cli, api_server):
    url = f"{api_server}/ids/5/4/10"
    assert cli.run("partitions", "idrange", "-o", f"url={url}").ok().stdout == ""
    assert cli.run("read", "idrange", "-o", f"url={url}").ok().rows() == []


def test_the_read_help_example_partition_is_one_idrange_plans(cli, api_server):
    help_text = cli.run("read", "--help").ok().stdout
    example = re.search(r"luaconn read idrange .*--partition '(\{.*\})'", help_text).group(1)
    url = f"{api_server}/ids/0/499/1000"
    planned = cli.run("partitions", "idrange", "-o", f"url={url}").ok().rows()
    assert set(json.loads(example)) == set(planned[0])
    rows = cli.run("read", "idrange", "-o", f"url={url}", "--partition", example).ok().rows()
    assert [row["id"] for row in rows] == list(range(100))
