//! Wire formats: JSON, XML (`AhrefsApiResponse`), PHP `serialize()`, and for the CLI CSV,
//! NDJSON and a plain table. Every format renders the same JSON value tree, so they agree.

use linkdiff_query::{QueryResult, Table, Value};

/// The JSON root / XML sub-table element of a table, as the Ahrefs v2 API named it.
pub fn root(t: Table) -> &'static str {
    match t {
        Table::Backlinks | Table::OnePerDomain | Table::BrokenBacklinks | Table::NewLost => {
            "refpages"
        }
        Table::Counters | Table::RefdomainsCounters => "counts",
        Table::Anchors => "anchors",
        Table::Refdomains | Table::RefdomainsNewLost => "refdomains",
        Table::Metrics | Table::MetricsExtended => "metrics",
        Table::AhrefsRank | Table::PagesExtended => "pages",
    }
}
use serde_json::{json, Map, Value as J};
use std::fmt::Write;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON (API default).
    Json,
    /// XML.
    Xml,
    /// PHP serialize().
    Php,
    /// CSV with a header row (CLI).
    Csv,
    /// One JSON object per row (CLI).
    Ndjson,
    /// Aligned columns (CLI default on a terminal).
    Table,
}

impl Format {
    /// The API's `output` values: json, xml, php.
    pub fn for_api(s: &str) -> Result<Format, String> {
        match s {
            "json" => Ok(Format::Json),
            "xml" => Ok(Format::Xml),
            "php" => Ok(Format::Php),
            _ => Err(format!("Unknown output '{s}' (use json, xml or php)")),
        }
    }

    /// The CLI's `--output` values: the API's plus table, csv and ndjson.
    pub fn for_cli(s: &str) -> Result<Format, String> {
        match s {
            "csv" => Ok(Format::Csv),
            "ndjson" => Ok(Format::Ndjson),
            "table" => Ok(Format::Table),
            _ => Format::for_api(s).map_err(|_| {
                format!("Unknown output '{s}' (use table, json, xml, csv, ndjson or php)")
            }),
        }
    }

    /// HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json | Format::Ndjson => "application/json",
            Format::Xml => "application/xml; charset=utf-8",
            _ => "text/plain; charset=utf-8",
        }
    }
}

fn cell(v: &Value) -> J {
    match v {
        Value::Int(i) => J::from(*i),
        Value::Bool(b) => J::from(*b),
        Value::Str(_) | Value::Time(_) | Value::Date(_) => J::from(v.text()),
    }
}

/// The JSON tree of a query result: `{root: [rows]}` (+ `stats` for anchors and refdomains).
pub fn tree(r: &QueryResult) -> J {
    let rows: Vec<J> = r
        .rows
        .iter()
        .map(|row| {
            let mut m = Map::new();
            for (c, v) in r.columns.iter().zip(row) {
                m.insert(c.name.to_string(), cell(v));
            }
            J::Object(m)
        })
        .collect();
    let mut top = Map::new();
    // `metrics` answers one object, not a list.
    let value = match (r.table, rows.len()) {
        (Table::Metrics | Table::MetricsExtended, 1) => rows.into_iter().next().unwrap_or_default(),
        (Table::Metrics | Table::MetricsExtended, _) => J::Object(Map::new()),
        _ => J::Array(rows),
    };
    top.insert(root(r.table).to_string(), value);
    if !r.stats.is_empty() {
        let stats: Map<String, J> = r
            .stats
            .iter()
            .map(|(k, v)| (k.to_string(), J::from(*v)))
            .collect();
        top.insert("stats".into(), J::Object(stats));
    }
    J::Object(top)
}

