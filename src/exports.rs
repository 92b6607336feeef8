//! Backlink exports users already have, read for `watch import`: linkdiff's own CSV
//! (`url_from,url_to[,anchor[,note]]`) and the backlink exports of Ahrefs, Semrush and
//! Majestic.
//!
//! The file's encoding comes from its byte order mark (Ahrefs writes UTF-16 little-endian
//! with a BOM and tabs; "UTF-8" exports may carry a UTF-8 BOM), its separator from the header
//! line (a tab or a comma), its format from the header's column names, compared with spaces,
//! underscores and case ignored:
//!
//! | format | referring page | target | anchor |
//! |---|---|---|---|
//! | Ahrefs (Site Explorer → Backlinks export) | `Referring page URL` | `Target URL` (older exports: `Link URL`) | `Anchor` (older: `Link Anchor`) |
//! | Semrush (Backlink Analytics → Backlinks export) | `Source url` | `Target url` | `Anchor` |
//! | Majestic (Backlinks download; API `GetBackLinkData`) | `Source URL` / `SourceURL` | `Target URL` / `TargetURL` | `Anchor Text` / `AnchorText` |
//! | linkdiff | `url_from` (or no header) | `url_to` | `anchor`, then `note` |
//!
//! Semrush and Majestic both say "source url": Majestic's anchor column is `Anchor Text`,
//! Semrush's `Anchor`, and Semrush's export has `Page ascore` / `Source title`.

use std::fmt;

/// Which tool wrote an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// linkdiff's own `url_from,url_to[,anchor[,note]]`.
    Linkdiff,
    /// Ahrefs' backlinks export.
    Ahrefs,
    /// Semrush's backlinks export.
    Semrush,
    /// Majestic's backlinks download.
    Majestic,
}

impl Format {
    /// The `--format` name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Linkdiff => "linkdiff",
            Format::Ahrefs => "ahrefs",
            Format::Semrush => "semrush",
            Format::Majestic => "majestic",
        }
    }

    /// The accepted header names (normalised) of the referring page, target and anchor.
    fn columns(self) -> [&'static [&'static str]; 3] {
        match self {
            Format::Linkdiff => [&["urlfrom"], &["urlto"], &["anchor"]],
            Format::Ahrefs => [
                &["referringpageurl"],
                &["targeturl", "linkurl"],
                &["anchor", "linkanchor"],
            ],
            Format::Semrush => [&["sourceurl"], &["targeturl"], &["anchor"]],
            Format::Majestic => [&["sourceurl"], &["targeturl"], &["anchortext"]],
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "linkdiff" => Format::Linkdiff,
            "ahrefs" => Format::Ahrefs,
            "semrush" => Format::Semrush,
            "majestic" => Format::Majestic,
            _ => {
                return Err(format!(
                    "unknown format '{s}' (use auto, linkdiff, ahrefs, semrush or majestic)"
                ))
            }
        })
    }
}

/// One backlink of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line of the file where the row starts.
    pub line: u64,
    /// The referring page, as written.
    pub url_from: String,
    /// The page linked to, as written.
    pub url_to: String,
    /// The anchor, when the export has one and it is not empty.
    pub anchor: Option<String>,
    /// linkdiff's own `note` column.
    pub note: Option<String>,
}

/// Why an export cannot be read. Nothing is imported from a file with any of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportError {
    /// Not UTF-8, nor UTF-16 with a byte order mark.
    Encoding,
    /// `--format auto` and the header names no known export.
    UnknownHeader(String),
    /// The header lacks a column the format needs.
    MissingColumn {
        /// The format asked for or detected.
        format: Format,
        /// What the column holds (`referring page`, `target`).
        what: &'static str,
        /// The names accepted for it.
        names: &'static [&'static str],
    },
    /// A row without a referring page or a target, or not CSV.
    BadRow {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        detail: String,
    },
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Encoding => {
                write!(f, "not UTF-8 text, nor UTF-16 with a byte order mark")
            }
            ExportError::UnknownHeader(h) => write!(
                f,
                "the header row ({h}) is not a linkdiff, Ahrefs, Semrush or Majestic backlinks export; give --format"
            ),
            ExportError::MissingColumn { format, what, names } => write!(
                f,
                "no {what} column for a {} export (expected one of: {})",
                format.name(),
                names.join(", ")
            ),
            ExportError::BadRow { line, detail } => write!(f, "line {line}: {detail}"),
        }
    }
}

