//! Accepting Ahrefs v2 request lines as real clients send them. Clients put `"`, `<`, `>`
//! (and sometimes spaces from addslashes) unencoded in the query string; hyper refuses such
//! a request target with a bare 400. This adapter percent-encodes those bytes in the request
//! line before hyper parses it. Connections serve one request each (no keep-alive), so only
//! the first line of a connection needs rewriting.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest request line accepted (longer ones pass through untouched and hyper rejects them).
const MAX_LINE: usize = 256 * 1024;

/// A stream whose first line (the HTTP request line) is repaired.
pub struct FixRequestLine<S> {
    inner: S,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<S> FixRequestLine<S> {
    /// Wrap a freshly accepted stream.
    pub fn new(inner: S) -> Self {
        FixRequestLine {
            inner,
            buf: Vec::new(),
            pos: 0,
            done: false,
        }
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

/// Longest request target passed on; hyper refuses longer ones with a bare 414, so they are
/// replaced by a marker the API answers with a clear error.
pub const MAX_TARGET: usize = 60 * 1024;

/// The marker path for a request target that was too long.
pub const TOO_LONG: &str = "/?__linkdiff_error=target_too_long";

/// Rewrite one request line `METHOD TARGET VERSION\r\n`; the target may contain spaces.
pub fn fix_line(line: &[u8]) -> Vec<u8> {
    let body = line
        .strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))
        .unwrap_or(line);
    let Some(first) = body.iter().position(|&b| b == b' ') else {
        return line.to_vec();
    };
    let Some(last) = body.iter().rposition(|&b| b == b' ') else {
        return line.to_vec();
    };
    if last <= first || !body[last + 1..].starts_with(b"HTTP/") {
        return line.to_vec();
    }
    let mut out = body[..=first].to_vec();
    let target = &body[first + 1..last];
    if target.len() > MAX_TARGET {
        out.extend_from_slice(TOO_LONG.as_bytes());
    } else {
        out.extend(fix_target(target));
    }
    out.extend_from_slice(&body[last..]);
    out.extend_from_slice(b"\r\n");
    out
}

impl<S: AsyncRead + Unpin> AsyncRead for FixRequestLine<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while !this.done {
            if let Some(nl) = this.buf.iter().position(|&b| b == b'\n') {
                let rest = this.buf.split_off(nl + 1);
                let mut fixed = fix_line(&this.buf);
                fixed.extend(rest);
                this.buf = fixed;
                this.done = true;
                break;
            }
            if this.buf.len() > MAX_LINE {
                // Beyond this hyper answers 414 itself.
                this.done = true;
                break;
            }
            let mut tmp = [0u8; 8192];
            let mut rb = ReadBuf::new(&mut tmp);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    if rb.filled().is_empty() {
                        this.done = true;
                        break;
                    }
                    this.buf.extend_from_slice(rb.filled());
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        if this.pos < this.buf.len() {
            let n = (this.buf.len() - this.pos).min(out.remaining());
            out.put_slice(&this.buf[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.buf.len() {
                this.buf = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, out)
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
            b"GET /?where=anchor:%22a%20b%22,x%3C5&y=%22 HTTP/1.1\r\n".to_vec()
        );
        assert_eq!(fix_line(b"garbage\r\n"), b"garbage\r\n".to_vec());
    }
}