/// `serde_json::to_string(&tree(r))`, written straight from the rows: no map per row, no
/// owned column names (the JSON tree cost ~10 % of a cheap request's CPU on `serve`).
/// Byte-identical to the tree's rendering (tested below).
pub fn json(r: &QueryResult) -> String {
    let mut out = Vec::with_capacity(64 + r.rows.len() * r.columns.len() * 24);
    let s = json_str;
    // `"name":` of each column, escaped once per answer rather than once per cell.
    let keys: Vec<Vec<u8>> = r
        .columns
        .iter()
        .map(|c| {
            let mut k = Vec::with_capacity(c.name.len() + 3);
            s(&mut k, c.name);
            k.push(b':');
            k
        })
        .collect();
    let row = |out: &mut Vec<u8>, row: &[Value]| {
        out.push(b'{');
        for (i, (key, v)) in keys.iter().zip(row).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            match v {
                Value::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
                Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
                Value::Str(t) => s(out, t),
                Value::Time(Some(t)) => match linkdiff_query::time::iso_digits(*t) {
                    Some(digits) => {
                        out.push(b'"');
                        out.extend_from_slice(&digits);
                        out.push(b'"');
                    }
                    None => s(out, &v.text()),
                },
                Value::Time(None) | Value::Date(_) => s(out, &v.text()),
            }
        }
        out.push(b'}');
    };
    out.push(b'{');
    s(&mut out, root(r.table));
    out.push(b':');
    match (r.table, r.rows.len()) {
        (Table::Metrics | Table::MetricsExtended, 1) => row(&mut out, &r.rows[0]),
        (Table::Metrics | Table::MetricsExtended, _) => out.extend_from_slice(b"{}"),
        _ => {
            out.push(b'[');
            for (i, r) in r.rows.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                row(&mut out, r);
            }
            out.push(b']');
        }
    }
    if !r.stats.is_empty() {
        out.extend_from_slice(b",\"stats\":{");
        for (i, (k, v)) in r.stats.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            s(&mut out, k);
            out.push(b':');
            out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes());
        }
        out.push(b'}');
    }
    out.push(b'}');
    String::from_utf8(out).expect("JSON of UTF-8 strings is UTF-8")
}

