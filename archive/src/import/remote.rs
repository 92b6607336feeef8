//! Archives over HTTP: a file streamed from a URL that survives a dropped connection (it asks
//! again from the last byte read, with `Range`), and Common Crawl's paths lists
//! (`warc.paths.gz`, `wat.paths.gz`: one relative path per line, gzip or plain) split between
//! import workers.

use flate2::read::MultiGzDecoder;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a download was given up, once it was (shared with the import's reader thread, which
/// then records the file as failed instead of done).
pub type GaveUp = Arc<Mutex<Option<String>>>;

/// How many times a file's download is resumed after a failure before the import gives up.
pub const RETRIES: u32 = 8;

/// The blocking HTTP client imports use. Its 5-minute timeout may end a slow download of a
/// ~1 GB file, or a stalled one: either is resumed from the last byte read like a dropped
/// connection (the retry count starts over whenever bytes arrive).
pub fn client() -> io::Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .user_agent(concat!("linkdiff/", env!("CARGO_PKG_VERSION"), " (import)"))
        .connect_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(io::Error::other)
}

/// A file at a URL, read as a stream from byte `start`. When the connection drops (an error,
/// or the body ends before its announced length), it asks again from the last byte read with a
/// `Range` request, after a growing pause, up to [`RETRIES`] times; a server that ignores
/// `Range` (answers 200) is read from the start again and the bytes already read are skipped.
pub struct HttpReader {
    client: reqwest::blocking::Client,
    url: String,
    body: Option<reqwest::blocking::Response>,
    /// Bytes of the file read so far (including `start`).
    pos: u64,
    /// The file's length, when the server said.
    len: Option<u64>,
    failures: u32,
    backoff: Duration,
    /// Times the download was resumed (for the summary).
    pub resumed: u32,
    /// Set when the download is given up; every later read fails at once.
    gave_up: GaveUp,
}

impl HttpReader {
    /// The file at `url` from byte `start` (a checkpoint's offset, or 0).
    pub fn new(client: reqwest::blocking::Client, url: &str, start: u64) -> HttpReader {
        HttpReader {
            client,
            url: url.to_string(),
            body: None,
            pos: start,
            len: None,
            failures: 0,
            backoff: Duration::from_millis(200),
            resumed: 0,
            gave_up: GaveUp::default(),
        }
    }

    /// Where the reader says why it gave up, if it does.
    pub fn gave_up(&self) -> GaveUp {
        self.gave_up.clone()
    }

    /// A shorter first pause between attempts (tests).
    pub fn with_backoff(mut self, first: Duration) -> HttpReader {
        self.backoff = first;
        self
    }

    fn request(&mut self) -> io::Result<()> {
        let mut req = self.client.get(&self.url);
        if self.pos > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={}-", self.pos));
        }
        let resp = req.send().map_err(io::Error::other)?;
        let status = resp.status();
        match status.as_u16() {
            206 => {
                // `Content-Range: bytes START-END/LEN`.
                let range = resp
                    .headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let start = range
                    .strip_prefix("bytes ")
                    .and_then(|r| r.split('-').next())
                    .and_then(|s| s.parse::<u64>().ok());
                if start != Some(self.pos) {
                    return Err(io::Error::other(format!(
                        "{}: asked for bytes from {}, the server sent '{range}'",
                        self.url, self.pos
                    )));
                }
                self.len = range
                    .rsplit('/')
                    .next()
                    .and_then(|l| l.parse().ok())
                    .or(self.len);
                self.body = Some(resp);
            }
            200 => {
                self.len = resp.content_length();
                let mut resp = resp;
                if self.pos > 0 {
                    // No range support: read the file again up to where it was.
                    let skipped = io::copy(&mut (&mut resp).take(self.pos), &mut io::sink())?;
                    if skipped < self.pos {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("{}: shorter than before ({skipped} bytes)", self.url),
                        ));
                    }
                }
                self.body = Some(resp);
            }
            416 if self.len == Some(self.pos) => self.body = None,
            _ => {
                let e = io::Error::other(format!("{}: HTTP {status}", self.url));
                // A 4xx will not get better: no retry.
                return Err(if status.is_client_error() {
                    io::Error::new(io::ErrorKind::NotFound, e)
                } else {
                    e
                });
            }
        }
        Ok(())
    }

    /// One more attempt after a failure, or the failure when none are left.
    fn retry(&mut self, e: io::Error) -> io::Result<()> {
        self.body = None;
        if e.kind() == io::ErrorKind::NotFound || self.failures >= RETRIES {
            let why = format!("{} (after {} attempts)", e, self.failures + 1);
            *self.gave_up.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.clone());
            return Err(io::Error::new(e.kind(), why));
        }
        self.failures += 1;
        std::thread::sleep(self.backoff);
        self.backoff = (self.backoff * 2).min(Duration::from_secs(30));
        self.resumed += 1;
        Ok(())
    }
}

