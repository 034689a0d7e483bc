"""Loads the generator's dumps that DuckDB reads natively into a DuckDB database file, every
column as text, and prints one JSON object: seconds per file and in all, rows per file.

Used by the opt-in scale run (tests/scale.rs, LEAKDEX_SCALE_DUCKDB=1) to set leakdex's ingest
beside a peer's load of the same files, on the same machine, in the same run. The MySQL dump
(legacy_portal.sql) is left out: DuckDB cannot read it without rewriting it.

usage: duckdb_load.py DUMPS_DIR DATABASE_FILE
"""

import json
import sys
import time
from pathlib import Path

import duckdb

dumps = Path(sys.argv[1])
database = Path(sys.argv[2])
database.unlink(missing_ok=True)
connection = duckdb.connect(str(database))
# Each file as DuckDB's own readers take it: every column text, as leakdex keeps them.
loads = {
    "vaccination.csv": "read_csv('{path}', header = true, all_varchar = true)",
    "telecom_kyc.tsv.gz": "read_csv('{path}', delim = '\\t', header = true, all_varchar = true)",
    "shop_orders.jsonl": "read_json('{path}', format = 'newline_delimited', records = true)",
    # A password may hold ':': each line whole, split at its first ':'.
    "combo_list.txt": "(SELECT split_part(line, ':', 1) AS login, "
    "substr(line, strpos(line, ':') + 1) AS secret FROM read_csv('{path}', delim = '\t', "
    "header = false, columns = {{'line': 'VARCHAR'}}, quote = '', escape = ''))",
}
timings = {}
rows = {}
started = time.perf_counter()
for name, reader in loads.items():
    path = dumps / name
    table = name.split(".")[0]
    began = time.perf_counter()
    connection.execute(f"CREATE TABLE {table} AS SELECT * FROM " + reader.format(path=path))
    connection.execute("CHECKPOINT")
    timings[name] = time.perf_counter() - began
    rows[name] = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
total = time.perf_counter() - started
connection.close()
print(json.dumps({"duckdb": duckdb.__version__, "seconds": total, "files": timings, "rows": rows}))
