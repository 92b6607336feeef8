//! A streaming WARC record reader: plain or gzip (one member per record, as Common Crawl
//! writes, or any other member layout), with resumable positions and recovery from bad
//! records.
//!
//! Why not the `warc` crate: it has no way to tell where a record starts in the compressed
//! file, which resuming an import needs, and it stops at the first bad record where an import
//! must count it and go on. The format is small (a version line, headers, a block of
//! `Content-Length` bytes, two CRLFs), so this reader does it in one place with its own tests.

use flate2::bufread::GzDecoder;
use std::io::{self, BufRead, Read};

/// Where a record starts (or where reading can go on after one), stable across runs: the
/// byte offset in the file of the gzip member holding it (of the record itself in a plain
/// file), and how many decompressed bytes of that member precede it (0 for one member per
/// record and for plain files).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Offset in the file of the gzip member, or of the record in a plain file.
    pub member: u64,
    /// Decompressed bytes of that member before the record.
    pub skip: u64,
}

impl Position {
    /// `member:skip`, as stored in import checkpoints.
    pub fn encode(&self) -> String {
        format!("{}:{}", self.member, self.skip)
    }

    /// Inverse of [`Position::encode`].
    pub fn decode(s: &str) -> Option<Position> {
        let (m, k) = s.split_once(':')?;
        Some(Position {
            member: m.parse().ok()?,
            skip: k.parse().ok()?,
        })
    }
}

/// One WARC record: named headers and the block (capped).
#[derive(Debug, Clone)]
pub struct Record {
    /// Where the record starts.
    pub position: Position,
    /// Where the next record starts: everything before it has been read.
    pub end: Position,
    /// Headers in file order, names as written.
    pub headers: Vec<(String, String)>,
    /// The block, at most the reader's cap.
    pub block: Vec<u8>,
    /// The block was longer than the cap; the rest was read and dropped.
    pub truncated: bool,
    /// Decompressed bytes of the whole record (headers and full block).
    pub bytes: u64,
}

impl Record {
    /// A header by name, case-insensitive; `<…>` around a URI (WARC 1.0 drafts) removed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| {
                let v = v.trim();
                v.strip_prefix('<')
                    .and_then(|v| v.strip_suffix('>'))
                    .unwrap_or(v)
            })
    }
}

/// A record that could not be read. Never fatal: the reader skips to the next record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The input ended inside the record.
    Truncated,
    /// Not a WARC record or a broken gzip member; what was wrong.
    Corrupt(String),
}

/// What [`WarcReader::next_item`] found.
#[derive(Debug)]
pub enum Item {
    /// A record.
    Record(Record),
    /// A bad record at `position`, skipped.
    Problem {
        /// Where it started.
        position: Position,
        /// What was wrong.
        problem: Problem,
    },
}

/// Longest header section accepted.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Decompressed bytes read at a time.
const CHUNK: usize = 64 * 1024;

/// A `BufRead` that counts the bytes consumed (offsets in the file).
struct Counting<R> {
    inner: R,
    pos: u64,
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.pos += amt as u64;
        self.inner.consume(amt);
    }
}

enum Source<R> {
    Plain(Counting<R>),
    /// Between members (`None` decoder) or inside one.
    Gzip(Option<Box<GzDecoder<Counting<R>>>>, Option<Counting<R>>),
}

/// Decompressed bytes, with the decompressed offset where each gzip member starts.
struct Decoder<R> {
    source: Source<R>,
    /// Decompressed bytes produced so far.
    total: u64,
    /// `(decompressed offset, file offset)` of member starts still needed for positions.
    members: std::collections::VecDeque<(u64, u64)>,
    /// File offset of the first byte read (a resumed reader starts mid-file).
    base: u64,
}