impl Read for HttpReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(why) = &*self.gave_up.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(io::Error::other(why.clone()));
        }
        loop {
            if self.body.is_none() {
                if self.len == Some(self.pos) && self.pos > 0 {
                    return Ok(0);
                }
                if let Err(e) = self.request() {
                    self.retry(e)?;
                    continue;
                }
                if self.body.is_none() {
                    return Ok(0);
                }
            }
            let body = self.body.as_mut().expect("a body after a request");
            match body.read(buf) {
                Ok(0) if self.len.is_some_and(|l| self.pos < l) => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("{}: the connection ended at byte {}", self.url, self.pos),
                    );
                    self.retry(e)?;
                }
                Ok(n) => {
                    self.pos += n as u64;
                    if n > 0 {
                        self.failures = 0;
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.retry(e)?,
            }
        }
    }
}

/// A text file or URL as lines: a URL is streamed (and resumed, as [`HttpReader`] does), gzip
/// is recognised by its first bytes (concatenated members included).
pub fn open_text(source: &str) -> io::Result<Box<dyn BufRead>> {
    let raw: Box<dyn Read> = if is_url(source) {
        Box::new(HttpReader::new(client()?, source, 0))
    } else {
        Box::new(std::fs::File::open(source)?)
    };
    let mut raw = BufReader::with_capacity(256 * 1024, raw);
    let gz = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            256 * 1024,
            MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    })
}

/// Whether `s` names an input by URL.
pub fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// A paths list (a file or a URL; gzip recognised by its first bytes) as absolute URLs: each
/// non-empty line joined to `base`, keeping the lines whose position (from 0) is ≡ `index`
/// (mod `count`) — one worker's share.
pub fn paths_list(source: &str, base: &str, index: usize, count: usize) -> io::Result<Vec<String>> {
    let text = open_text(source)?;
    let base = url::Url::parse(base)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("--base {base}: {e}")))?;
    let mut out = Vec::new();
    let mut n = 0usize;
    for line in text.lines() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if n % count.max(1) == index {
            let url = if is_url(line) {
                line.to_string()
            } else {
                base.join(line.trim_start_matches('/'))
                    .map_err(|e| {
                        io::Error::new(io::ErrorKind::InvalidData, format!("{line}: {e}"))
                    })?
                    .to_string()
            };
            out.push(url);
        }
        n += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_cut_every_time_is_given_up_after_the_retries_and_says_why() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            // Bounded: the reader makes RETRIES + 1 attempts.
            for stream in listener.incoming().take(RETRIES as usize + 4) {
                let Ok(mut s) = stream else { continue };
                let mut req = [0u8; 1024];
                let _ = s.read(&mut req);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
            }
        });
        let mut r = HttpReader::new(client().unwrap(), &format!("http://{addr}/f"), 0)
            .with_backoff(Duration::from_millis(1));
        let slot = r.gave_up();
        let mut out = Vec::new();
        let e = r.read_to_end(&mut out).unwrap_err();
        assert!(e.to_string().contains("attempts"), "{e}");
        assert!(slot.lock().unwrap().is_some());
        assert_eq!(r.resumed, RETRIES);
        // Every later read fails at once.
        assert!(r.read(&mut [0u8; 8]).is_err());
    }

    #[test]
    fn paths_lists_are_joined_to_the_base_and_split_between_workers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wat.paths");
        std::fs::write(&p, "a/1.warc.gz\n\n# comment\n/a/2.warc.gz\na/3.warc.gz\n").unwrap();
        let all = paths_list(p.to_str().unwrap(), "https://data.test/cc/", 0, 1).unwrap();
        assert_eq!(
            all,
            [
                "https://data.test/cc/a/1.warc.gz",
                "https://data.test/cc/a/2.warc.gz",
                "https://data.test/cc/a/3.warc.gz"
            ]
        );
        let gz = dir.path().join("wat.paths.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, b"a/1.warc.gz\na/2.warc.gz\na/3.warc.gz\n").unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
        let one = paths_list(gz.to_str().unwrap(), "https://data.test/cc/", 1, 2).unwrap();
        assert_eq!(one, ["https://data.test/cc/a/2.warc.gz"]);
        let zero = paths_list(gz.to_str().unwrap(), "https://data.test/cc/", 0, 2).unwrap();
        assert_eq!(zero.len(), 2);
    }
}
