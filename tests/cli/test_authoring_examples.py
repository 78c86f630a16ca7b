"""The three worked examples of spec/AUTHORING.md ("Three real API shapes") run as
written against the test servers of those styles: the docs stay true."""
import re

import pytest
from styles_server import GITHUB_TOKEN, PATHS, STRIPE_KEY, expected

OPTIONS = {"github": ["auth=bearer", f"api_key={GITHUB_TOKEN}"],
           "stripe": ["auth=basic", "basic_secret=username", f"api_key={STRIPE_KEY}"],
           "jsonapi": []}


def example(source_dir, name):
    text = (source_dir / "spec" / "AUTHORING.md").read_text(encoding="utf-8")
    return re.search(rf"```lua\n-- {name}\.lua\n(.*?)```", text, re.S).group(1)


@pytest.mark.parametrize("style", ["github", "stripe", "jsonapi"])
def test_the_shortest_connector_reads_every_record(cli, lua_script, source_dir, styles_server,
                                                   unique_key, style):
    script = lua_script(example(source_dir, style), f"{style}.lua")
    args = ["read", script, "-o", f"url={styles_server}/{PATHS[style]}?key={unique_key}"]
    for option in OPTIONS[style]:
        args += ["-o", option]
    rows = cli.run(*args).ok().rows()
    assert [row["id"] for row in rows] == [row["id"] for row in expected(style)]