impl<R: BufRead> Decoder<R> {
    fn new(mut raw: R, base: u64) -> io::Result<Decoder<R>> {
        let gz = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        let raw = Counting {
            inner: raw,
            pos: base,
        };
        let source = if gz {
            Source::Gzip(None, Some(raw))
        } else {
            Source::Plain(raw)
        };
        Ok(Decoder {
            source,
            total: 0,
            members: Default::default(),
            base,
        })
    }

    fn compressed_pos(&self) -> u64 {
        match &self.source {
            Source::Plain(r) => r.pos,
            Source::Gzip(Some(d), _) => d.get_ref().pos,
            Source::Gzip(None, Some(r)) => r.pos,
            Source::Gzip(None, None) => self.base,
        }
    }

    /// Note that a member starts at file offset `at` and decompressed offset `total`.
    fn member_starts(&mut self, at: u64) {
        if self.members.back() != Some(&(self.total, at)) {
            self.members.push_back((self.total, at));
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match &mut self.source {
                Source::Plain(r) => {
                    let n = r.read(buf)?;
                    self.total += n as u64;
                    return Ok(n);
                }
                Source::Gzip(dec @ Some(_), _) => {
                    let n = dec.as_mut().map(|d| d.read(buf)).unwrap_or(Ok(0))?;
                    if n > 0 {
                        self.total += n as u64;
                        return Ok(n);
                    }
                    // End of the member: the next one (if any) starts right here.
                    let raw = dec.take().map(|d| (*d).into_inner());
                    let at = raw.as_ref().map(|r| r.pos).unwrap_or(0);
                    self.source = Source::Gzip(None, raw);
                    self.member_starts(at);
                }
                Source::Gzip(None, raw) => {
                    let Some(mut r) = raw.take() else {
                        return Ok(0);
                    };
                    if r.fill_buf()?.is_empty() {
                        self.source = Source::Gzip(None, Some(r));
                        return Ok(0);
                    }
                    let at = r.pos;
                    self.source = Source::Gzip(Some(Box::new(GzDecoder::new(r))), None);
                    self.member_starts(at);
                }
            }
        }
    }

    /// After a broken member: drop it and find the next gzip header in the file.
    fn skip_broken_member(&mut self) -> io::Result<()> {
        let Source::Gzip(dec, raw) = &mut self.source else {
            return Ok(());
        };
        let mut r = match (dec.take(), raw.take()) {
            (Some(d), _) => (*d).into_inner(),
            (None, Some(r)) => r,
            (None, None) => return Ok(()),
        };
        loop {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            // A member starts with 1f 8b 08 (deflate); keep 2 bytes that might begin one.
            match buf.windows(3).position(|w| w == [0x1f, 0x8b, 0x08]) {
                Some(i) => {
                    r.consume(i);
                    break;
                }
                None => {
                    let keep = buf.len().min(2);
                    let n = buf.len() - keep;
                    if n == 0 {
                        // Fewer than 3 bytes left: no member can start here.
                        let all = buf.len();
                        r.consume(all);
                    } else {
                        r.consume(n);
                    }
                }
            }
        }
        self.source = Source::Gzip(None, Some(r));
        Ok(())
    }

    /// The stable position of decompressed offset `off`.
    fn position(&self, off: u64) -> Position {
        match &self.source {
            Source::Plain(_) => Position {
                member: self.base + off,
                skip: 0,
            },
            Source::Gzip(..) => {
                let (start, at) = self
                    .members
                    .iter()
                    .rev()
                    .find(|(start, _)| *start <= off)
                    .copied()
                    .unwrap_or((0, self.base));
                Position {
                    member: at,
                    skip: off - start,
                }
            }
        }
    }

    /// Forget member starts before decompressed offset `off` (keeping the one holding it).
    fn forget_before(&mut self, off: u64) {
        while self.members.len() > 1 && self.members[1].0 <= off {
            self.members.pop_front();
        }
    }
}

