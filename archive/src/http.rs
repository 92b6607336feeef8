//! The HTTP response inside a WARC `response` record: status, headers, and the body as the
//! crawler would have received it (chunked transfer undone, gzip/deflate/br decoded).
//!
//! Archivers differ: wget and browsertrix store the bytes as sent (chunked, compressed);
//! Common Crawl stores the payload decoded and renames the headers that said otherwise
//! (`X-Crawler-Content-Encoding`), so both read the same here.

use linkdiff_crawler::fetch::Fetched;
use std::io::Read;

/// Why a response record gives no page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The status line or headers do not parse.
    #[error("bad HTTP response: {0}")]
    Malformed(String),
    /// A `Content-Encoding` this reader does not decode.
    #[error("unsupported Content-Encoding {0:?}")]
    Encoding(String),
}

/// Most headers read from one response.
const MAX_HEADERS: usize = 256;

/// Parse the HTTP response in `block` into what a fetch would have returned: the crawler's
/// kept headers, the decoded body (at most `cap` bytes), the connected address `ip`.
/// `block_truncated` says the record's block was already cut.
pub fn parse_response(
    block: &[u8],
    cap: usize,
    block_truncated: bool,
    ip: &str,
) -> Result<Fetched, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let parsed = httparse::ParserConfig::default()
        .allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .ignore_invalid_headers_in_responses(true)
        .parse_response(&mut resp, block)
        .map_err(|e| HttpError::Malformed(e.to_string()))?;
    let head_len = match parsed {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Err(HttpError::Malformed("incomplete headers".into())),
    };
    let status = resp
        .code
        .ok_or_else(|| HttpError::Malformed("no status".into()))?;
    let all: Vec<(&str, &str)> = resp
        .headers
        .iter()
        .filter_map(|h| Some((h.name, std::str::from_utf8(h.value).ok()?)))
        .collect();
    let header = |name: &str| {
        all.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut body = &block[head_len..];
    let dechunked;
    let mut truncated = block_truncated;
    if header("transfer-encoding").contains("chunked") {
        let (b, complete) = dechunk(body);
        dechunked = b;
        body = &dechunked;
        truncated |= !complete;
    }
    let encoding = header("content-encoding");
    let mut out = Vec::new();
    let limit = cap as u64 + 1;
    let decoded: Option<std::io::Result<usize>> = match encoding.trim() {
        "" | "identity" | "none" => None,
        "gzip" | "x-gzip" => Some(
            flate2::read::MultiGzDecoder::new(body)
                .take(limit)
                .read_to_end(&mut out),
        ),
        "deflate" => {
            let zlib = flate2::read::ZlibDecoder::new(body)
                .take(limit)
                .read_to_end(&mut out);
            if zlib.is_err() && out.is_empty() {
                // Some servers send raw deflate under this name.
                Some(
                    flate2::read::DeflateDecoder::new(body)
                        .take(limit)
                        .read_to_end(&mut out),
                )
            } else {
                Some(zlib)
            }
        }
        "br" => Some(
            brotli_decompressor::Decompressor::new(body, 4096)
                .take(limit)
                .read_to_end(&mut out),
        ),
        other => return Err(HttpError::Encoding(other.to_string())),
    };
    let mut body = match decoded {
        None => body.to_vec(),
        Some(result) => {
            // A body cut by the archiver decodes as far as it goes, like a capped fetch.
            truncated |= result.is_err();
            out
        }
    };
    if body.len() > cap {
        body.truncate(cap);
        truncated = true;
    }
    Ok(Fetched {
        status,
        headers: Fetched::kept_headers(&all),
        body,
        truncated,
        ip: ip.to_string(),
    })
}

/// Undo chunked transfer coding; the flag says the final chunk was reached.
fn dechunk(mut b: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(b.len());
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let size_line = std::str::from_utf8(&b[..eol]).unwrap_or("");
        let hex = size_line.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(hex, 16) else {
            return (out, false);
        };
        b = &b[eol + 2..];
        if size == 0 {
            return (out, true);
        }
        if b.len() < size {
            out.extend_from_slice(b);
            return (out, false);
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size..];
        b = b.strip_prefix(b"\r\n").unwrap_or(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn http(headers: &str, body: &[u8]) -> Vec<u8> {
        let mut v = format!("HTTP/1.1 200 OK\r\n{headers}\r\n").into_bytes();
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn status_kept_headers_and_plain_body() {
        let f = parse_response(
            &http(
                "Content-Type: text/html\r\nSet-Cookie: x=1\r\nLink: </c>; rel=canonical\r\n",
                b"<a href=/x>",
            ),
            1000,
            false,
            "192.0.2.1",
        )
        .unwrap();
        assert_eq!(f.status, 200);
        assert_eq!(f.header("content-type"), Some("text/html"));
        assert_eq!(f.header("link"), Some("</c>; rel=canonical"));
        assert_eq!(f.header("set-cookie"), None);
        assert_eq!(f.body, b"<a href=/x>");
        assert_eq!(f.ip, "192.0.2.1");
        assert!(!f.truncated);
    }

    #[test]
    fn chunked_and_gzip_bodies_are_decoded_as_a_fetch_would() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"<title>hello</title>").unwrap();
        let gz = gz.finish().unwrap();
        let mut chunked = format!("{:x}\r\n", 5).into_bytes();
        chunked.extend_from_slice(&gz[..5]);
        chunked.extend_from_slice(format!("\r\n{:x};ext=1\r\n", gz.len() - 5).as_bytes());
        chunked.extend_from_slice(&gz[5..]);
        chunked.extend_from_slice(b"\r\n0\r\n\r\n");
        let f = parse_response(
            &http(
                "Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n",
                &chunked,
            ),
            1000,
            false,
            "",
        )
        .unwrap();
        assert_eq!(f.body, b"<title>hello</title>");
        assert!(!f.truncated);
    }

    #[test]
    fn common_crawl_renamed_encodings_leave_the_body_alone() {
        let f = parse_response(
            &http(
                "X-Crawler-Content-Encoding: gzip\r\nX-Crawler-Transfer-Encoding: chunked\r\n",
                b"plain",
            ),
            1000,
            false,
            "",
        )
        .unwrap();
        assert_eq!(f.body, b"plain");
    }

    #[test]
    fn caps_cuts_and_bad_input() {
        let f = parse_response(&http("", &[b'x'; 50]), 10, false, "").unwrap();
        assert_eq!(f.body.len(), 10);
        assert!(f.truncated);
        let cut = parse_response(
            &http("Transfer-Encoding: chunked\r\n", b"a\r\nabc"),
            100,
            false,
            "",
        )
        .unwrap();
        assert_eq!(cut.body, b"abc");
        assert!(cut.truncated);
        assert!(matches!(
            parse_response(b"GET / HTTP/1.1\r\n\r\n", 10, false, ""),
            Err(HttpError::Malformed(_))
        ));
        assert!(matches!(
            parse_response(&http("Content-Encoding: zstd\r\n", b"?"), 10, false, ""),
            Err(HttpError::Encoding(e)) if e == "zstd"
        ));
    }
}
