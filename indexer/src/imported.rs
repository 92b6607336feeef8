//! Domain ratings from outside the crawl (`linkdiff ranks import`): Common Crawl's web graph
//! ranks (`*-ranks.txt.gz`, host or domain level), Tranco-style `rank,domain` lists and CSVs
//! with a `domain` column and a `rating` or `rank` column, read line by line (the binary opens
//! files and URLs) and written in batches, so a 1-GB file is imported in bounded memory.
//!
//! A position `p` (1 = strongest) becomes a 0–100 rating by [`rating_of_position`]. Ratings are
//! kept per registrable domain; a host-level entry rates its domain only when it is the
//! domain's apex or its `www.` host (other subdomains are skipped and counted). `rank` uses an
//! imported rating for the domains the crawl knows little about (see
//! [`crate::rank::TRUST_CRAWL_FROM`]).

use linkdiff_model::registrable_domain;
use linkdiff_store::{RankSource, RatingKind, Store, StoreError, WriteBatch, RANKS_IMPORTED};
use std::io::{self, BufRead};
use std::str::FromStr;

/// Ratings written per store batch.
const BATCH: usize = 10_000;

/// The position that rates 0: about the number of registrable domains in a Common Crawl
/// domain graph (~100 M); anything ranked further is 0 too.
pub const ZERO_AT: f64 = 1e8;

/// A position's rating, `round(100 · (1 − ln p / ln 10⁸))`, clamped to 0–100: 1 → 100,
/// 10 → 88, 100 → 75, 1,000 → 63, 10,000 → 50, 100,000 → 38, 1 M → 25, 10 M → 13,
/// 100 M → 0. Monotonic; a domain's rating falls by 12.5 for each tenfold of its position.
pub fn rating_of_position(p: u64) -> u8 {
    let p = p.max(1) as f64;
    (100.0 * (1.0 - p.ln() / ZERO_AT.ln()))
        .round()
        .clamp(0.0, 100.0) as u8
}

/// Which of Common Crawl's two rankings a `cc-webgraph` file is read by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum By {
    /// Harmonic centrality (`#harmonicc_pos`): the order Common Crawl sorts its files by.
    #[default]
    Harmonic,
    /// PageRank (`#pr_pos`).
    Pagerank,
}

/// An unknown `--by` value.
#[derive(Debug, thiserror::Error)]
#[error("unknown ranking {0:?}: use harmonic or pagerank")]
pub struct UnknownBy(String);

impl FromStr for By {
    type Err = UnknownBy;
    fn from_str(s: &str) -> Result<By, UnknownBy> {
        match s {
            "harmonic" | "harmonicc" => Ok(By::Harmonic),
            "pagerank" | "pr" => Ok(By::Pagerank),
            _ => Err(UnknownBy(s.to_string())),
        }
    }
}

/// How to read a list.
#[derive(Debug, Clone)]
pub struct Options {
    /// The list's format.
    pub format: RankSource,
    /// The ranking a `cc-webgraph` file is read by.
    pub by: By,
    /// Skip entries ranked after this position (`--max-rank`).
    pub max_rank: Option<u64>,
    /// The import day (Unix seconds at midnight UTC): an import on the same day replaces that
    /// day's ratings of the names it lists; a later day's take precedence.
    pub day: i64,
    /// What the meta record says was imported (the file or URL).
    pub name: String,
}

/// What an import read and wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entry lines read (headers, comments and blank lines not counted).
    pub lines: u64,
    /// Ratings written.
    pub imported: u64,
    /// Entries for a host other than a domain's apex or `www.` host.
    pub subdomains: u64,
    /// Entries ranked after `--max-rank`.
    pub beyond_max_rank: u64,
    /// Lines that are not an entry of the format.
    pub bad: u64,
    /// The first bad line, with its number.
    pub first_bad: Option<String>,
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum RanksError {
    /// The input could not be read.
    #[error("reading the list: {0}")]
    Io(#[from] io::Error),
    /// The store refused a batch.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Not one line was an entry of the format: nothing was written.
    #[error(
        "no line is a {format} entry ({bad} bad lines, the first: {first}); is --format right?"
    )]
    NotThisFormat {
        /// The format asked for.
        format: &'static str,
        /// Bad lines read.
        bad: u64,
        /// The first of them.
        first: String,
    },
    /// A CSV without the columns it needs.
    #[error(
        "the CSV header must name a `domain` column and a `rating` or `rank` column (found: {0})"
    )]
    CsvHeader(String),
}

/// One line's meaning.
enum Entry {
    /// A host (or domain) and its rating.
    Rated(String, u8),
    /// Ranked after `--max-rank`.
    Beyond,
}