/// Append `s` as a JSON string, escaped exactly as serde_json escapes it: one copy when no
/// byte needs escaping (found eight bytes at a time), byte by byte from the first that does
/// (serde_json's table walk over every byte was 12 % of a cheap request's instructions).
fn json_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let first = first_special(bytes);
    out.extend_from_slice(&bytes[..first]);
    let mut start = first; // bytes[start..j] are plain and not yet copied
    for (j, &c) in bytes.iter().enumerate().skip(first) {
        let short = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0c => b'f',
            0..=0x1f => b'u',
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..j]);
        out.push(b'\\');
        out.push(short);
        if short == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 15)],
            ]);
        }
        start = j + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Index of the first byte below 0x20, `"` or `\` (`bytes.len()` when none).
fn first_special(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let is_special = |c: u8| c < 0x20 || c == b'"' || c == b'\\';
    let mut chunks = bytes.chunks_exact(8);
    for (k, chunk) in chunks.by_ref().enumerate() {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        // Exact for "any byte is special" (the classic has-zero-byte tests).
        let below = w.wrapping_sub(ONES * 0x20) & !w;
        let q = w ^ (ONES * u64::from(b'"'));
        let b = w ^ (ONES * u64::from(b'\\'));
        if (below | (q.wrapping_sub(ONES) & !q) | (b.wrapping_sub(ONES) & !b)) & HIGH != 0 {
            let at = k * 8;
            return at
                + chunk
                    .iter()
                    .position(|&c| is_special(c))
                    .expect("a special byte");
        }
    }
    let tail = bytes.len() - chunks.remainder().len();
    tail + chunks
        .remainder()
        .iter()
        .position(|&c| is_special(c))
        .unwrap_or(chunks.remainder().len())
}

/// An error tree.
pub fn error_tree(msg: &str) -> J {
    json!({ "error": msg })
}

/// Render a tree in an API format.
pub fn render(t: &J, f: Format) -> String {
    match f {
        Format::Xml => xml(t),
        Format::Php => {
            let mut s = String::new();
            php(t, &mut s);
            s
        }
        Format::Json => serde_json::to_string(t).expect("JSON values serialize"),
        Format::Ndjson | Format::Csv | Format::Table => rows_format(t, f),
    }
}

fn singular(name: &str) -> String {
    match name {
        "refpages" => "refpage".into(),
        "pages" => "page".into(),
        "counts" => "count".into(),
        "anchors" => "anchor".into(),
        n => n.strip_suffix('s').unwrap_or(n).to_string(),
    }
}

fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

fn xml_value(name: &str, v: &J, out: &mut String) {
    match v {
        J::Array(items) => {
            let _ = write!(out, "<{name}>");
            let row = singular(name);
            for it in items {
                xml_value(&row, it, out);
            }
            let _ = write!(out, "</{name}>");
        }
        J::Object(m) => {
            let _ = write!(out, "<{name}>");
            for (k, v) in m {
                xml_value(k, v, out);
            }
            let _ = write!(out, "</{name}>");
        }
        J::String(s) => {
            let _ = write!(out, "<{name}>{}</{name}>", esc(s));
        }
        J::Null => {
            let _ = write!(out, "<{name}/>");
        }
        other => {
            let _ = write!(out, "<{name}>{other}</{name}>");
        }
    }
}

fn xml(t: &J) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    out.push_str("<AhrefsApiResponse>");
    if let J::Object(m) = t {
        for (k, v) in m {
            xml_value(k, v, &mut out);
        }
    }
    out.push_str("</AhrefsApiResponse>");
    out
}

fn php_str(s: &str, out: &mut String) {
    let _ = write!(out, "s:{}:\"{}\";", s.len(), s);
}

fn php(v: &J, out: &mut String) {
    match v {
        J::Null => out.push_str("N;"),
        J::Bool(b) => {
            let _ = write!(out, "b:{};", *b as u8);
        }
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "i:{i};");
            } else {
                let _ = write!(out, "d:{};", n.as_f64().unwrap_or(0.0));
            }
        }
        J::String(s) => php_str(s, out),
        J::Array(items) => {
            let _ = write!(out, "a:{}:{{", items.len());
            for (i, it) in items.iter().enumerate() {
                let _ = write!(out, "i:{i};");
                php(it, out);
            }
            out.push('}');
        }
        J::Object(m) => {
            let _ = write!(out, "a:{}:{{", m.len());
            for (k, v) in m {
                php_str(k, out);
                php(v, out);
            }
            out.push('}');
        }
    }
}

fn plain(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        J::Null => String::new(),
        other => other.to_string(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV / NDJSON / table of the first array in the tree (errors print as their message).
fn rows_format(t: &J, f: Format) -> String {
    let Some(m) = t.as_object() else {
        return String::new();
    };
    let Some(rows) = m.values().find_map(|v| v.as_array()) else {
        return serde_json::to_string(t).unwrap_or_default() + "\n";
    };
    let cols: Vec<String> = match rows.first().and_then(|r| r.as_object()) {
        Some(r) => r.keys().cloned().collect(),
        None => Vec::new(),
    };
    let mut out = String::new();
    match f {
        Format::Ndjson => {
            for r in rows {
                out.push_str(&serde_json::to_string(r).unwrap_or_default());
                out.push('\n');
            }
        }
        Format::Csv => {
            out.push_str(
                &cols
                    .iter()
                    .map(|c| csv_field(c))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push('\n');
            for r in rows {
                let line: Vec<String> = cols.iter().map(|c| csv_field(&plain(&r[c]))).collect();
                out.push_str(&line.join(","));
                out.push('\n');
            }
        }
        _ => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| cols.iter().map(|c| truncate(&plain(&r[c]), 60)).collect())
                .collect();
            let widths: Vec<usize> = cols
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    cells
                        .iter()
                        .map(|r| r[i].chars().count())
                        .chain([c.len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |vals: &[String]| {
                vals.iter()
                    .zip(&widths)
                    .map(|(v, w)| format!("{v:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            out.push_str(&line(&cols));
            out.push('\n');
            for r in &cells {
                out.push_str(&line(r));
                out.push('\n');
            }
            if let Some(stats) = m.get("stats") {
                let _ = writeln!(out, "stats: {stats}");
            }
            let _ = writeln!(out, "({} rows)", rows.len());
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_uses_singular_row_elements_and_escapes() {
        let t = json!({"refpages": [{"url_from": "http://a/?x=1&y=<2>", "nofollow": true, "ahrefs_rank": 5}]});
        assert_eq!(
            render(&t, Format::Xml),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><AhrefsApiResponse><refpages><refpage><url_from>http://a/?x=1&amp;y=&lt;2&gt;</url_from><nofollow>true</nofollow><ahrefs_rank>5</ahrefs_rank></refpage></refpages></AhrefsApiResponse>"
        );
        assert_eq!(
            render(&error_tree("bad"), Format::Xml),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><AhrefsApiResponse><error>bad</error></AhrefsApiResponse>"
        );
    }

    #[test]
    fn php_serialize_matches_php() {
        let t = json!({"anchors": [{"anchor": "café", "backlinks": 2}], "stats": {"backlinks": 2, "refpages": 1}});
        assert_eq!(
            render(&t, Format::Php),
            "a:2:{s:7:\"anchors\";a:1:{i:0;a:2:{s:6:\"anchor\";s:5:\"café\";s:9:\"backlinks\";i:2;}}s:5:\"stats\";a:2:{s:9:\"backlinks\";i:2;s:8:\"refpages\";i:1;}}"
        );
    }

    /// A result of `table` with every column, cells made from `seed` by column type.
    fn result(table: Table, rows: usize, stats: Vec<(&'static str, u64)>) -> QueryResult {
        use linkdiff_query::ColType;
        let columns: Vec<_> = table.columns().iter().collect();
        let strings = [
            "",
            "plain",
            "quote \" back \\ slash",
            "ctl \u{1}\t\n\r",
            "日本 naïve ✓ \u{1F600}",
            "</script>&<>'",
        ];
        let rows = (0..rows)
            .map(|r| {
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match c.ty {
                        ColType::Int => Value::Int([0, -1, i64::MAX, i64::MIN, 42][(r + i) % 5]),
                        ColType::Bool => Value::Bool((r + i) % 2 == 0),
                        ColType::Str => Value::Str(strings[(r + i) % strings.len()].to_string()),
                        ColType::Time => Value::Time(
                            [None, Some(0), Some(1_793_491_200), Some(-86_400)][(r + i) % 4],
                        ),
                        ColType::Date => Value::Date(1_793_491_200 + 86_400 * r as i64),
                    })
                    .collect()
            })
            .collect();
        QueryResult {
            table,
            columns,
            rows,
            stats,
        }
    }

    #[test]
    fn json_written_from_rows_equals_the_trees_json() {
        use linkdiff_query::Table::*;
        for table in Table::ALL {
            for rows in [0, 1, 7] {
                let stats = match table {
                    Anchors => vec![("backlinks", 3), ("refpages", u64::MAX)],
                    Refdomains => vec![("refdomains", 0), ("ips", 1), ("class_c", 2)],
                    _ => vec![],
                };
                let r = result(table, rows, stats);
                let want = serde_json::to_string(&tree(&r)).expect("serializes");
                assert_eq!(json(&r), want, "{table:?} with {rows} rows");
            }
        }
    }

    #[test]
    fn json_strings_escape_as_serde_json_does() {
        let mut cases: Vec<String> = (0u8..0x80).map(|c| (c as char).to_string()).collect();
        for c in (0u8..0x80)
            .map(char::from)
            .chain(['é', '日', '\u{1F600}', '\u{7f}'])
        {
            for pre in 0..10 {
                for post in [0, 1, 7, 8, 9, 17] {
                    cases.push(format!("{}{c}{}", "a".repeat(pre), "z".repeat(post)));
                }
            }
        }
        cases.push(
            "\"\\\n\r\t\u{8}\u{c}\u{0}\u{1f} mixed ünïcödé \"quotes\" and 日本語 text long enough"
                .into(),
        );
        for c in cases {
            let mut got = Vec::new();
            json_str(&mut got, &c);
            assert_eq!(
                String::from_utf8(got).unwrap(),
                serde_json::to_string(&c).unwrap(),
                "{c:?}"
            );
        }
    }

    #[test]
    fn csv_quotes_and_table_aligns() {
        let t = json!({"refpages": [{"anchor": "a, \"b\"", "n": 1}]});
        assert_eq!(render(&t, Format::Csv), "anchor,n\n\"a, \"\"b\"\"\",1\n");
        assert!(render(&t, Format::Table).starts_with("anchor  n\na, \"b\"  1\n"));
    }
}
