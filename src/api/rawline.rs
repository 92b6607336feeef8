//! Accepting Ahrefs v2 request lines as real clients send them, on every request of a
//! kept-alive connection. Clients put `"`, `<`, `>` (and sometimes spaces from addslashes)
//! unencoded in the query string; hyper refuses such a request target with a bare 400. This
//! adapter sits between the socket and hyper and follows the HTTP/1.1 framing of the bytes it
//! passes on (request line, header lines, a `Content-Length` or chunked body, then the next
//! request), so it can percent-encode those bytes in each request line before hyper parses it.
//!
//! A target longer than [`MAX_TARGET`] (hyper would answer a bare 414) is replaced by `/`, and
//! the adapter tells the connection's service so through [`TooLong`], a queue with one entry
//! per request line in order: the signal is out of band, so no client can send it.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest request line or header line followed; beyond it the connection's bytes pass
/// through untouched and hyper rejects the request (and closes the connection).
const MAX_LINE: usize = 256 * 1024;

/// Longest request target passed on; a longer one is answered with a clear error.
pub const MAX_TARGET: usize = 60 * 1024;

/// Per connection: for each request line, in order, whether its target was too long. The
/// adapter pushes, the connection's service pops one entry per request.
#[derive(Debug, Clone, Default)]
pub struct TooLong(Arc<Mutex<VecDeque<bool>>>);

impl TooLong {
    fn push(&self, too_long: bool) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(too_long);
    }

    /// Whether the request hyper hands over next had a target over [`MAX_TARGET`].
    pub fn next_request(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
            .unwrap_or(false)
    }
}

/// Percent-encode the bytes of a request target that `http::Uri` refuses.
pub fn fix_target(target: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(target.len());
    for &b in target {
        let bad = b <= 0x20 || b >= 0x7F || b"\"<>\\^`{|}".contains(&b);
        if bad {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
    out
}

/// Rewrite one request line `METHOD TARGET VERSION\r\n` (the target may contain spaces).
/// Returns the line and whether the target was over [`MAX_TARGET`] (then replaced by `/`).
pub fn fix_line(line: &[u8]) -> (Vec<u8>, bool) {
    let body = line
        .strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))
        .unwrap_or(line);
    let Some(first) = body.iter().position(|&b| b == b' ') else {
        return (line.to_vec(), false);
    };
    let Some(last) = body.iter().rposition(|&b| b == b' ') else {
        return (line.to_vec(), false);
    };
    if last <= first || !body[last + 1..].starts_with(b"HTTP/") {
        return (line.to_vec(), false);
    }
    let mut out = body[..=first].to_vec();
    let target = &body[first + 1..last];
    let too_long = target.len() > MAX_TARGET;
    if too_long {
        out.push(b'/');
    } else {
        out.extend(fix_target(target));
    }
    out.extend_from_slice(&body[last..]);
    out.extend_from_slice(b"\r\n");
    (out, too_long)
}

/// Where the framer is in the stream of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Before or in a request line (empty lines between requests pass through).
    RequestLine,
    /// In the header lines of a request.
    Headers,
    /// In a body of known length: bytes left.
    Body(u64),
    /// In a chunk-size line of a chunked body.
    ChunkSize,
    /// In chunk data: bytes left.
    ChunkData(u64),
    /// The line end after chunk data.
    ChunkEnd,
    /// In the trailer lines after the last chunk.
    Trailers,
    /// Framing lost (a line too long, a length that does not parse): pass everything on;
    /// hyper answers the request with an error and closes the connection.
    Passthrough,
}

/// The pure state machine: bytes in, bytes for hyper out, one request at a time.
#[derive(Debug)]
struct Framer {
    part: Part,
    /// The incomplete line of the current line-based part.
    line: Vec<u8>,
    /// From the current request's headers.
    content_length: Option<u64>,
    chunked: bool,
    too_long: TooLong,
}

impl Framer {
    fn new(too_long: TooLong) -> Framer {
        Framer {
            part: Part::RequestLine,
            line: Vec::new(),
            content_length: None,
            chunked: false,
            too_long,
        }
    }

