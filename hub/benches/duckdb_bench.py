"""DuckDB side of the analytics benchmark (`cargo bench --workspace --bench analytics`).

Runs the hub's own indicator SQL, unchanged, in DuckDB over the snapshot tables exported to Parquet
by the benchmark binary, and prints one JSON document on standard output.

    python3 duckdb_bench.py PARQUET_DIR STATEMENTS_JSON REPETITIONS [--threads N] [--mode views|tables]

- PARQUET_DIR holds `areas.parquet`, `population.parquet`, `funds.parquet`, `summaries.parquet` and
  `policies.parquet`.
- STATEMENTS_JSON is a list of `{"name": ..., "sql": ...}`.
- `--mode views` (the default) queries `CREATE VIEW t AS SELECT * FROM read_parquet(...)`, so every
  run reads the Parquet files; `--mode tables` loads them into DuckDB's own in-memory tables first
  (`CREATE TABLE t AS ...`), which is the closer match to DataFusion's in-memory Arrow tables.
- `--threads` sets DuckDB's `threads` (the benchmark passes the cores DataFusion uses).

Each statement runs once to warm up, then REPETITIONS times; a run is execute + fetch the whole
answer (`con.sql(text)` then `to_arrow_table()`, DuckDB's recommended Arrow path, when pyarrow is
installed: DataFusion also ends with Arrow batches; else `fetchall()` into Python tuples, slower for
large answers; the JSON says which).

The output gives, per statement: the median and minimum time in milliseconds, the row count, and
the sums of the `population` and `members` columns (when the answer has them) so the benchmark can
check both engines agree. A statement that fails is reported with its error, never rewritten.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

TABLES = ["areas", "population", "funds", "summaries", "policies"]
CHECKED_COLUMNS = ["population", "members"]


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not getrusage: Linux carries ru_maxrss over
    exec, so a child of a large process would report its parent's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parquet_dir")
    parser.add_argument("statements")
    parser.add_argument("repetitions", type=int)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--mode", choices=["views", "tables"], default="views")
    args = parser.parse_args()

    import duckdb  # noqa: PLC0415 (imported here so --help works without it)

    try:
        import pyarrow  # noqa: F401, PLC0415

        fetch = "arrow"
    except ImportError:
        fetch = "fetchall"

    with open(args.statements, encoding="utf-8") as f:
        statements = json.load(f)

    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {int(args.threads)}")
    started = time.perf_counter()
    kind = "VIEW" if args.mode == "views" else "TABLE"
    for table in TABLES:
        path = os.path.join(args.parquet_dir, f"{table}.parquet").replace("'", "''")
        con.execute(f"CREATE {kind} {table} AS SELECT * FROM read_parquet('{path}')")
    load_ms = (time.perf_counter() - started) * 1000.0

    def to_arrow(relation):
        # DuckDB 2 names it to_arrow_table; 1.x fetch_arrow_table / arrow.
        for method in ("to_arrow_table", "fetch_arrow_table", "arrow"):
            if hasattr(relation, method):
                return getattr(relation, method)()
        raise RuntimeError("this duckdb cannot return Arrow tables")

    def run(sql):
        """Plans, executes and fetches the whole answer; returns (row count, answer)."""
        relation = con.sql(sql)
        if fetch == "arrow":
            table = to_arrow(relation)
            return table.num_rows, table
        rows = relation.fetchall()
        return len(rows), (relation.columns, rows)

    def column_sums(answer, names):
        sums = {}
        if fetch == "arrow":
            for name in names:
                if name in answer.column_names:
                    values = answer.column(name).to_pylist()
                    sums[name] = str(sum(int(v) for v in values if v is not None))
        else:
            columns, rows = answer
            for name in names:
                if name in columns:
                    i = columns.index(name)
                    sums[name] = str(sum(int(r[i]) for r in rows if r[i] is not None))
        return sums

    results = []
    for statement in statements:
        entry = {"name": statement["name"]}
        try:
            rows, answer = run(statement["sql"])  # warm-up
            entry["rows"] = rows
            entry["sums"] = column_sums(answer, CHECKED_COLUMNS)
            del answer
            times = []
            for _ in range(args.repetitions):
                t = time.perf_counter()
                run(statement["sql"])
                times.append((time.perf_counter() - t) * 1000.0)
            entry["median_ms"] = statistics.median(times)
            entry["min_ms"] = min(times)
            entry["runs_ms"] = times
        except duckdb.Error as e:
            entry["error"] = f"{type(e).__name__}: {e}"
        results.append(entry)

    json.dump(
        {
            "duckdb_version": duckdb.__version__,
            "python": sys.version.split()[0],
            "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
            "mode": args.mode,
            "fetch": fetch,
            "load_ms": load_ms,
            "peak_rss_mb": peak_rss_mb(),
            "statements": results,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