/// Reads WARC records one at a time from plain or gzip input, in bounded memory: a block is
/// kept up to `cap` bytes, the rest is read and dropped.
pub struct WarcReader<R> {
    dec: Decoder<R>,
    buf: Vec<u8>,
    start: usize,
    /// End of the data in `buf`.
    end: usize,
    /// Decompressed offset of `buf[start]`.
    off: u64,
    cap: usize,
    eof: bool,
    /// An input error met while looking ahead, returned by the next read.
    pending: Option<io::Error>,
}

impl<R: BufRead> WarcReader<R> {
    /// A reader over `raw` from its start.
    pub fn new(raw: R, cap: usize) -> io::Result<WarcReader<R>> {
        Self::resume(raw, Position::default(), cap)
    }

    /// A reader over `raw`, which is positioned at `at.member` in the file: skips `at.skip`
    /// decompressed bytes, then reads records from there.
    pub fn resume(raw: R, at: Position, cap: usize) -> io::Result<WarcReader<R>> {
        let mut r = WarcReader {
            dec: Decoder::new(raw, at.member)?,
            buf: Vec::new(),
            start: 0,
            end: 0,
            off: 0,
            cap,
            eof: false,
            pending: None,
        };
        let mut left = at.skip;
        while left > 0 {
            if r.available() == 0 && !r.fill()? {
                break;
            }
            let n = (r.available() as u64).min(left) as usize;
            r.consume(n);
            left -= n as u64;
        }
        Ok(r)
    }

    /// Bytes of the input file read so far (compressed offset), for progress.
    pub fn compressed_pos(&self) -> u64 {
        self.dec.compressed_pos()
    }

    fn available(&self) -> usize {
        self.end - self.start
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.off += n as u64;
    }