    /// Consume `input`, appending what hyper should read to `out`.
    fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() {
            match self.part {
                Part::Passthrough => {
                    out.extend_from_slice(input);
                    return;
                }
                Part::Body(left) | Part::ChunkData(left) => {
                    let n = (left.min(input.len() as u64)) as usize;
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    let left = left - n as u64;
                    self.part = match (self.part, left) {
                        (Part::Body(_), 0) => Part::RequestLine,
                        (Part::Body(_), l) => Part::Body(l),
                        (_, 0) => Part::ChunkEnd,
                        (_, l) => Part::ChunkData(l),
                    };
                }
                _ => {
                    let Some(nl) = input.iter().position(|&b| b == b'\n') else {
                        self.line.extend_from_slice(input);
                        if self.line.len() > MAX_LINE {
                            out.append(&mut self.line);
                            self.part = Part::Passthrough;
                        }
                        return;
                    };
                    self.line.extend_from_slice(&input[..=nl]);
                    input = &input[nl + 1..];
                    let line = std::mem::take(&mut self.line);
                    self.line_done(line, out);
                }
            }
        }
    }

    /// A complete line (with its `\n`) of a line-based part.
    fn line_done(&mut self, line: Vec<u8>, out: &mut Vec<u8>) {
        let content = trim_eol(&line);
        match self.part {
            Part::RequestLine if content.is_empty() => out.extend_from_slice(&line),
            Part::RequestLine => {
                let (fixed, too_long) = fix_line(&line);
                self.too_long.push(too_long);
                out.extend_from_slice(&fixed);
                self.content_length = None;
                self.chunked = false;
                self.part = Part::Headers;
            }
            Part::Headers if content.is_empty() => {
                out.extend_from_slice(&line);
                self.part = match (self.chunked, self.content_length) {
                    (true, _) => Part::ChunkSize,
                    (false, Some(n)) if n > 0 => Part::Body(n),
                    _ => Part::RequestLine,
                };
            }
            Part::Headers => {
                out.extend_from_slice(&line);
                self.header(content);
            }
            Part::ChunkSize => {
                out.extend_from_slice(&line);
                let size = content.split(|&b| b == b';').next().unwrap_or(b"");
                let size = std::str::from_utf8(size)
                    .ok()
                    .and_then(|s| u64::from_str_radix(s.trim(), 16).ok());
                self.part = match size {
                    Some(0) => Part::Trailers,
                    Some(n) => Part::ChunkData(n),
                    None => Part::Passthrough,
                };
            }
            Part::ChunkEnd => {
                out.extend_from_slice(&line);
                self.part = if content.is_empty() {
                    Part::ChunkSize
                } else {
                    Part::Passthrough
                };
            }
            Part::Trailers => {
                out.extend_from_slice(&line);
                if content.is_empty() {
                    self.part = Part::RequestLine;
                }
            }
            Part::Body(_) | Part::ChunkData(_) | Part::Passthrough => out.extend_from_slice(&line),
        }
    }

    /// Note the framing headers of the current request.
    fn header(&mut self, content: &[u8]) {
        let Some(colon) = content.iter().position(|&b| b == b':') else {
            return;
        };
        let (name, value) = (&content[..colon], content[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            match (n, self.content_length) {
                (Some(n), None) => self.content_length = Some(n),
                (Some(n), Some(m)) if n == m => {}
                // Unparsable or conflicting lengths: hyper refuses the request.
                _ => self.part = Part::Passthrough,
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = value
                .rsplit(|&b| b == b',')
                .next()
                .unwrap_or(b"")
                .trim_ascii();
            self.chunked = last.eq_ignore_ascii_case(b"chunked");
        }
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))
        .unwrap_or(line)
}

/// A stream whose request lines are repaired (see the module docs).
pub struct FixRequestLine<S> {
    inner: S,
    framer: Framer,
    /// Bytes ready for hyper.
    out: Vec<u8>,
    pos: usize,
    /// What the socket gave, before framing: allocated and zeroed once per connection (a
    /// zeroed 16 KiB stack buffer per read was 13 % of a cheap request's instructions).
    raw: Box<[u8]>,
}

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

