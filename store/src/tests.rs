//! Runs the conformance suite on every engine, plus engine-specific checks.

use crate::conformance;
use crate::sql::SqlStore;
use crate::*;
use linkdiff_model::{LinkId, Target};
use std::sync::Arc;

type Fresh = Box<dyn Fn() -> (Store, tempfile::TempDir)>;

fn engines() -> Vec<(&'static str, Fresh)> {
    vec![
        (
            "sqlite",
            Box::new(|| {
                let d = tempfile::tempdir().unwrap();
                (Store::open(&d.path().join("i.db")).unwrap(), d)
            }),
        ),
        (
            "sled",
            Box::new(|| {
                let d = tempfile::tempdir().unwrap();
                let spec = format!("sled:{}", d.path().join("db").display());
                (Store::open(std::path::Path::new(&spec)).unwrap(), d)
            }),
        ),
        (
            "memory",
            Box::new(|| (Store::memory(), tempfile::tempdir().unwrap())),
        ),
    ]
}

#[test]
fn every_engine_passes_the_conformance_suite() {
    for (engine, make) in engines() {
        for (check, f) in conformance::all() {
            let (store, _dir) = make();
            f(&store, &format!("{engine}/{check}"));
        }
    }
}

fn sled(path: &std::path::Path) -> std::path::PathBuf {
    format!("sled:{}", path.display()).into()
}

/// Open `path` again in this process: sled releases its file lock from a background thread
/// after the last handle is dropped, so an immediate reopen can briefly fail on the lock
/// (seen under load).
fn reopen(path: &std::path::Path) -> Store {
    let mut last = None;
    for _ in 0..100 {
        match Store::open(path) {
            Ok(s) => return s,
            Err(e) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("cannot reopen {}: {:?}", path.display(), last)
}

#[test]
fn both_engines_reopen_with_their_data() {
    let dir = tempfile::tempdir().unwrap();
    for path in [dir.path().join("i.db"), sled(&dir.path().join("s"))] {
        {
            let store = Store::open(&path).unwrap();
            conformance::sample(&store);
            store.flush().unwrap();
        }
        let store = reopen(&path);
        assert_eq!(
            conformance::targets(&store, Target::Subdomains("example.com".into())).len(),
            5,
            "{}",
            path.display()
        );
    }
}

#[test]
fn unknown_schema_versions_are_refused_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let path = sled(&dir.path().join("db"));
    {
        let store = Store::open(&path).unwrap();
        let mut w = WriteBatch::new();
        w.put_meta("schema_version", "99");
        store.apply(w).unwrap();
        store.flush().unwrap();
    }
    // sled releases its file lock from a background thread after the last handle is dropped:
    // until then the open fails on the lock, not on the schema (this test flaked under load).
    let mut err = None;
    for _ in 0..100 {
        match Store::open(&path) {
            Ok(_) => panic!("an unknown schema version must be refused"),
            Err(e @ StoreError::UnknownSchema { .. }) => {
                err = Some(e);
                break;
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    let err = err.expect("refused for its schema version within 2 s");
    assert!(err.to_string().contains("schema version 99"), "{err}");

    let file = dir.path().join("v.db");
    drop(Store::open(&file).unwrap());
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.pragma_update(None, "user_version", 42).unwrap();
    drop(conn);
    let err = Store::open(&file).err().expect("must refuse");
    assert!(err.to_string().contains("schema version 42"), "{err}");
}

#[test]
fn a_path_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "hello, this is not SQLite at all, just some text").unwrap();
    let err = Store::open(&file).err().unwrap();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("x"), "y").unwrap();
    let err = Store::open(&sled(&other)).err().unwrap();
    assert!(err.to_string().contains("not a linkdiff database"), "{err}");
    // A new index in a directory that does not exist.
    let err = Store::open(&dir.path().join("missing/i.db")).err().unwrap();
    assert!(err.to_string().contains("does not exist"), "{err}");
    // A SQLite file with someone else's tables.
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t(x)")
        .unwrap();
    let err = Store::open(&foreign).err().unwrap();
    assert!(err.to_string().contains("other tables"), "{err}");
    // A memory backend with foreign data and no version is refused too.
    let kv = Arc::new(MemBackend::new());
    let mut b = Batch::default();
    b.ops.push(Op::Put(b"zzz".to_vec(), b"1".to_vec()));
    kv.apply(b).unwrap();
    assert!(crate::kv_store::KvStore::with_backend(kv, ":memory:".into()).is_err());
}

#[test]
fn the_wrong_engine_is_named_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    drop(Store::open(&sled(&s)).unwrap());
    let err = Store::open(&s).err().unwrap().to_string();
    assert!(
        err.contains("--db sled:") && err.contains("linkdiff migrate"),
        "{err}"
    );
    let f = dir.path().join("i.db");
    drop(Store::open(&f).unwrap());
    let err = Store::open(&sled(&f)).err().unwrap().to_string();
    assert!(err.contains("a SQLite index opens with --db"), "{err}");
}

