"""Pre-rendered JSON pages the benchmark servers serve as plain files.

Rendering happens once per size (a manifest records what a directory holds), so the
servers do no work per request beyond sending a file, and both sides of every
comparison read exactly the same bytes.

Layout under the data directory (nginx's root):

  rest/<rows>/page.json, page<k>.json   cursor pages of /items: {"results": [...],
      "next_cursor": "<k+1>"} (null on the last page); row i is {"id": i, "name": str,
      "status": "active"|"inactive"|null}
  ids/pages/<gte>_<limit>.json          keyset pages of ids gte..gte+limit-1:
      [{"id": i, "value": "v<i>"}, ...] (idrange.lua asks id_gte, id_lt, limit)
  ids/<n>/stats                         {"min_id": 1, "max_id": n}
  ids/<n>/seed_<gte>_<lt>.json          a whole range in one reply, as the seed's
      PartitionedReader asks for it (no limit)
"""
import json
import os

NAMES = ["user {i}", "Zoë Ångström {i}", "東京の猫 {i}", "rocket 🚀 party {i}",
         'say "hello" {i}', "tab\there {i}", "line one\nline two {i}", "plain name {i}"]


def rest_row(i):
    return {"id": i, "name": NAMES[i % len(NAMES)].replace("{i}", str(i)),
            "status": None if i % 7 == 0 else ("active" if i % 2 else "inactive")}


def _manifest_ok(directory, manifest):
    try:
        with open(os.path.join(directory, "manifest.json")) as f:
            return json.load(f) == manifest
    except (OSError, ValueError):
        return False


def _write_manifest(directory, manifest):
    with open(os.path.join(directory, "manifest.json"), "w") as f:
        json.dump(manifest, f)


def render_rest(root, rows, page_size):
    """Cursor pages of rows rows, page_size per page; returns the directory's URL path."""
    directory = os.path.join(root, "rest", str(rows))
    manifest = {"rows": rows, "page_size": page_size, "version": 1}
    if not _manifest_ok(directory, manifest):
        os.makedirs(directory, exist_ok=True)
        pages = (rows + page_size - 1) // page_size
        for k in range(1, pages + 1):
            first = (k - 1) * page_size + 1
            records = [rest_row(i) for i in range(first, min(first + page_size, rows + 1))]
            page = {"results": records, "next_cursor": str(k + 1) if k < pages else None}
            name = "page.json" if k == 1 else f"page{k}.json"
            with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
                f.write(json.dumps(page, ensure_ascii=False, separators=(",", ":")))
        _write_manifest(directory, manifest)
    return f"/rest/{rows}/items"


def rest_page_files(root, rows):
    """The page files of render_rest(root, rows, ...) in cursor order."""
    directory = os.path.join(root, "rest", str(rows))
    names = sorted((n for n in os.listdir(directory) if n.startswith("page")),
                   key=lambda n: int(n[4:-5] or 1))
    return [os.path.join(directory, n) for n in names]


def seed_ranges(max_id, partitions):
    """The seed PartitionedReader's ranges for /stats max_id (its arithmetic, verbatim)."""
    chunk = max_id // partitions
    return [{"start": i * chunk, "end": (i + 1) * chunk if i < partitions - 1 else max_id}
            for i in range(partitions)]


def render_ids(root, sizes, page_size, seed_partitions):
    """Keyset pages of ids 1..max(sizes) (shared by every size: ranges split on page
    boundaries), stats per size, and the seed's whole-range replies for the largest
    size. Returns {size: URL path of its base}."""
    top = max(sizes)
    directory = os.path.join(root, "ids")
    manifest = {"sizes": sorted(sizes), "page_size": page_size,
                "seed_partitions": seed_partitions, "version": 1}
    if not _manifest_ok(directory, manifest):
        os.makedirs(os.path.join(directory, "pages"), exist_ok=True)
        for n in sizes:
            os.makedirs(os.path.join(directory, str(n)), exist_ok=True)
            with open(os.path.join(directory, str(n), "stats"), "w") as f:
                json.dump({"min_id": 1, "max_id": n}, f)
        seeds = seed_ranges(top, seed_partitions)
        seed_files = [open(os.path.join(directory, str(top), f"seed_{r['start']}_{r['end']}.json"), "w")
                      for r in seeds]
        seed_rows = [0] * len(seeds)
        for f in seed_files:
            f.write("[")
        for first in range(1, top + 1, page_size):
            ids = range(first, min(first + page_size, top + 1))
            rows = [f'{{"id":{i},"value":"v{i}"}}' for i in ids]
            with open(os.path.join(directory, "pages", f"{first}_{page_size}.json"), "w") as f:
                f.write("[" + ",".join(rows) + "]")
            for s, r in enumerate(seeds):
                lo, hi = max(r["start"], first), min(r["end"], first + len(rows))
                if lo < hi:
                    part = rows[lo - first:hi - first]
                    seed_files[s].write(("," if seed_rows[s] else "") + ",".join(part))
                    seed_rows[s] += len(part)
        for f in seed_files:
            f.write("]")
            f.close()
        _write_manifest(directory, manifest)
    return {n: f"/ids/{n}" for n in sizes}
