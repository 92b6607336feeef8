//! One WARC record → one capture of a page (URL, time, what the fetch found), or why not.

use crate::http::{parse_response, HttpError};
use crate::warc::Record;
use crate::wat::{self, WatError};
use linkdiff_model::Outcome;

/// A page as an archive captured it: the visit it becomes.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The page, normalised as the crawler normalises URLs.
    pub url: String,
    /// `WARC-Date`, Unix seconds.
    pub time: i64,
    /// What the capture found.
    pub outcome: Outcome,
}

/// Why a record is not a capture. Counted by kind in the import summary; never fatal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    /// Not a page capture: `warcinfo`, `request`, `metadata` that is not WAT, `resource`, …
    #[error("not a capture ({0})")]
    Other(String),
    /// A `revisit` record: the archive deduplicated the payload, so there is no page to read.
    #[error("revisit record (no payload)")]
    Revisit,
    /// The target is not an http(s) URL (`dns:`, `ftp:`, …) or does not parse.
    #[error("target URI {0:?} is not an http(s) URL")]
    Uri(String),
    /// `WARC-Date` missing or not RFC 3339.
    #[error("bad WARC-Date {0:?}")]
    Date(String),
    /// The HTTP response does not parse.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The WAT JSON does not parse.
    #[error(transparent)]
    Wat(WatError),
}

impl Skip {
    /// Short name counted in the summary.
    pub fn kind(&self) -> &'static str {
        match self {
            Skip::Other(_) => "other",
            Skip::Revisit => "revisit",
            Skip::Uri(_) => "not_http",
            Skip::Date(_) => "bad_date",
            Skip::Http(_) => "bad_http",
            Skip::Wat(WatError::NotResponse) => "other",
            Skip::Wat(_) => "bad_wat",
        }
    }
}

fn parse_url(uri: &str) -> Result<url::Url, Skip> {
    match linkdiff_crawler::normalize::parse_absolute(uri) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(u),
        _ => Err(Skip::Uri(uri.chars().take(200).collect())),
    }
}

fn parse_date(date: &str) -> Result<i64, Skip> {
    chrono::DateTime::parse_from_rfc3339(date.trim())
        .map(|d| d.timestamp())
        .map_err(|_| Skip::Date(date.chars().take(60).collect()))
}

/// The record's target host, lowercase, without parsing the block (for `--from-domains`).
pub fn target_host(record: &Record) -> Option<String> {
    let uri = record.header("WARC-Target-URI")?;
    url::Url::parse(uri).ok()?.host_str().map(str::to_string)
}

/// Turn a record into a capture: `response` records through the HTTP parser and the
/// extractor (bodies capped at `cap` bytes), WAT `metadata` records through their JSON.
pub fn capture(record: &Record, cap: usize) -> Result<Capture, Skip> {
    let kind = record
        .header("WARC-Type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let content_type = record
        .header("Content-Type")
        .unwrap_or("")
        .to_ascii_lowercase();
    match kind.as_str() {
        "response" if content_type.starts_with("application/http") || content_type.is_empty() => {
            let uri = record.header("WARC-Target-URI").unwrap_or("");
            let url = parse_url(uri)?;
            let time = parse_date(record.header("WARC-Date").unwrap_or(""))?;
            let ip = record.header("WARC-IP-Address").unwrap_or("");
            let fetched = parse_response(&record.block, cap, record.truncated, ip)?;
            let outcome = crate::outcome_or_failed(&url, &fetched);
            Ok(Capture {
                url: url.to_string(),
                time,
                outcome,
            })
        }
        "metadata" if content_type.starts_with("application/json") => {
            let c = wat::parse(&record.block).map_err(Skip::Wat)?;
            let url = parse_url(&c.uri)?;
            let time = parse_date(&c.date)?;
            Ok(Capture {
                url: url.to_string(),
                time,
                outcome: c.outcome(&url),
            })
        }
        "revisit" => Err(Skip::Revisit),
        other => Err(Skip::Other(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testfiles;
    use crate::warc::{Item, WarcReader};

    fn read(bytes: &[u8]) -> Record {
        match WarcReader::new(bytes, 1 << 20).unwrap().next_item() {
            Some(Item::Record(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_response_record_is_a_visit_with_the_extractors_links() {
        let rec = read(&testfiles::response(
            "http://Src.test:80/a",
            "2024-02-03T04:05:06Z",
            200,
            &[("Content-Type", "text/html; charset=utf-8")],
            b"<title>T</title><p>see <a href='http://t.test/x' rel=ugc>there</a> now",
        ));
        let c = capture(&rec, 1 << 20).unwrap();
        assert_eq!(c.url, "http://src.test/a");
        assert_eq!(c.time, 1_706_933_106);
        let Outcome::Fetched { meta, links } = c.outcome else {
            panic!()
        };
        assert_eq!((meta.title.as_str(), meta.ip.as_str()), ("T", "192.0.2.1"));
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].url_to, "http://t.test/x");
        assert_eq!(links[0].anchor, "there");
        assert_eq!(links[0].text_pre, "see");
        assert!(links[0].nofollow);
    }

    #[test]
    fn records_that_are_not_page_captures_are_skipped_by_kind() {
        let info = read(&testfiles::record(
            "warcinfo",
            "",
            "2024-01-01T00:00:00Z",
            b"x",
        ));
        assert_eq!(capture(&info, 100).unwrap_err().kind(), "other");
        let dns = read(&testfiles::response(
            "dns:a.test",
            "2024-01-01T00:00:00Z",
            200,
            &[],
            b"",
        ));
        assert_eq!(capture(&dns, 100).unwrap_err().kind(), "not_http");
        let undated = read(&testfiles::response(
            "http://a.test/",
            "yesterday",
            200,
            &[],
            b"",
        ));
        assert_eq!(capture(&undated, 100).unwrap_err().kind(), "bad_date");
        let revisit = read(&testfiles::record(
            "revisit",
            "http://a.test/",
            "2024-01-01T00:00:00Z",
            b"",
        ));
        assert_eq!(capture(&revisit, 100).unwrap_err(), Skip::Revisit);
        let ftp = read(&testfiles::record_with(
            "metadata",
            "http://a.test/",
            "2024-01-01T00:00:00Z",
            b"{]",
            &[("Content-Type", "application/json")],
        ));
        assert_eq!(capture(&ftp, 100).unwrap_err().kind(), "bad_wat");
    }
}