impl std::error::Error for ExportError {}

/// Text of an export: UTF-16 (LE or BE) by its BOM, else UTF-8 (a BOM dropped).
pub fn decode(bytes: &[u8]) -> Result<String, ExportError> {
    let (enc, bom) = encoding_rs::Encoding::for_bom(bytes).unwrap_or((encoding_rs::UTF_8, 0));
    let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom..]);
    if had_errors {
        return Err(ExportError::Encoding);
    }
    Ok(text.into_owned())
}

/// A header cell compared by letters and digits only, lowercased (`Referring page URL` →
/// `referringpageurl`).
fn norm(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The format a header names.
fn detect(header: &[String]) -> Option<Format> {
    let has = |n: &str| header.iter().any(|h| h == n);
    if has("referringpageurl") {
        Some(Format::Ahrefs)
    } else if has("sourceurl") && has("anchortext") {
        Some(Format::Majestic)
    } else if has("sourceurl") {
        Some(Format::Semrush)
    } else if has("urlfrom") {
        Some(Format::Linkdiff)
    } else {
        None
    }
}

/// Read an export's rows. `format` `None` detects it from the header; a linkdiff file may
/// have no header. Rows with no cell at all are skipped; any other row needs a referring page
/// and a target, or the whole file is refused with the row's line.
pub fn read(text: &str, format: Option<Format>) -> Result<(Format, Vec<Row>), ExportError> {
    let first = text.lines().next().unwrap_or("");
    let sep = if first.matches('\t').count() > first.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(sep)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = rdr.records();
    let bad = |line: u64, e: csv::Error| ExportError::BadRow {
        line,
        detail: e.to_string(),
    };
    let mut pending = None;
    let (format, cols) = match records.next() {
        None => return Ok((format.unwrap_or(Format::Linkdiff), Vec::new())),
        Some(rec) => {
            let rec = rec.map_err(|e| bad(1, e))?;
            let header: Vec<String> = rec.iter().map(norm).collect();
            let looks_like_url = rec.get(0).is_some_and(|c| c.contains("://"));
            let format = match format.or_else(|| detect(&header)) {
                Some(f) => f,
                None if looks_like_url => Format::Linkdiff,
                None => {
                    return Err(ExportError::UnknownHeader(
                        rec.iter().collect::<Vec<_>>().join(", "),
                    ))
                }
            };
            if format == Format::Linkdiff && looks_like_url {
                // No header: the columns are in order, and this is the first row.
                pending = Some(rec);
                (format, [Some(0), Some(1), Some(2), Some(3)])
            } else {
                let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
                let [from, to, anchor] = format.columns();
                let col = |names: &'static [&'static str], what| {
                    find(names).ok_or(ExportError::MissingColumn {
                        format,
                        what,
                        names,
                    })
                };
                let note = (format == Format::Linkdiff)
                    .then(|| find(&["note"]))
                    .flatten();
                (
                    format,
                    [
                        Some(col(from, "referring page")?),
                        Some(col(to, "target")?),
                        find(anchor),
                        note,
                    ],
                )
            }
        }
    };
    // Lines counted from byte offsets (the csv reader does not count blank lines), going
    // forward only: one pass over the text in all.
    let (mut at_byte, mut at_line) = (0usize, 1u64);
    let mut line_of = |byte: u64| -> u64 {
        // A record's position can be the end of the one before: skip the line ends.
        let mut byte = (byte as usize).min(text.len());
        while matches!(text.as_bytes().get(byte), Some(b'\n' | b'\r')) {
            byte += 1;
        }
        if byte >= at_byte {
            at_line += text.as_bytes()[at_byte..byte]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            at_byte = byte;
        }
        at_line
    };
    let mut rows = Vec::new();
    let mut push = |rec: csv::StringRecord| -> Result<(), ExportError> {
        let line = rec.position().map_or(0, |p| line_of(p.byte()));
        let cell = |i: Option<usize>| {
            i.and_then(|i| rec.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        if rec.iter().all(|c| c.trim().is_empty()) {
            return Ok(());
        }
        let (Some(url_from), Some(url_to)) = (cell(cols[0]), cell(cols[1])) else {
            return Err(ExportError::BadRow {
                line,
                detail: "a row needs a referring page and a target".into(),
            });
        };
        rows.push(Row {
            line,
            url_from,
            url_to,
            anchor: cell(cols[2]),
            note: cell(cols[3]),
        });
        Ok(())
    };
    if let Some(rec) = pending {
        push(rec)?;
    }
    for rec in records {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            bad(line, e)
        })?;
        // (a CSV error's line is the reader's count, close enough for a broken file)
        push(rec)?;
    }
    Ok((format, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str) -> Vec<u8> {
        let mut b = vec![0xFF, 0xFE];
        for u in s.encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        b
    }

    #[test]
    fn an_ahrefs_export_in_utf16_with_tabs_is_read_by_its_column_names() {
        let text = "\"Referring page title\"\t\"Referring page URL\"\t\"Domain rating\"\t\"Target URL\"\t\"Left context\"\t\"Anchor\"\n\
                    \"Über uns\"\t\"https://blog.example.de/über\"\t\"41\"\t\"https://shop.test/\"\t\"see\"\t\"Shop – ünique\"\n";
        let (f, rows) = read(&decode(&utf16le(text)).unwrap(), None).unwrap();
        assert_eq!(f, Format::Ahrefs);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].url_from, "https://blog.example.de/über");
        assert_eq!(rows[0].url_to, "https://shop.test/");
        assert_eq!(rows[0].anchor.as_deref(), Some("Shop – ünique"));
        assert_eq!(rows[0].line, 2);
    }

    #[test]
    fn semrush_and_majestic_are_told_apart_by_their_anchor_column() {
        let semrush = "Page ascore,Source title,Source url,Target url,Anchor,External links\n\
                       12,T,http://a.test/p,http://b.test/,\"click, here\",3\n";
        let (f, rows) = read(semrush, None).unwrap();
        assert_eq!(f, Format::Semrush);
        assert_eq!(rows[0].anchor.as_deref(), Some("click, here"));
        let majestic = "\u{feff}Source URL,Anchor Text,Source Crawl Date,FlagNoFollow,Target URL\n\
                        http://m.test/x,majestic anchor,2026-11-01,-,http://b.test/y\n";
        let (f, rows) = read(&decode(majestic.as_bytes()).unwrap(), None).unwrap();
        assert_eq!(f, Format::Majestic);
        assert_eq!(
            (rows[0].url_from.as_str(), rows[0].url_to.as_str()),
            ("http://m.test/x", "http://b.test/y")
        );
        let api = "SourceURL,ACRank,AnchorText,TargetURL\nhttp://m.test/x,3,a,http://b.test/\n";
        assert_eq!(read(api, None).unwrap().0, Format::Majestic);
    }

    #[test]
    fn linkdiff_files_with_and_without_a_header() {
        let (f, rows) = read(
            "url_from,url_to,anchor,note\nhttp://a/,http://b/,x,n1\n",
            None,
        )
        .unwrap();
        assert_eq!(f, Format::Linkdiff);
        assert_eq!(rows[0].note.as_deref(), Some("n1"));
        let (_, rows) = read(
            "http://a/,http://b/,\"anchor, with comma\",\"say \"\"hi\"\"\"\n\nhttp://c/,http://d/,y\n",
            None,
        )
        .unwrap();
        assert_eq!(rows[0].anchor.as_deref(), Some("anchor, with comma"));
        assert_eq!(rows[0].note.as_deref(), Some("say \"hi\""));
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[1].line, rows[1].anchor.as_deref()), (3, Some("y")));
    }

    #[test]
    fn bad_input_is_named() {
        assert_eq!(
            read("Page,Link\nhttp://a/,http://b/\n", None).unwrap_err(),
            ExportError::UnknownHeader("Page, Link".into())
        );
        let e = read("Referring page URL,Anchor\nhttp://a/,x\n", None).unwrap_err();
        assert!(
            e.to_string()
                .contains("no target column for a ahrefs export"),
            "{e}"
        );
        let e = read("Source url,Target url,Anchor\nhttp://a/,,x\n", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: a row needs a referring page and a target"
        );
        // An explicit format must find its columns.
        let e = read(
            "url_from,url_to\nhttp://a/,http://b/\n",
            Some(Format::Semrush),
        )
        .unwrap_err();
        assert!(matches!(e, ExportError::MissingColumn { .. }), "{e}");
        assert_eq!(
            decode(&[0x66, 0xFF, 0x67]).unwrap_err(),
            ExportError::Encoding
        );
    }
}
