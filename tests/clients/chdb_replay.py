"""Replay linkdiff's compiled ClickHouse statements on a current ClickHouse engine (chDB).

Reads one JSON document on standard input:
  {"database": NAME,
   "tables": [{"ddl": "CREATE TABLE NAME.t (...) ENGINE = ...", "rows": "JSONEachRow lines"}],
   "statements": ["SELECT ...", ...]}
creates the database and tables in a fresh chDB session, inserts the rows, runs every statement
with its default settings and prints one JSON line per statement: {"rows": [...]} (JSONEachRow
objects) or {"error": "..."}. The first line is {"version": "..."}.
"""

import json
import sys
import tempfile

import chdb
from chdb import session


def main():
    doc = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as path:
        s = session.Session(path)
        version = str(s.query("SELECT version()", "TSV")).strip()
        print(json.dumps({"version": f"{version} (chDB {chdb.__version__})"}))
        s.query(f"CREATE DATABASE {doc['database']}")
        for t in doc["tables"]:
            s.query(t["ddl"])
            name = t["ddl"].split("(", 1)[0].split()[-1]
            if t["rows"].strip():
                s.query(f"INSERT INTO {name} FORMAT JSONEachRow\n{t['rows']}")
        for sql in doc["statements"]:
            try:
                out = str(s.query(sql, "JSONEachRow"))
                rows = [json.loads(line) for line in out.splitlines() if line.strip()]
                print(json.dumps({"rows": rows}))
            except Exception as e:  # one failing statement must not hide the others
                print(json.dumps({"error": str(e)}))
        s.close()


if __name__ == "__main__":
    main()