#[test]
fn indexes_from_before_broken_since_open_and_keep_their_pages() {
    let dir = tempfile::tempdir().unwrap();
    let page = crate::PageRecord {
        last_visit: Some(5),
        last_status: 404,
        title: "t".into(),
        ..Default::default()
    };
    // SQLite at user_version 3 (no `broken_since` column): migrated on open.
    let file = dir.path().join("v3.db");
    let s = Store::open(&file).unwrap();
    let mut w = crate::WriteBatch::new();
    w.put_page("http://a.test/", &page);
    s.apply(w).unwrap();
    s.flush().unwrap();
    drop(s);
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.execute_batch(
        "DROP VIEW v_backlinks; DROP VIEW v_events; DROP VIEW v_anchors; DROP VIEW v_refdomains;
         DROP VIEW v_pages;
         ALTER TABLE pages DROP COLUMN broken_since; ALTER TABLE events DROP COLUMN reason;
         ALTER TABLE events DROP COLUMN recovered; ALTER TABLE backlinks DROP COLUMN rendered;
         ALTER TABLE domains DROP COLUMN source; PRAGMA user_version=3",
    )
    .unwrap();
    drop(conn);
    let s = Store::open(&file).unwrap();
    assert_eq!(s.page("http://a.test/").unwrap(), Some(page.clone()));
    let mut w = crate::WriteBatch::new();
    let broken = crate::PageRecord {
        broken_since: Some(5),
        ..page.clone()
    };
    w.put_page("http://a.test/", &broken);
    s.apply(w).unwrap();
    assert_eq!(s.page("http://a.test/").unwrap(), Some(broken));
    drop(s);
    let v: i64 = rusqlite::Connection::open(&file)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, crate::sql::SQL_SCHEMA_VERSION);
    // The readable views were added by the migration, and read the migrated rows.
    let url: String = rusqlite::Connection::open(&file)
        .unwrap()
        .query_row("SELECT url FROM v_pages", [], |r| r.get(0))
        .unwrap();
    assert_eq!(url, "http://a.test/");

    // sled: a page record written before the field reads with `broken_since: None`.
    let old = crate::records::PageRecordV2 {
        last_visit: Some(5),
        last_status: 404,
        title: "t".into(),
        ..Default::default()
    };
    let kv = Arc::new(MemBackend::new());
    let store = crate::kv_store::KvStore::with_backend(kv.clone(), ":memory:".into()).unwrap();
    let mut b = Batch::default();
    b.ops.push(Op::Put(
        crate::keys::page("http://a.test/"),
        crate::write::encode(&old),
    ));
    kv.apply(b).unwrap();
    assert_eq!(store.page("http://a.test/").unwrap(), Some(page));

    // sled: a domain record written before imported ratings reads as computed by the crawl.
    let mut b = Batch::default();
    b.ops.push(Op::Put(
        crate::keys::tagged(crate::keys::DOMAIN, "a.test"),
        crate::write::encode(&crate::records::DomainRecordV1 {
            domain_rating: 40,
            raw: 0.25,
            ahrefs_top: 3,
        }),
    ));
    kv.apply(b).unwrap();
    let want = crate::DomainRecord {
        domain_rating: 40,
        raw: 0.25,
        ahrefs_top: 3,
        source: None,
    };
    assert_eq!(store.domain("a.test").unwrap(), Some(want.clone()));
    assert_eq!(
        store.domains().map(Result::unwrap).collect::<Vec<_>>(),
        vec![("a.test".to_string(), want)]
    );
}

