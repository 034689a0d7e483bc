"""SQLite FTS5 answering the same searches as leakdex over the same records: the bench's yardstick.

Python's sqlite3 module with the SQLite it was built against (FTS5 compiled in, as Debian's is).
The records are the fields leakdex indexes as text, one record per line of RECORDS (tab-separated
name, district, state, address, as leakdex normalized them); QUERIES holds one query per line in
the fielded syntax both engines read (`name:rahul AND name:sharma AND district:"pune"`).

Prints one JSON object: the build time, and per-query latencies' p50, p99 and max in ms, with the
mean number of hits (each query fetches every matching rowid, up to LIMIT, as leakdex returns its
hits), best first (ORDER BY rank, bm25) and again unranked (`unranked_…`).

usage: fts5_search.py RECORDS QUERIES LIMIT
"""

import json
import sqlite3
import sys
import time


def percentile(sorted_values, fraction):
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def main(records_path, queries_path, limit):
    database = sqlite3.connect(":memory:")
    database.execute("CREATE VIRTUAL TABLE records USING fts5(name, district, state, address)")
    started = time.perf_counter()
    with open(records_path, encoding="utf-8") as records:
        rows = (line.rstrip("\n").split("\t") for line in records)
        database.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", rows)
    # Merged into one b-tree, as a loaded index would be kept.
    database.execute("INSERT INTO records(records) VALUES('optimize')")
    database.commit()
    built = time.perf_counter() - started
    with open(queries_path, encoding="utf-8") as queries:
        texts = [line.rstrip("\n") for line in queries if line.strip()]
    figures = {"build_seconds": built}
    # Best first (bm25, as leakdex ranks), and in rowid order with no ranking at all.
    for mode, order in (("", " ORDER BY rank"), ("unranked_", "")):
        latencies = []
        hits = 0
        for text in texts:
            started = time.perf_counter()
            found = database.execute(
                f"SELECT rowid FROM records WHERE records MATCH ?{order} LIMIT ?", (text, int(limit))
            ).fetchall()
            latencies.append((time.perf_counter() - started) * 1000)
            hits += len(found)
        latencies.sort()
        figures[mode + "p50_ms"] = percentile(latencies, 0.5)
        figures[mode + "p99_ms"] = percentile(latencies, 0.99)
        figures[mode + "max_ms"] = latencies[-1]
        figures[mode + "mean_hits"] = hits / len(texts)
    print(json.dumps(figures))


if __name__ == "__main__":
    main(*sys.argv[1:4])