    /// Read more decompressed bytes; false at the end of the input.
    fn fill(&mut self) -> io::Result<bool> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if self.eof {
            return Ok(false);
        }
        // `buf[..end]` holds data; the rest is room (zeroed once, reused).
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < CHUNK {
            self.buf.resize(self.end + CHUNK, 0);
        }
        let n = self.dec.read(&mut self.buf[self.end..])?;
        self.end += n;
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    /// Make at least `n` bytes available; false if the input ends first.
    fn ensure(&mut self, n: usize) -> io::Result<bool> {
        while self.available() < n {
            if !self.fill()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// One line without its CRLF; `None` at the end of input or past `limit` bytes.
    fn line(&mut self, limit: usize) -> io::Result<Option<String>> {
        let mut scanned = 0;
        loop {
            let avail = &self.buf[self.start..self.end];
            if let Some(i) = avail[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + i;
                let line = String::from_utf8_lossy(&avail[..end])
                    .trim_end_matches('\r')
                    .to_string();
                self.consume(end + 1);
                return Ok(Some(line));
            }
            scanned = avail.len();
            if scanned > limit || !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// The next record, a problem that was skipped, or `None` at the end of the input.
    pub fn next_item(&mut self) -> Option<Item> {
        let problem = match self.read_record() {
            Ok(Some(r)) => return Some(Item::Record(r)),
            Ok(None) => return None,
            Err(p) => p,
        };
        let (position, problem, broken_member) = problem;
        if let Err(e) = self.recover(broken_member) {
            self.eof = true;
            return Some(Item::Problem {
                position,
                problem: Problem::Corrupt(format!("{problem:?}; then {e}")),
            });
        }
        Some(Item::Problem { position, problem })
    }

    /// After a problem: drop what is buffered of a broken gzip member and go on at the next
    /// one, or skip to the next line that starts a record.
    fn recover(&mut self, broken_member: bool) -> io::Result<()> {
        if broken_member && matches!(self.dec.source, Source::Gzip(..)) {
            let n = self.available();
            self.consume(n);
            self.dec.total = self.off;
            self.dec.skip_broken_member()?;
            self.eof = false;
            return Ok(());
        }
        // A record starts here (after a bad header section), or at the next "\nWARC/".
        if self.ensure(5)? && self.buf[self.start..self.end].starts_with(b"WARC/") {
            return Ok(());
        }
        loop {
            if !self.ensure(6)? {
                let n = self.available();
                self.consume(n);
                return Ok(());
            }
            let avail = &self.buf[self.start..self.end];
            match avail.windows(6).position(|w| w == b"\nWARC/") {
                Some(i) => {
                    self.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let n = avail.len() - 5;
                    self.consume(n);
                }
            }
        }
    }

    /// A record, or what was wrong with it and whether the input itself (a gzip member)
    /// is broken rather than the record's text.
    #[allow(clippy::type_complexity)]
    fn read_record(&mut self) -> Result<Option<Record>, (Position, Problem, bool)> {
        let at = |r: &Self| r.dec.position(r.off);
        let io_problem = |_: &Self, start: Position, e: io::Error| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                (start, Problem::Truncated, true)
            } else {
                (start, Problem::Corrupt(e.to_string()), true)
            }
        };
        // Blank lines between records are tolerated.
        loop {
            match self.ensure(1) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => return Err(io_problem(self, at(self), e)),
            }
            match self.buf[self.start] {
                b'\r' | b'\n' => self.consume(1),
                _ => break,
            }
        }
        let first = self.off;
        let position = at(self);
        self.dec.forget_before(first);
        let version = match self.line(MAX_HEADER_BYTES) {
            Ok(Some(l)) => l,
            Ok(None) => return Err((position, Problem::Truncated, false)),
            Err(e) => return Err(io_problem(self, position, e)),
        };
        if !version.starts_with("WARC/") {
            let shown: String = version.chars().take(40).collect();
            return Err((
                position,
                Problem::Corrupt(format!("expected a WARC/ version line, found {shown:?}")),
                false,
            ));
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        loop {
            if self.off - first > MAX_HEADER_BYTES as u64 {
                return Err((
                    position,
                    Problem::Corrupt("header section too long".into()),
                    false,
                ));
            }
            let line = match self.line(MAX_HEADER_BYTES) {
                Ok(Some(l)) => l,
                Ok(None) => return Err((position, Problem::Truncated, false)),
                Err(e) => return Err(io_problem(self, position, e)),
            };
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
                continue;
            }
            match line.split_once(':') {
                Some((k, v)) => headers.push((k.trim().to_string(), v.trim().to_string())),
                None => {
                    return Err((
                        position,
                        Problem::Corrupt(format!("header line without ':': {line:?}")),
                        false,
                    ))
                }
            }
        }
        let len: u64 = match headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse())
        {
            Some(Ok(n)) => n,
            _ => {
                return Err((
                    position,
                    Problem::Corrupt("missing or bad Content-Length".into()),
                    false,
                ))
            }
        };
        let keep = len.min(self.cap as u64) as usize;
        let mut block = Vec::with_capacity(keep.min(1 << 20));
        let mut left = len;
        while left > 0 {
            match self.ensure(1) {
                Ok(true) => {}
                Ok(false) => return Err((position, Problem::Truncated, false)),
                Err(e) => return Err(io_problem(self, position, e)),
            }
            let n = (self.available() as u64).min(left) as usize;
            let room = keep - block.len();
            let take = n.min(room);
            block.extend_from_slice(&self.buf[self.start..self.start + take]);
            self.consume(n);
            left -= n as u64;
        }
        // The two CRLFs after the block (lenient: up to 4 of CR/LF).
        for _ in 0..4 {
            match self.ensure(1) {
                Ok(true) if matches!(self.buf[self.start], b'\r' | b'\n') => self.consume(1),
                _ => break,
            }
        }
        let bytes = self.off - first;
        // Look ahead so that a gzip member ending here is seen to end: the next record's
        // position is then the next member's offset, where a resumed reader can seek.
        if self.available() == 0 {
            if let Err(e) = self.fill() {
                self.pending = Some(e);
            }
        }
        Ok(Some(Record {
            position,
            end: at(self),
            headers,
            block,
            truncated: len > keep as u64,
            bytes,
        }))
    }
}

#[cfg(test)]
mod tests;