/// A link set and backlink as an older build wrote them (no `rendered`), and the same link
/// as a rendering found it.
fn old_and_rendered_link() -> (LinkId, crate::records::LinkRecordV1, LinkRecord, LinkRecord) {
    let id = LinkId {
        url_to: "http://t.test/x".into(),
        link_type: linkdiff_model::LinkType::Href,
        anchor: "x".into(),
        n: 0,
    };
    let old = crate::records::LinkRecordV1 {
        alt: "alt".into(),
        first_seen: 5,
        streak_start: 5,
        last_seen: 5,
        original: true,
        live: true,
        external: true,
        ..Default::default()
    };
    let read = LinkRecord::from(old.clone());
    let rendered = LinkRecord {
        rendered: true,
        ..read.clone()
    };
    (id, old, read, rendered)
}

#[test]
fn link_sets_from_before_rendered_read_as_not_rendered_and_take_the_flag_when_written() {
    let (id, old, read, rendered) = old_and_rendered_link();
    assert!(!read.rendered);
    let page = crate::PageRecord {
        last_visit: Some(5),
        last_ok_visit: Some(5),
        last_status: 200,
        ..Default::default()
    };
    let scope = Target::parse("t.test", linkdiff_model::Mode::Domain).unwrap();

    // SQLite at user_version 9: the link set blob in format 1, no `backlinks.rendered`.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v9.db");
    let s = Store::open(&file).unwrap();
    let mut w = crate::WriteBatch::new();
    w.put_page("http://a.test/", &page);
    w.put_links("http://a.test/", &[(id.clone(), read.clone())]);
    w.put_backlink("http://a.test/", &id, &read);
    s.apply(w).unwrap();
    s.flush().unwrap();
    drop(s);
    let conn = rusqlite::Connection::open(&file).unwrap();
    let blob =
        zstd::bulk::compress(&crate::write::encode(&vec![(id.clone(), old.clone())]), 3).unwrap();
    conn.execute("UPDATE linksets SET data = ?", [blob])
        .unwrap();
    conn.execute_batch(
        "DROP VIEW v_backlinks; DROP VIEW v_events; DROP VIEW v_anchors; DROP VIEW v_refdomains;
         DROP VIEW v_pages; ALTER TABLE backlinks DROP COLUMN rendered;
         ALTER TABLE domains DROP COLUMN source; PRAGMA user_version=9",
    )
    .unwrap();
    drop(conn);
    let s = Store::open(&file).unwrap();
    reads_format_1_then_keeps_the_flag(&s, &scope, &id, &read, &rendered);
    s.flush().unwrap();
    drop(s);
    let conn = rusqlite::Connection::open(&file).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, crate::sql::SQL_SCHEMA_VERSION);
    let flag: i64 = conn
        .query_row("SELECT rendered FROM v_backlinks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(flag, 1);

    // Key-value engines (sled, memory): the link set and the backlink value in format 1.
    let store = Store::memory();
    let mut b = Batch::default();
    b.ops.push(Op::Put(
        crate::keys::forward("http://a.test/"),
        crate::write::encode(&vec![(id.clone(), old.clone())]),
    ));
    b.ops.push(Op::Put(
        crate::keys::backlink("http://a.test/", &id),
        crate::write::encode(&(&id.url_to, &old)),
    ));
    store.kv_backend().unwrap().apply(b).unwrap();
    reads_format_1_then_keeps_the_flag(&store, &scope, &id, &read, &rendered);
}

