//! The browser's memory: the proportional set size (PSS) of its whole process tree (the
//! browser and its renderer, GPU and utility processes), sampled twice a second while it
//! runs; the peak is reported in the run summary. PSS, not RSS: Chromium's processes share
//! most of their pages, and a sum of resident sets counts those once per process (1.27 GB
//! against 0.4 GB of PSS on the render test's pages).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// `(pid, parent pid, resident pages)` of every process in `/proc`.
fn processes() -> Vec<(u32, u32, u64)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut procs = Vec::new();
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Some(f) = stat_fields(pid) else {
            continue;
        };
        // fields after the command: state(0) ppid(1) … rss(21)
        let (Some(ppid), Some(rss)) = (
            f.get(1).and_then(|s| s.parse().ok()),
            f.get(21).and_then(|s| s.parse::<u64>().ok()),
        ) else {
            continue;
        };
        procs.push((pid, ppid, rss));
    }
    procs
}

/// The fields of `/proc/PID/stat` after the command (which is in parentheses and may hold
/// spaces).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(String::from).collect())
}

/// `root` and every process below it (children, grandchildren, …), `root` first.
pub fn process_tree(root: u32) -> Vec<u32> {
    tree_of(root, &processes())
}

fn tree_of(root: u32, procs: &[(u32, u32, u64)]) -> Vec<u32> {
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(procs.iter().filter(|c| c.1 == p).map(|c| c.0));
        i += 1;
    }
    tree
}

/// Whether `pid` runs: it exists and is not a zombie waiting to be reaped.
pub fn is_running(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|state| state != "Z"))
}

/// Proportional set size of `root` and every process below it, bytes, from `/proc` (0
/// where `/proc` is not there).
pub fn tree_rss(root: u32) -> u64 {
    let procs = processes();
    let tree = tree_of(root, &procs);
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
    fn this_process_has_a_resident_set_and_runs_and_its_children_are_in_its_tree() {
        let me = std::process::id();
        let rss = tree_rss(me);
        assert!(rss > 1 << 20, "{rss}");
        assert!(is_running(me));
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep runs");
        let pid = child.id();
        assert!(process_tree(me).contains(&pid));
        child.kill().expect("killed");
        // Killed and not yet reaped: a zombie, which does not run.
        std::thread::sleep(Duration::from_millis(100));
        assert!(!is_running(pid));
        child.wait().expect("reaped");
        assert!(!is_running(pid));
    }
}
