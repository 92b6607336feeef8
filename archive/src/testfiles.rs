//! Writing WARC and WAT records, for tests and benchmarks that need archive files with known
//! contents (the reader's own tests, the import tests, `linkdiff bench import`).

use std::io::Write;

/// One WARC/1.0 record of `warc_type` for `uri` at `date` (RFC 3339) with `block`.
pub fn record(warc_type: &str, uri: &str, date: &str, block: &[u8]) -> Vec<u8> {
    record_with(warc_type, uri, date, block, &[])
}

/// [`record`] with extra headers (e.g. `Content-Type`, `WARC-IP-Address`).
pub fn record_with(
    warc_type: &str,
    uri: &str,
    date: &str,
    block: &[u8],
    extra: &[(&str, &str)],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len() + 300);
    let _ = write!(
        out,
        "WARC/1.0\r\nWARC-Type: {warc_type}\r\nWARC-Target-URI: {uri}\r\nWARC-Date: {date}\r\n"
    );
    if !extra
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("WARC-Record-ID"))
    {
        // Unique as real archives' UUIDs are: a hash of the record's contents.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in [warc_type.as_bytes(), uri.as_bytes(), date.as_bytes(), block].concat() {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        let _ = write!(out, "WARC-Record-ID: <urn:test:{h:016x}>\r\n");
    }
    for (k, v) in extra {
        let _ = write!(out, "{k}: {v}\r\n");
    }
    let _ = write!(out, "Content-Length: {}\r\n\r\n", block.len());
    out.extend_from_slice(block);
    out.extend_from_slice(b"\r\n\r\n");
    out
}

/// A `response` record holding the HTTP response `status` with `headers` and `body`.
pub fn response(
    uri: &str,
    date: &str,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut http = format!("HTTP/1.1 {status} X\r\n").into_bytes();
    for (k, v) in headers {
        let _ = write!(http, "{k}: {v}\r\n");
    }
    http.extend_from_slice(b"\r\n");
    http.extend_from_slice(body);
    record_with(
        "response",
        uri,
        date,
        &http,
        &[
            ("Content-Type", "application/http; msgtype=response"),
            ("WARC-IP-Address", "192.0.2.1"),
        ],
    )
}

/// `bytes` as one gzip member (Common Crawl compresses each record as its own member).
pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}

/// A WAT `metadata` record for a capture of `uri` at `date` with HTTP `status`, the
/// `Head` object (title, metas, links) and the `Links` list, as Common Crawl writes them.
pub fn wat(
    uri: &str,
    date: &str,
    status: u16,
    headers: serde_json::Value,
    head: serde_json::Value,
    links: serde_json::Value,
) -> Vec<u8> {
    let doc = serde_json::json!({
        "Container": {"Filename": "test.warc.gz", "Compressed": true},
        "Envelope": {
            "Format": "WARC",
            "WARC-Header-Metadata": {
                "WARC-Type": "response",
                "WARC-Date": date,
                "WARC-Target-URI": uri,
                "WARC-IP-Address": "192.0.2.7"
            },
            "Payload-Metadata": {
                "Actual-Content-Type": "application/http; msgtype=response",
                "HTTP-Response-Metadata": {
                    "Response-Message": {"Version": "HTTP/1.1", "Status": status.to_string(), "Reason": "X"},
                    "Headers": headers,
                    "HTML-Metadata": {"Head": head, "Links": links}
                }
            }
        }
    });
    record_with(
        "metadata",
        uri,
        date,
        doc.to_string().as_bytes(),
        &[("Content-Type", "application/json")],
    )
}
