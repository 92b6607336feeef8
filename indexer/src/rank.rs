//! URL Rating, Domain Rating and Ahrefs Rank (SPEC §5), recomputed over the stored graph.
//!
//! Both ratings are PageRank (damping 0.85, dangling mass spread evenly) over dofollow live
//! links, log-scaled to 0–100 by [`log_scale`]: `100 · ln(1 + x) / ln(1 + x_max)` where
//! `x = PR · N` (so the average node has x = 1). The strongest node of the graph is 100; the
//! scale is relative to the crawled graph, not to the web.
//!
//! Memory: one `u32` id per distinct URL (the URL strings are held in a hash map while the
//! graph is built), 8 bytes per distinct edge, and three `f64` vectors of N. A 10 M-link graph
//! over ~1 M URLs holds roughly 80 MB of edges plus ~100 MB of URL strings.

use crate::Result;
use foldhash::HashMap as FastMap;
use linkdiff_model::registrable_domain;
use linkdiff_model::url_host;
use linkdiff_store::{DomainRecord, RankSource, RatingKind, Store, WriteBatch, RANKS_IMPORTED};

/// PageRank damping factor.
pub const DAMPING: f64 = 0.85;

/// Meta key the indexer sets when a visit changes the link graph (a new page, a link set
/// rewritten) and [`recompute`] removes: a crawl whose pages all came back unchanged, or with
/// the same links, skips recomputing (see [`ranks_stale`]).
pub const RANKS_STALE: &str = "ranks_stale";

/// Whether a visit changed the link graph since ranks were last recomputed.
pub fn ranks_stale(store: &Store) -> Result<bool> {
    Ok(store.meta(RANKS_STALE)?.is_some())
}
const MAX_ITERATIONS: usize = 100;
const TOLERANCE: f64 = 1e-10;

/// What a rank run covered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RankSummary {
    /// URLs in the page graph.
    pub pages: usize,
    /// Distinct dofollow page edges.
    pub page_edges: usize,
    /// Registrable domains in the domain graph.
    pub domains: usize,
    /// Distinct domain edges.
    pub domain_edges: usize,
}

/// PageRank over `n` nodes and the given (deduplicated) edges. Sums to 1.
pub fn pagerank(n: usize, edges: &[(u32, u32)]) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let mut out_deg = vec![0u32; n];
    for &(a, _) in edges {
        out_deg[a as usize] += 1;
    }
    let nf = n as f64;
    let mut pr = vec![1.0 / nf; n];
    let mut next = vec![0.0; n];
    let mut share = vec![0.0; n];
    for _ in 0..MAX_ITERATIONS {
        let dangling: f64 = (0..n).filter(|&i| out_deg[i] == 0).map(|i| pr[i]).sum();
        let base = (1.0 - DAMPING) / nf + DAMPING * dangling / nf;
        next.iter_mut().for_each(|x| *x = base);
        // What each node gives along each of its links, once per node, not per edge.
        for (c, (&p, &d)) in share.iter_mut().zip(pr.iter().zip(&out_deg)) {
            *c = if d == 0 { 0.0 } else { DAMPING * p / d as f64 };
        }
        for &(a, b) in edges {
            next[b as usize] += share[a as usize];
        }
        let delta: f64 = pr.iter().zip(&next).map(|(x, y)| (x - y).abs()).sum();
        std::mem::swap(&mut pr, &mut next);
        if delta < TOLERANCE {
            break;
        }
    }
    pr
}

/// Map PageRank values to 0–100, monotonic: `100 · ln(1 + PR·N) / ln(1 + max(PR)·N)`.
pub fn log_scale(pr: &[f64]) -> Vec<u8> {
    let n = pr.len() as f64;
    let max = pr.iter().cloned().fold(0.0, f64::max);
    let denom = (1.0 + max * n).ln();
    pr.iter()
        .map(|&p| {
            if denom <= 0.0 {
                0
            } else {
                (100.0 * (1.0 + p * n).ln() / denom)
                    .round()
                    .clamp(0.0, 100.0) as u8
            }
        })
        .collect()
}

/// Interns strings to dense ids.
#[derive(Default)]
struct Interner {
    ids: FastMap<String, u32>,
}

impl Interner {
    /// The id of `s`, and whether it is new.
    fn id(&mut self, s: &str) -> (u32, bool) {
        if let Some(&i) = self.ids.get(s) {
            return (i, false);
        }
        let i = self.ids.len() as u32;
        self.ids.insert(s.to_string(), i);
        (i, true)
    }
}

/// Pages and domains by dense id, each page with its domain's id (the public suffix list
/// is asked once per URL, not twice per link).
#[derive(Default)]
struct Graph {
    pages: Interner,
    domains: Interner,
    page_domain: Vec<u32>,
}

