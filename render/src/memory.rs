//! The browser's memory: the proportional set size (PSS) of its whole process tree (the
//! browser and its renderer, GPU and utility processes), sampled twice a second while it
//! runs; the peak is reported in the run summary. PSS, not RSS: Chromium's processes share
//! most of their pages, and a sum of resident sets counts those once per process (1.27 GB
//! against 0.4 GB of PSS on the render test's pages).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Proportional set size of `root` and every process below it, bytes, from `/proc` (0
/// where `/proc` is not there).
pub fn tree_rss(root: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    // (pid, parent, rss pages) of every process.
    let mut procs: Vec<(u32, u32, u64)> = Vec::new();
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command is in parentheses and may hold spaces: fields start after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        // rest: state(0) ppid(1) … rss(21)
        let (Some(ppid), Some(rss)) = (
            f.get(1).and_then(|s| s.parse().ok()),
            f.get(21).and_then(|s| s.parse::<u64>().ok()),
        ) else {
            continue;
        };
        procs.push((pid, ppid, rss));
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(procs.iter().filter(|c| c.1 == p).map(|c| c.0));
        i += 1;
    }
    procs
        .iter()
        .filter(|p| tree.contains(&p.0))
        .map(|p| pss(p.0).unwrap_or(p.2 * 4096))
        .sum()
}

/// `Pss:` of `/proc/PID/smaps_rollup`, bytes.
fn pss(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Pss:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Sample the tree of `pid` into `peak` every 500 ms while `alive` lives and the process
/// exists.
pub fn watch<T: Send + Sync + 'static>(pid: u32, peak: Arc<AtomicU64>, alive: Weak<T>) {
    tokio::spawn(async move {
        loop {
            if alive.upgrade().is_none() {
                return;
            }
            let now = tree_rss(pid);
            if now == 0 {
                return;
            }
            peak.fetch_max(now, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_resident_set() {
        let me = std::process::id();
        let rss = tree_rss(me);
        assert!(rss > 1 << 20, "{rss}");
    }
}
