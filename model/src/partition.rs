//! `--worker I/N`: which registrable domains one of N crawl or import workers owns.

use crate::registrable_domain;

/// One crawl worker's share of the web (`--worker I/N`): the registrable domains whose hash
/// falls in slot `index` of `count`. A domain's pages all belong to one worker, so per-host
/// politeness holds without coordination and every row keyed by a referring page comes from
/// one worker. The hash is FNV-1a (64-bit) of the registrable domain: the same on every
/// machine and release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// This worker's slot, `0..count`.
    pub index: u32,
    /// Number of workers.
    pub count: u32,
}

impl Partition {
    /// Parse `I/N` (0 ≤ I < N).
    pub fn parse(s: &str) -> Result<Partition, BadPartition> {
        let bad = || BadPartition(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Partition { index, count })
    }

    /// Whether pages on `host` are this worker's.
    pub fn owns(&self, host: &str) -> bool {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in registrable_domain(&host.to_ascii_lowercase()).bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h % self.count as u64 == self.index as u64
    }
}

/// A `--worker` value that is not `I/N` with 0 ≤ I < N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--worker {0}: expected I/N with 0 <= I < N, e.g. 0/2")]
pub struct BadPartition(pub String);

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}
