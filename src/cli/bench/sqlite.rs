//! `bench sqlite` (feature `sqlite-bench`): the same questions asked of a plain SQLite schema, the reference a user would reach for.

use super::*;

/// Arguments of `bench sqlite` (built with `--features sqlite-bench`).
#[cfg(feature = "sqlite-bench")]
#[derive(Debug, Args)]
pub struct SqliteBench {
    /// A database built by `bench index` (its backlinks and events are copied).
    #[arg(long)]
    db: PathBuf,
    /// SQLite file to create.
    #[arg(long)]
    sqlite: PathBuf,
    /// Repetitions per query.
    #[arg(long, default_value_t = 30)]
    runs: usize,
}

/// The reference a user would reach for: the same backlinks and events in SQLite, indexed on
/// the target host and URL, and the `bench query` questions asked in SQL.
#[cfg(feature = "sqlite-bench")]
pub fn bench_sqlite(a: SqliteBench) -> anyhow::Result<()> {
    use linkdiff_model::registrable_domain;
    use linkdiff_model::url_host;
    use linkdiff_model::Target;
    let store = super::super::open_store(&a.db)?;
    let _ = std::fs::remove_file(&a.sqlite);
    let mut conn = rusqlite::Connection::open(&a.sqlite)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
         CREATE TABLE backlinks(url_from TEXT, url_to TEXT, host_to TEXT, anchor TEXT, link_type TEXT,
           nofollow INT, alt TEXT, text_pre TEXT, text_post TEXT, first_seen INT, last_visited INT,
           domain_rating INT, refdomain TEXT, title TEXT);
         CREATE TABLE events(url_from TEXT, url_to TEXT, host_to TEXT, date INT, type TEXT, origin TEXT, anchor TEXT);",
    )?;
    let t0 = Instant::now();
    let tx = conn.transaction()?;
    let mut n = 0u64;
    {
        let mut ins = tx.prepare(
            "INSERT INTO backlinks VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
        )?;
        let mut dr_cache: std::collections::HashMap<String, i64> = Default::default();
        for r in store.backlinks(&Target::Subdomains("bench".into())) {
            let (from, id, rec) = r?;
            let page = store.page(&from)?.unwrap_or_default();
            let (last, _) = rec.visits(&page);
            let refdomain = registrable_domain(url_host(&from)).to_string();
            let dr = match dr_cache.get(&refdomain) {
                Some(d) => *d,
                None => {
                    let d = store
                        .domain(&refdomain)?
                        .map(|d| d.domain_rating as i64)
                        .unwrap_or(0);
                    dr_cache.insert(refdomain.clone(), d);
                    d
                }
            };
            ins.execute(rusqlite::params![
                from,
                id.url_to,
                url_host(&id.url_to),
                id.anchor,
                id.link_type.as_str(),
                rec.nofollow as i64,
                rec.alt,
                rec.text_pre,
                rec.text_post,
                rec.first_seen,
                last,
                dr,
                refdomain,
                page.title
            ])?;
            n += 1;
        }
        let mut ins = tx.prepare("INSERT INTO events VALUES (?1,?2,?3,?4,?5,?6,?7)")?;
        for e in store.events(&Target::Subdomains("bench".into())) {
            let e = e?;
            ins.execute(rusqlite::params![
                e.url_from,
                e.url_to,
                url_host(&e.url_to),
                e.time / 86_400,
                e.kind.as_str(),
                e.origin.as_str(),
                e.anchor
            ])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("CREATE INDEX bl_host ON backlinks(host_to); CREATE INDEX bl_url ON backlinks(url_to); CREATE INDEX ev_host ON events(host_to, date); ANALYZE;")?;
    crate::outln!(
        "sqlite: loaded {n} backlinks and indexed them in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let hosts = "host_to IN ('big.bench','www.big.bench')";
    let cases = [
        ("backlinks domain limit=1000", format!("SELECT * FROM backlinks WHERE {hosts} LIMIT 1000")),
        ("backlinks + order_by=domain_rating:desc", format!("SELECT * FROM backlinks WHERE {hosts} ORDER BY domain_rating DESC LIMIT 1000")),
        ("backlinks + where nofollow=false,substring(anchor)", format!("SELECT * FROM backlinks WHERE {hosts} AND nofollow=0 AND anchor LIKE '%engine%' LIMIT 1000")),
        ("anchors domain limit=1000", format!("SELECT anchor, count(*) b, count(DISTINCT url_from), count(DISTINCT refdomain), min(first_seen), max(last_visited) FROM backlinks WHERE {hosts} GROUP BY anchor ORDER BY b DESC, anchor LIMIT 1000")),
        ("counters domain", format!("SELECT date, sum(type='new'), sum(type='lost') FROM events WHERE {hosts} GROUP BY date ORDER BY date DESC")),
        ("backlinks exact (one page, ~20 backlinks)", "SELECT * FROM backlinks WHERE url_to='https://www.big.bench/page41' LIMIT 1000".to_string()),
    ];
    for (name, sql) in cases {
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..a.runs {
            let t0 = Instant::now();
            let mut stmt = conn.prepare_cached(&sql)?;
            let cols = stmt.column_count();
            let mut it = stmt.query([])?;
            rows = 0;
            while let Some(r) = it.next()? {
                for c in 0..cols {
                    let _: rusqlite::types::Value = r.get(c)?;
                }
                rows += 1;
            }
            times.push(t0.elapsed());
        }
        let (p50, p99) = percentiles(times);
        crate::outln!(
            "sqlite {name}: {rows} rows, p50 {p50:.2} ms, p99 {p99:.2} ms ({} runs)",
            a.runs
        );
    }
    Ok(())
}