/// The columns of a list, from its header (cc-webgraph, csv) or fixed (tranco).
struct Columns {
    name: usize,
    position: Option<usize>,
    rating: Option<usize>,
    separator: char,
    reversed: bool,
}

impl Columns {
    fn for_format(opts: &Options) -> Columns {
        match opts.format {
            // `#harmonicc_pos #harmonicc_val #pr_pos #pr_val #host_rev [#n_hosts]`.
            RankSource::CcWebgraph => Columns {
                name: 4,
                position: Some(if opts.by == By::Pagerank { 2 } else { 0 }),
                rating: None,
                separator: '\t',
                reversed: true,
            },
            RankSource::Tranco => Columns {
                name: 1,
                position: Some(0),
                rating: None,
                separator: ',',
                reversed: false,
            },
            // Set from the header.
            RankSource::Csv => Columns {
                name: usize::MAX,
                position: None,
                rating: None,
                separator: ',',
                reversed: false,
            },
        }
    }

    /// Read a header line's column names (cc-webgraph: `#`-prefixed, tab-separated; csv:
    /// comma-separated, any case).
    fn header(&mut self, line: &str, opts: &Options) -> Result<(), RanksError> {
        let names: Vec<String> = line
            .split(self.separator)
            .map(|c| c.trim().trim_start_matches('#').to_ascii_lowercase())
            .collect();
        let find = |want: &[&str]| names.iter().position(|n| want.contains(&n.as_str()));
        match opts.format {
            RankSource::CcWebgraph => {
                if let Some(i) = find(&["host_rev", "domain_rev"]) {
                    self.name = i;
                }
                let pos = if opts.by == By::Pagerank {
                    find(&["pr_pos"])
                } else {
                    find(&["harmonicc_pos"])
                };
                if pos.is_some() {
                    self.position = pos;
                }
            }
            RankSource::Csv => {
                self.name = find(&["domain", "host", "name"])
                    .ok_or_else(|| RanksError::CsvHeader(line.trim().to_string()))?;
                self.rating = find(&["rating", "domain_rating", "dr"]);
                self.position = find(&["rank", "position", "pos"]);
                if self.rating.is_none() && self.position.is_none() {
                    return Err(RanksError::CsvHeader(line.trim().to_string()));
                }
            }
            RankSource::Tranco => {}
        }
        Ok(())
    }

    /// One entry line, or `None` when it is not one.
    fn entry(&self, line: &str, max_rank: Option<u64>) -> Option<Entry> {
        let fields: Vec<&str> = line.split(self.separator).map(str::trim).collect();
        let raw = fields.get(self.name)?.trim_matches('"');
        if raw.is_empty() || raw.contains(|c: char| c.is_whitespace() || c == '/') {
            return None;
        }
        let host = if self.reversed {
            raw.rsplit('.').collect::<Vec<_>>().join(".")
        } else {
            raw.to_string()
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let rating = match (self.rating, self.position) {
            (Some(r), _) if fields.get(r).is_some_and(|v| !v.is_empty()) => {
                let v: f64 = fields[r].trim_matches('"').parse().ok()?;
                if !(0.0..=100.0).contains(&v) {
                    return None;
                }
                v.round() as u8
            }
            (_, Some(p)) => {
                let p: u64 = fields.get(p)?.trim_matches('"').parse().ok()?;
                if p == 0 {
                    return None;
                }
                if max_rank.is_some_and(|m| p > m) {
                    return Some(Entry::Beyond);
                }
                rating_of_position(p)
            }
            _ => return None,
        };
        Some(Entry::Rated(host, rating))
    }
}

/// The name a host's rating is stored under: the host itself when it is a registrable domain
/// or a domain's `www.` host, else `None` (a subdomain does not rate its domain).
fn rated_name(host: &str) -> Option<&str> {
    let domain = registrable_domain(host);
    (host == domain || host.strip_prefix("www.") == Some(domain)).then_some(host)
}

/// Import a list read from `input` into `store`. The meta key [`RANKS_IMPORTED`] is set with
/// the last batch, so `rank` starts using imported ratings once an import has finished.
pub fn import(store: &Store, input: impl BufRead, opts: &Options) -> Result<Summary, RanksError> {
    let mut cols = Columns::for_format(opts);
    let mut sum = Summary::default();
    let mut w = WriteBatch::new();
    let mut header_seen = false;
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        let line = line.trim_end_matches('\r');
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let is_header = match opts.format {
            RankSource::CcWebgraph => trimmed.starts_with('#'),
            RankSource::Csv => !header_seen,
            RankSource::Tranco => false,
        };
        if is_header {
            if !header_seen {
                cols.header(trimmed, opts)?;
                header_seen = true;
            }
            continue;
        }
        sum.lines += 1;
        match cols.entry(trimmed, opts.max_rank) {
            Some(Entry::Rated(host, rating)) => match rated_name(&host) {
                Some(name) => {
                    w.put_rating(RatingKind::Imported(opts.format), name, opts.day, rating);
                    sum.imported += 1;
                }
                None => sum.subdomains += 1,
            },
            Some(Entry::Beyond) => sum.beyond_max_rank += 1,
            None => {
                sum.bad += 1;
                if sum.first_bad.is_none() {
                    let shown: String = trimmed.chars().take(120).collect();
                    sum.first_bad = Some(format!("line {}: {shown}", n + 1));
                }
            }
        }
        if w.len() >= BATCH {
            store.apply(std::mem::take(&mut w))?;
        }
    }
    if sum.imported == 0 && sum.bad > 0 {
        return Err(RanksError::NotThisFormat {
            format: opts.format.name(),
            bad: sum.bad,
            first: sum.first_bad.clone().unwrap_or_default(),
        });
    }
    w.put_meta(
        RANKS_IMPORTED,
        &format!(
            "{} {} ({} ratings, day {})",
            opts.format.name(),
            opts.name,
            sum.imported,
            opts.day
        ),
    );
    store.apply(w)?;
    store.flush()?;
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(format: RankSource) -> Options {
        Options {
            format,
            by: By::Harmonic,
            max_rank: None,
            day: 86_400,
            name: "test".into(),
        }
    }

