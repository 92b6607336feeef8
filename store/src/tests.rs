//! Conformance suite: every test runs against each backend.

use crate::*;
use std::sync::Arc;

fn backends() -> Vec<(&'static str, Store, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sled = Store::open(&dir.path().join("db")).unwrap();
    vec![("mem", Store::memory(), None), ("sled", sled, Some(dir))]
}

fn id(url_to: &str, anchor: &str, n: u16) -> LinkId {
    LinkId {
        url_to: url_to.into(),
        link_type: LinkType::Href,
        anchor: anchor.into(),
        n,
    }
}

fn live(external: bool) -> LinkRecord {
    LinkRecord {
        first_seen: 100,
        streak_start: 100,
        live: true,
        external,
        ..Default::default()
    }
}

/// Write `links` as the link sets of their pages, listing live external ones as backlinks.
fn put_links(w: &mut WriteBatch, links: Vec<(&str, LinkId, LinkRecord)>) {
    let mut by_page: std::collections::BTreeMap<&str, Vec<(LinkId, LinkRecord)>> =
        Default::default();
    for (from, id, rec) in links {
        if rec.live && rec.external {
            w.put_backlink(from, &id, &rec);
        }
        by_page.entry(from).or_default().push((id, rec));
    }
    for (from, set) in by_page {
        w.put_links(from, &set);
    }
}

fn sample(store: &Store) {
    let mut w = WriteBatch::new();
    let mut links = Vec::new();
    for (from, to) in [
        ("http://a.test/1", "https://example.com/"),
        ("http://a.test/1", "https://example.com/blog/x"),
        ("http://a.test/2", "http://www.example.com/blog/y"),
        ("http://b.test/", "http://shop.example.com/"),
        ("http://b.test/", "http://deep.shop.example.com:8080/z"),
        ("http://b.test/", "http://notexample.com/"),
        ("http://b.test/", "http://example.community/"),
    ] {
        links.push((from, id(to, "x", 0), live(true)));
    }
    // Internal and dead links never reach the backlink index.
    links.push((
        "http://a.test/1",
        id("http://a.test/2", "in", 0),
        live(false),
    ));
    let mut dead = live(true);
    dead.live = false;
    links.push((
        "http://a.test/1",
        id("https://example.com/gone", "x", 0),
        dead,
    ));
    put_links(&mut w, links);
    store.apply(w).unwrap();
}

fn targets(store: &Store, scope: TargetScope) -> Vec<String> {
    let mut v: Vec<String> = store
        .backlinks(&scope)
        .map(|r| r.unwrap().1.url_to)
        .collect();
    v.sort();
    v
}

#[test]
fn round_trip_of_every_record() {
    for (name, store, _d) in backends() {
        let page = PageRecord {
            title: "T".into(),
            last_status: 200,
            links_external: 3,
            ..Default::default()
        };
        let run = RunRecord {
            id: 7,
            as_of: 5,
            ..Default::default()
        };
        let tok = TokenRecord {
            hash: "h".into(),
            rows_limit: 10,
            centirows_left: 1000,
            created: 1,
        };
        let fe = FrontierEntry {
            depth: 2,
            redirects: 0,
            run: 7,
        };
        let mut w = WriteBatch::new();
        w.put_page("http://a.test/", &page);
        w.put_run(&run);
        w.put_token("ci", &tok);
        w.put_frontier("http://a.test/x", &fe);
        w.put_domain(
            "a.test",
            &DomainRecord {
                domain_rating: 9,
                raw: 0.5,
                ahrefs_top: 1,
            },
        );
        store.apply(w).unwrap();
        assert_eq!(store.page("http://a.test/").unwrap(), Some(page), "{name}");
        assert_eq!(store.last_run().unwrap(), Some(run), "{name}");
        assert_eq!(store.token("ci").unwrap(), Some(tok), "{name}");
        assert_eq!(
            store.frontier_entry("http://a.test/x").unwrap(),
            Some(fe),
            "{name}"
        );
        assert_eq!(
            store.domain("a.test").unwrap().unwrap().ahrefs_top,
            1,
            "{name}"
        );
        assert_eq!(store.page("http://nope/").unwrap(), None, "{name}");
    }
}

#[test]
fn scopes_are_range_scans_on_reversed_hosts() {
    for (name, store, _d) in backends() {
        sample(&store);
        assert_eq!(
            targets(&store, TargetScope::Exact("example.com".into())),
            vec!["https://example.com/"],
            "{name}"
        );
        assert_eq!(
            targets(&store, TargetScope::Domain("example.com".into())),
            vec![
                "http://www.example.com/blog/y",
                "https://example.com/",
                "https://example.com/blog/x"
            ],
            "{name}"
        );
        assert_eq!(
            targets(&store, TargetScope::Subdomains("shop.example.com".into())),
            vec![
                "http://deep.shop.example.com:8080/z",
                "http://shop.example.com/"
            ],
            "{name}"
        );
        assert_eq!(
            targets(&store, TargetScope::Subdomains("example.com".into())).len(),
            5,
            "{name}: subdomains stop at label boundaries (not notexample.com, example.community)"
        );
        assert_eq!(
            targets(&store, TargetScope::Prefix("example.com/blog".into())),
            vec!["https://example.com/blog/x"],
            "{name}"
        );
    }
}