impl Graph {
    fn page(&mut self, url: &str) -> u32 {
        let (id, new) = self.pages.id(url);
        if new {
            let (d, _) = self.domains.id(registrable_domain(url_host(url)));
            self.page_domain.push(d);
        }
        id
    }
}

/// A domain with fewer referring domains than this in the crawled graph is one "the index
/// knows little about": its imported rating, when one exists, replaces the crawl's.
pub const TRUST_CRAWL_FROM: usize = 10;

/// Replace the crawl's rating of every domain with fewer than [`TRUST_CRAWL_FROM`] referring
/// domains by its imported one (the domain's own, else its `www.` host's), and say for each
/// domain id where its rating came from (empty when nothing was imported).
fn imported_where_little_known(
    store: &Store,
    domains: &Interner,
    domain_edges: &[(u32, u32)],
    dr: &mut [u8],
) -> Result<Vec<Option<RankSource>>> {
    if store.meta(RANKS_IMPORTED)?.is_none() {
        return Ok(Vec::new());
    }
    let mut referring = vec![0usize; dr.len()];
    for &(_, b) in domain_edges {
        referring[b as usize] += 1;
    }
    let little: Vec<(&str, u32)> = domains
        .ids
        .iter()
        .filter(|(_, &i)| referring[i as usize] < TRUST_CRAWL_FROM)
        .map(|(d, &i)| (d.as_str(), i))
        .collect();
    let mut source = vec![None; dr.len()];
    for chunk in little.chunks(10_000) {
        let www: Vec<String> = chunk.iter().map(|(d, _)| format!("www.{d}")).collect();
        let mut names: Vec<&str> = chunk.iter().map(|(d, _)| *d).collect();
        names.extend(www.iter().map(String::as_str));
        let found = store.imported_ratings(&names)?;
        for ((d, i), w) in chunk.iter().zip(&www) {
            if let Some(r) = found.get(*d).or_else(|| found.get(w)) {
                dr[*i as usize] = r.rating;
                source[*i as usize] = Some(r.source);
            }
        }
    }
    Ok(source)
}