    #[test]
    fn positions_map_to_ratings_monotonically_with_the_documented_points() {
        let points = [
            (1, 100),
            (10, 88),
            (100, 75),
            (1_000, 63),
            (10_000, 50),
            (100_000, 38),
            (1_000_000, 25),
            (100_000_000, 0),
            (5_000_000_000, 0),
        ];
        for (p, r) in points {
            assert_eq!(rating_of_position(p), r, "position {p}");
        }
        let mut last = 101;
        for p in (1..2_000_000u64).step_by(997) {
            let r = rating_of_position(p) as u32;
            assert!(r <= last, "{p}");
            last = r;
        }
    }

    #[test]
    fn only_a_domains_apex_or_www_host_rates_it() {
        assert_eq!(rated_name("example.com"), Some("example.com"));
        assert_eq!(rated_name("www.example.co.uk"), Some("www.example.co.uk"));
        assert_eq!(rated_name("blog.example.com"), None);
        assert_eq!(rated_name("www.blog.example.com"), None);
    }

    #[test]
    fn lines_of_each_format_read_as_their_entries() {
        let cc = Columns::for_format(&opts(RankSource::CcWebgraph));
        let Some(Entry::Rated(h, r)) = cc.entry("3\t3.0E7\t1\t0.008\tcom.google\t120", None) else {
            panic!()
        };
        assert_eq!((h.as_str(), r), ("google.com", rating_of_position(3)));
        let mut pr = Columns::for_format(&Options {
            by: By::Pagerank,
            ..opts(RankSource::CcWebgraph)
        });
        pr.header(
            "#harmonicc_pos\t#harmonicc_val\t#pr_pos\t#pr_val\t#host_rev",
            &Options {
                by: By::Pagerank,
                ..opts(RankSource::CcWebgraph)
            },
        )
        .unwrap();
        let Some(Entry::Rated(_, r)) = pr.entry("3\t3.0E7\t1000\t0.008\tcom.google", None) else {
            panic!()
        };
        assert_eq!(r, rating_of_position(1000));
        let t = Columns::for_format(&opts(RankSource::Tranco));
        assert!(
            matches!(t.entry("7,Example.COM", None), Some(Entry::Rated(h, _)) if h == "example.com")
        );
        assert!(matches!(
            t.entry("700,example.com", Some(10)),
            Some(Entry::Beyond)
        ));
        assert!(t.entry("x,example.com", None).is_none());
        assert!(t.entry("0,example.com", None).is_none());
        assert!(t.entry("5", None).is_none());
        let mut c = Columns::for_format(&opts(RankSource::Csv));
        c.header("Domain,DR", &opts(RankSource::Csv)).unwrap();
        assert!(
            matches!(c.entry("\"a.test\",41", None), Some(Entry::Rated(h, 41)) if h == "a.test")
        );
        assert!(c.entry("a.test,101", None).is_none());
        assert!(c.entry("a.test,", None).is_none());
        assert!(matches!(
            Columns::for_format(&opts(RankSource::Csv))
                .header("site,score", &opts(RankSource::Csv)),
            Err(RanksError::CsvHeader(_))
        ));
    }
}