/// `store` holds page `http://a.test/` with link `id` in format 1: it reads as `read`; written
/// again as `rendered` (the page's next visit found it only by rendering), it reads so.
fn reads_format_1_then_keeps_the_flag(
    store: &Store,
    scope: &Target,
    id: &LinkId,
    read: &LinkRecord,
    rendered: &LinkRecord,
) {
    let from = "http://a.test/";
    assert_eq!(
        store.forward_links(from).unwrap(),
        vec![(id.clone(), read.clone())]
    );
    let back: Vec<_> = store.backlinks(scope).collect::<Result<_>>().unwrap();
    assert_eq!(back, vec![(from.into(), id.clone(), read.clone())]);
    let mut w = crate::WriteBatch::new();
    w.put_links(from, &[(id.clone(), rendered.clone())]);
    w.put_backlink(from, id, rendered);
    store.apply(w).unwrap();
    assert_eq!(
        store.forward_links(from).unwrap(),
        vec![(id.clone(), rendered.clone())]
    );
    let back: Vec<_> = store.backlinks(scope).collect::<Result<_>>().unwrap();
    assert_eq!(back, vec![(from.into(), id.clone(), rendered.clone())]);
}

#[test]
fn a_read_past_its_deadline_stops_with_a_sentence_and_the_connection_is_reused() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(&dir.path().join("t.db")).unwrap();
    // Counting to 10^12 takes hours: only the deadline ends it.
    let endless = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000000) SELECT count(*) FROM c";
    let t0 = Instant::now();
    let got: crate::Result<i64> =
        crate::deadline::limit(Some(Duration::from_millis(200)), "--timeout", || {
            store.read(|c| Ok(c.query_row(endless, [], |r| r.get(0))?))
        });
    let took = t0.elapsed();
    let err = got.unwrap_err();
    assert!(matches!(err, StoreError::TimedOut { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "the query ran longer than 0.2 s; narrow the target or raise --timeout"
    );
    assert!(took < Duration::from_millis(1200), "stopped after {took:?}");
    // The pooled connection answers the next read, with no limit left on it.
    let n: i64 = store
        .read(|c| Ok::<_, StoreError>(c.query_row("SELECT count(*) FROM (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 300000) SELECT n FROM c)", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(n, 300000);
}

#[test]
fn a_failed_visit_leaves_the_uncommitted_visits_before_it_whole() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("i.db");
    let store = Store::open(&path).unwrap();
    for i in 0..3 {
        let mut w = WriteBatch::new();
        w.put_page(&format!("http://a.test/{i}"), &PageRecord::default());
        store.apply(w).unwrap();
    }
    let mut bad = WriteBatch::new();
    bad.put_page("http://a.test/bad", &PageRecord::default());
    bad.fail_for_test();
    assert!(store.apply(bad).is_err());
    // The writer goes on in the same transaction after the replay.
    let mut w = WriteBatch::new();
    w.put_page("http://a.test/3", &PageRecord::default());
    store.apply(w).unwrap();
    store.flush().unwrap();
    // What another process sees once committed.
    let other = Store::open(&path).unwrap();
    for i in 0..4 {
        assert!(
            other.page(&format!("http://a.test/{i}")).unwrap().is_some(),
            "page {i}"
        );
    }
    assert_eq!(other.page("http://a.test/bad").unwrap(), None);
    drop(other);
    drop(store);
    // The last connection closed removes the write-ahead log (the committer's checkpoint
    // connection does not outlive its checkpoint).
    std::thread::sleep(std::time::Duration::from_millis(250));
    assert!(!d.path().join("i.db-wal").exists(), "log left behind");
}