/// Recompute every page's URL Rating and every domain's Domain Rating and Ahrefs top over the
/// stored graph, writing only what changed (and the rating history of what changed).
pub fn recompute(store: &Store) -> Result<RankSummary> {
    let mut g = Graph::default();
    let mut page_edges = Vec::new();
    let mut domain_edges = Vec::new();
    // The stored rating of every page row, by id: only changed ratings are written.
    let mut stored = Vec::new();
    for r in store.pages() {
        let (url, rec) = r?;
        let id = g.page(&url) as usize;
        if id == stored.len() {
            stored.push(rec.url_rating);
        }
    }
    let page_rows = stored.len();
    for r in store.all_links() {
        let (from, id, rec) = r?;
        if !rec.live || rec.nofollow {
            continue;
        }
        let a = g.page(&from);
        let b = g.page(&id.url_to);
        if a != b {
            page_edges.push((a, b));
        }
        let (da, db) = (g.page_domain[a as usize], g.page_domain[b as usize]);
        if da != db {
            domain_edges.push((da, db));
        }
    }
    let Graph { pages, domains, .. } = g;
    page_edges.sort_unstable();
    page_edges.dedup();
    domain_edges.sort_unstable();
    domain_edges.dedup();
    let ur = log_scale(&pagerank(pages.ids.len(), &page_edges));
    let dr_raw = pagerank(domains.ids.len(), &domain_edges);
    let mut dr = log_scale(&dr_raw);
    let source = imported_where_little_known(store, &domains, &domain_edges, &mut dr)?;

    // Ahrefs top: by rating, then by PageRank mass (the same order as by mass alone when no
    // rating was imported, since the scale is monotonic).
    let mut order: Vec<(&String, u32)> = domains.ids.iter().map(|(d, &i)| (d, i)).collect();
    order.sort_by(|a, b| {
        dr[b.1 as usize]
            .cmp(&dr[a.1 as usize])
            .then_with(|| dr_raw[b.1 as usize].total_cmp(&dr_raw[a.1 as usize]))
            .then_with(|| a.0.cmp(b.0))
    });
    // The rating history is stamped with the day of the last run (the crawl or import these
    // ranks follow): a rating that changed, or is new, is recorded as of that day.
    let day = store
        .last_run()?
        .map(|r| r.as_of.div_euclid(86_400) * 86_400)
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            now.div_euclid(86_400) * 86_400
        });
    let mut before: FastMap<String, u8> = FastMap::default();
    for r in store.domains() {
        let (d, rec) = r?;
        before.insert(d, rec.domain_rating);
    }
    let mut w = WriteBatch::new();
    for (pos, (d, i)) in order.iter().enumerate() {
        let rating = dr[*i as usize];
        if before.get(d.as_str()) != Some(&rating) {
            w.put_rating(RatingKind::Domain, d, day, rating);
        }
        w.put_domain(
            d,
            &DomainRecord {
                domain_rating: dr[*i as usize],
                raw: dr_raw[*i as usize],
                ahrefs_top: pos as u64 + 1,
                source: source.get(*i as usize).copied().flatten(),
            },
        );
        if w.len() >= 10_000 {
            store.apply(std::mem::take(&mut w))?;
        }
    }
    // Streamed: only changed ratings are written, a batch at a time, as pages are read.
    // Changed ratings in URL order: the updates walk the pages' index in order.
    let mut changed: Vec<(&String, u8)> = pages
        .ids
        .iter()
        .map(|(url, &i)| (url, i as usize))
        .filter(|&(_, i)| i < page_rows && stored[i] != ur[i])
        .map(|(url, i)| (url, ur[i]))
        .collect();
    changed.sort_unstable();
    for (url, v) in changed {
        w.put_url_rating(url, v);
        w.put_rating(RatingKind::Url, url, day, v);
        if w.len() >= 10_000 {
            store.apply(std::mem::take(&mut w))?;
        }
    }
    w.remove_meta(RANKS_STALE);
    store.apply(w)?;
    store.flush()?;
    Ok(RankSummary {
        pages: pages.ids.len(),
        page_edges: page_edges.len(),
        domains: domains.ids.len(),
        domain_edges: domain_edges.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn cycle_is_uniform() {
        close(&pagerank(3, &[(0, 1), (1, 2), (2, 0)]), &[1.0 / 3.0; 3]);
    }

    #[test]
    fn chain_by_hand() {
        // 0 → 1, 1 dangling. With d = 0.85 and dangling mass spread evenly:
        // p0 = 0.075 + 0.425·p1, p1 = 0.075 + 0.425·p1 + 0.85·p0, p0 + p1 = 1
        // ⇒ p1 = 0.075 + 0.425 p1 + 0.85 (0.075 + 0.425 p1) ⇒ p1 (1 − 0.425 − 0.36125) = 0.13875
        let p1 = 0.13875 / (1.0 - 0.425 - 0.36125);
        close(&pagerank(2, &[(0, 1)]), &[1.0 - p1, p1]);
    }

    #[test]
    fn star_centre_wins() {
        // Leaves 1..=4 link to 0; 0 is dangling. By symmetry leaves share one value l and
        // p0 = 1 − 4l with l = 0.15/5 + 0.85·p0/5 ⇒ l = (0.03 + 0.17) / (1 + 0.68).
        let pr = pagerank(5, &[(1, 0), (2, 0), (3, 0), (4, 0)]);
        let l = 0.2 / 1.68;
        close(&pr, &[1.0 - 4.0 * l, l, l, l, l]);
    }

    #[test]
    fn log_scale_is_monotonic_and_bounded() {
        let pr = [0.0, 1e-9, 0.001, 0.01, 0.1, 0.3, 0.5889];
        let s = log_scale(&pr);
        assert!(s.windows(2).all(|w| w[0] <= w[1]), "{s:?}");
        assert_eq!(*s.last().unwrap(), 100);
        assert_eq!(s[0], 0);
        assert!(log_scale(&[]).is_empty());
    }

    #[test]
    fn many_pages_of_one_domain_count_once_for_dr() {
        use linkdiff_model::{LinkId, LinkType};
        use linkdiff_store::{LinkRecord, PageRecord};
        // big.test has 50 pages each linking to x.test; small.test has one page linking to
        // y.test. On the domain graph both are one edge, so x.test and y.test tie on DR.
        let store = Store::memory();
        let mut w = WriteBatch::new();
        let live = LinkRecord {
            live: true,
            external: true,
            ..Default::default()
        };
        let mut add = |from: &str, to: &str| {
            w.put_page(from, &PageRecord::default());
            let id = LinkId {
                url_to: to.into(),
                link_type: LinkType::Href,
                anchor: String::new(),
                n: 0,
            };
            w.put_links(from, &[(id, live.clone())]);
        };
        for i in 0..50 {
            add(&format!("http://big.test/{i}"), "http://x.test/");
        }
        add("http://small.test/", "http://y.test/");
        store.apply(w).unwrap();
        let s = recompute(&store).unwrap();
        assert_eq!((s.domains, s.domain_edges), (4, 2));
        let x = store.domain("x.test").unwrap().unwrap();
        let y = store.domain("y.test").unwrap().unwrap();
        assert_eq!(x.domain_rating, y.domain_rating);
        assert!(x.ahrefs_top <= 2 && y.ahrefs_top <= 2);
        // On the page graph x.test/ has 50 referring pages and wins.
        let px = store.page("http://big.test/0").unwrap().unwrap();
        assert!(px.url_rating < 100);
    }
}