#[test]
fn forward_links_keep_dead_links_for_history() {
    for (name, store, _d) in backends() {
        sample(&store);
        let links = store.forward_links("http://a.test/1").unwrap();
        assert_eq!(links.len(), 4, "{name}");
        assert_eq!(links.iter().filter(|(_, r)| r.live).count(), 3, "{name}");
        let s = store.stats().unwrap();
        assert_eq!(
            (s.links, s.backlinks),
            (8, 7),
            "{name}: 7 external + 1 internal live"
        );
    }
}

#[test]
fn a_visit_is_applied_wholly_or_not_at_all() {
    for (name, store, _d) in backends() {
        let mut w = WriteBatch::new();
        w.put_page("http://a.test/", &PageRecord::default());
        let links = (0..50)
            .map(|i| {
                (
                    "http://a.test/",
                    id(&format!("http://x.test/{i}"), "a", 0),
                    live(true),
                )
            })
            .collect();
        put_links(&mut w, links);
        // A writer that dies half-way never hands its batch to the backend: the store holds
        // nothing of it. The complete batch then lands in one step.
        let failing = Arc::new(FailAfter(store.backend().clone()));
        let s2 = Store { kv: failing };
        let mut half = WriteBatch::new();
        half.put_page("http://a.test/", &PageRecord::default());
        assert!(s2.apply(half).is_err());
        assert_eq!(store.page("http://a.test/").unwrap(), None, "{name}");
        assert_eq!(
            store.forward_links("http://a.test/").unwrap().len(),
            0,
            "{name}"
        );
        store.apply(w).unwrap();
        assert_eq!(
            store.forward_links("http://a.test/").unwrap().len(),
            50,
            "{name}"
        );
    }
}

/// A backend that writes part of a batch to a scratch copy and then fails: it stands for a
/// crash between the first and the last write. The real backend must see none of it.
struct FailAfter(Arc<dyn KvBackend>);

impl KvBackend for FailAfter {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.0.get(key)
    }
    fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> KvIter<'a> {
        self.0.scan_prefix(prefix)
    }
    fn scan_from<'a>(&'a self, start: &[u8]) -> KvIter<'a> {
        self.0.scan_from(start)
    }
    fn apply(&self, batch: Batch) -> Result<()> {
        let scratch = MemBackend::new();
        let mut partial = batch.clone();
        partial.ops.truncate(batch.len() / 2);
        scratch.apply(partial)?;
        Err(StoreError::Aborted("simulated crash mid-visit".into()))
    }
    fn flush(&self) -> Result<()> {
        self.0.flush()
    }
    fn size_on_disk(&self) -> Result<u64> {
        self.0.size_on_disk()
    }
}

#[test]
fn sled_reopens_with_data_after_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let store = Store::open(&path).unwrap();
        sample(&store);
        store.flush().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(
        targets(&store, TargetScope::Subdomains("example.com".into())).len(),
        5
    );
}

#[test]
fn unknown_schema_version_is_refused_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let store = Store::open(&path).unwrap();
        let mut w = WriteBatch::new();
        w.put_meta("schema_version", "99");
        store.apply(w).unwrap();
        store.flush().unwrap();
    }
    let err = Store::open(&path).err().expect("must refuse");
    let msg = err.to_string();
    assert!(msg.contains("schema version 99"), "{msg}");
    assert!(matches!(err, StoreError::UnknownSchema { .. }));
}

#[test]
fn a_path_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "hello").unwrap();
    assert!(matches!(
        Store::open(&file),
        Err(StoreError::NotADatabase { .. })
    ));
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("x"), "y").unwrap();
    let err = Store::open(&other).err().unwrap();
    assert!(err.to_string().contains("not a linkdiff database"));
    // A memory backend with foreign data and no version is refused too.
    let kv = Arc::new(MemBackend::new());
    let mut b = Batch::default();
    b.ops.push(Op::Put(b"zzz".to_vec(), b"1".to_vec()));
    kv.apply(b).unwrap();
    assert!(Store::with_backend(kv, ":memory:".into()).is_err());
}

#[test]
fn events_are_scoped_and_reapplying_does_not_duplicate() {
    for (name, store, _d) in backends() {
        let link = id("https://example.com/p", "a", 0);
        let ev = EventRecord {
            kind: EventKind::New,
            origin: Origin::Fresh,
            time: 86_400,
            url_from: "http://a.test/".into(),
            url_to: link.url_to.clone(),
            link_type: LinkType::Href,
            anchor: "a".into(),
            n: 0,
            http_code: 200,
            links_internal: 0,
            links_external: 1,
        };
        for _ in 0..2 {
            let mut w = WriteBatch::new();
            w.put_event(&link, &ev);
            store.apply(w).unwrap();
        }
        let got: Vec<_> = store
            .events(&TargetScope::Domain("example.com".into()))
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(got, vec![ev], "{name}");
        assert_eq!(
            store
                .events(&TargetScope::Domain("other.com".into()))
                .count(),
            0
        );
    }
}