impl<S> FixRequestLine<S> {
    /// Wrap a freshly accepted stream; `too_long` is shared with the connection's service.
    pub fn new(inner: S, too_long: TooLong) -> Self {
        FixRequestLine {
            inner,
            framer: Framer::new(too_long),
            out: Vec::new(),
            pos: 0,
            raw: vec![0; READ_CHUNK].into_boxed_slice(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FixRequestLine<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while this.pos == this.out.len() {
            this.out.clear();
            this.pos = 0;
            let mut rb = ReadBuf::new(&mut this.raw);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                    // End of stream: hand hyper what an unfinished line held, then EOF.
                    this.out.append(&mut this.framer.line);
                    if this.out.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                }
                Poll::Ready(Ok(())) => this.framer.feed(rb.filled(), &mut this.out),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = (this.out.len() - this.pos).min(dst.remaining());
        dst.put_slice(&this.out[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FixRequestLine<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, b)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_only_what_hyper_refuses() {
        assert_eq!(
            fix_line(b"GET /?where=anchor:\"a b\",x<5&y=%22 HTTP/1.1\r\n"),
            (
                b"GET /?where=anchor:%22a%20b%22,x%3C5&y=%22 HTTP/1.1\r\n".to_vec(),
                false
            )
        );
        assert_eq!(fix_line(b"garbage\r\n"), (b"garbage\r\n".to_vec(), false));
        let long = format!("GET /?x={} HTTP/1.1\r\n", "a".repeat(MAX_TARGET));
        assert_eq!(
            fix_line(long.as_bytes()),
            (b"GET / HTTP/1.1\r\n".to_vec(), true)
        );
    }

    /// Feed `input` split at every `step` bytes; returns the output and the too-long flags.
    fn frame(input: &[u8], step: usize) -> (Vec<u8>, Vec<bool>) {
        let too_long = TooLong::default();
        let mut f = Framer::new(too_long.clone());
        let mut out = Vec::new();
        for chunk in input.chunks(step) {
            f.feed(chunk, &mut out);
        }
        let flags = too_long.0.lock().unwrap().iter().copied().collect();
        (out, flags)
    }

    #[test]
    fn every_request_line_of_a_connection_is_repaired_whatever_the_read_sizes() {
        let chunked_body = "5;ext=1\r\nGET /\r\n0\r\nX-T: \"t\"\r\n\r\n";
        let input = format!(
            "GET /?q=\"a b\" HTTP/1.1\r\nHost: x\r\n\r\n\
             POST /?p=<1> HTTP/1.1\r\nContent-Length: 22\r\n\r\nGET /?body=\"not a line\
             \r\nPOST /c?x=\"y\" HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{chunked_body}\
             \r\nGET /?last=\"z\" HTTP/1.1\r\n\r\n"
        );
        let want = format!(
            "GET /?q=%22a%20b%22 HTTP/1.1\r\nHost: x\r\n\r\n\
             POST /?p=%3C1%3E HTTP/1.1\r\nContent-Length: 22\r\n\r\nGET /?body=\"not a line\
             \r\nPOST /c?x=%22y%22 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{chunked_body}\
             \r\nGET /?last=%22z%22 HTTP/1.1\r\n\r\n"
        );
        for step in [1, 2, 3, 7, 16, 1000] {
            let (out, flags) = frame(input.as_bytes(), step);
            assert_eq!(String::from_utf8(out).unwrap(), want, "read size {step}");
            assert_eq!(flags, [false; 4]);
        }
    }

    #[test]
    fn a_too_long_target_is_flagged_for_its_own_request_only() {
        let input = format!(
            "GET /?a=1 HTTP/1.1\r\n\r\nGET /?x={} HTTP/1.1\r\n\r\nGET /?b=\"2\" HTTP/1.1\r\n\r\n",
            "x".repeat(MAX_TARGET + 1)
        );
        let (out, flags) = frame(input.as_bytes(), 4096);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /?a=1 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\nGET /?b=%222%22 HTTP/1.1\r\n\r\n"
        );
        assert_eq!(flags, [false, true, false]);
    }

    #[test]
    fn lost_framing_passes_bytes_through() {
        let input = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc\"";
        let (out, _) = frame(input, 5);
        assert_eq!(out, input.to_vec());
        let bad_chunk =
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /?\"x\" HTTP/1.1\r\n";
        let (out, _) = frame(bad_chunk, 3);
        assert_eq!(out, bad_chunk.to_vec());
    }
}
