//! A mistyped `--db` (or `$LINKDIFF_DB`) is refused by every command that only reads an index,
//! with one sentence naming the path and where it came from, and nothing is created; commands
//! that create an index still create it.

use crate::support::{bin, clickhouse_db, clickhouse_servers, clickhouse_skipped};
use std::process::{Command, Output};

/// Every read-only command line, with `DB` where the index path goes.
const READERS: &[&[&str]] = &[
    &["query", "backlinks", "--target", "h001.test", "--db", "DB"],
    &["status", "--db", "DB"],
    &["serve", "--listen", "127.0.0.1:0", "--db", "DB"],
    &["bulk-new-lost", "h001.test", "--db", "DB"],
    &["rank", "--db", "DB"],
    &["watch", "list", "--db", "DB"],
    &["watch", "status", "--db", "DB"],
    &[
        "watch",
        "remove",
        "http://a.test/",
        "http://b.test/",
        "--db",
        "DB",
    ],
    &["webhook", "list", "--db", "DB"],
    &["webhook", "remove", "http://hook.test/", "--db", "DB"],
    &["token", "list", "--db", "DB"],
    &["token", "revoke", "t", "--db", "DB"],
];

fn with_db(args: &[&str], db: &str) -> Vec<String> {
    args.iter()
        .map(|a| {
            if *a == "DB" {
                db.to_string()
            } else {
                a.to_string()
            }
        })
        .collect()
}

fn run(args: &[String]) -> Output {
    bin(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn assert_refused(out: &Output, path: &str, source: &str, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: {err}");
    assert!(out.stdout.is_empty(), "{what} printed an answer");
    assert!(
        err.contains(&format!("no index at {path} ({source})")) && err.contains("linkdiff crawl"),
        "{what}: {err}"
    );
    assert_eq!(err.lines().count(), 1, "{what}: one sentence: {err}");
}

#[test]
fn read_only_commands_refuse_a_missing_sqlite_index_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nosuch.db");
    let db = db.to_str().unwrap();
    for args in READERS {
        let out = run(&with_db(args, db));
        assert_refused(&out, db, "from --db", &args.join(" "));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{} left a file behind",
            args.join(" ")
        );
    }
    // `migrate --from` names its own flag.
    let to = dir.path().join("copy.db");
    let out = bin(&["migrate", "--from", db, "--to", to.to_str().unwrap()]);
    assert_refused(&out, db, "from --from", "migrate --from");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // A missing sled directory too.
    let sled = format!("sled:{}", dir.path().join("nosled").display());
    let out = bin(&["status", "--db", &sled]);
    assert_refused(
        &out,
        &dir.path().join("nosled").display().to_string(),
        "from --db",
        "status on sled",
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_sentence_says_when_the_path_came_from_the_environment_or_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cron.db");
    let out = Command::new(env!("CARGO_BIN_EXE_linkdiff"))
        .args(["status"])
        .env("LINKDIFF_DB", &db)
        .output()
        .unwrap();
    assert_refused(
        &out,
        db.to_str().unwrap(),
        "from $LINKDIFF_DB",
        "status with $LINKDIFF_DB",
    );
    // No --db and no $LINKDIFF_DB: ./linkdiff.db, in an empty working directory.
    let out = Command::new(env!("CARGO_BIN_EXE_linkdiff"))
        .args(["query", "anchors", "--target", "a.test"])
        .env_remove("LINKDIFF_DB")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_refused(&out, "linkdiff.db", "the default --db", "query, default db");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn creating_commands_still_create_and_an_empty_file_is_no_index() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let db = db.to_str().unwrap();
    let out = bin(&["token", "create", "--name", "ci", "--db", db]);
    assert!(out.status.success(), "{out:?}");
    let out = bin(&["token", "list", "--db", db]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ci\t"));
    let out = bin(&[
        "watch",
        "add",
        "http://a.test/p",
        "http://b.test/",
        "--db",
        db,
    ]);
    assert!(out.status.success(), "{out:?}");
    let out = bin(&["status", "--db", db]);
    assert!(out.status.success(), "{out:?}");
    // A zero-byte file (`touch`, or a failed copy) is not an index either, and stays empty.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let out = bin(&["status", "--db", empty.to_str().unwrap()]);
    assert_refused(
        &out,
        empty.to_str().unwrap(),
        "from --db",
        "status on 0 bytes",
    );
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
}

#[test]
fn read_only_commands_refuse_a_clickhouse_database_without_tables() {
    let Some(servers) = clickhouse_servers() else {
        return clickhouse_skipped(
            "read_only_commands_refuse_a_clickhouse_database_without_tables",
        );
    };
    let db = clickhouse_db(&servers[..1], "missing");
    for args in [
        &["status", "--db", "DB"][..],
        &["query", "backlinks", "--target", "h001.test", "--db", "DB"],
    ] {
        let out = run(&with_db(args, &db));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("no index at ClickHouse database")
                && err.contains("(from --db)")
                && err.contains("linkdiff clickhouse init"),
            "{err}"
        );
    }
    // Still nothing there: a later status is refused the same way (not initialised by the first).
    let out = bin(&["status", "--db", &db]);
    assert_eq!(out.status.code(), Some(1));
}
