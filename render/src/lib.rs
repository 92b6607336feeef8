//! Rendering in headless Chromium for `crawl --render` (see `linkdiff_crawler::render`).
//!
//! One browser process per crawl, started on the first page that needs it, with a pool of
//! `--render-tabs` tabs; each page gets a fresh tab, closed after it. The browser has no
//! network of its own:
//! - every request a page makes is paused over the DevTools protocol and answered by linkdiff
//!   ([`tab`]): the document from the body the crawler fetched, scripts, XHR and `fetch()`
//!   through the crawl's fetcher (SSRF guard, robots.txt, rate limit, body cap), images,
//!   stylesheets, fonts, media, other methods than GET, frames and navigations refused;
//! - anything that would leave without being paused (WebSockets, service workers, the
//!   browser's own traffic) goes to a proxy that is a [`sinkhole`]: a listener on loopback
//!   that closes every connection, and counts it.
//!
//! A browser that crashes is started again and the page tried once more. The browser is
//! started through `setpriv --pdeathsig KILL` where util-linux has it, so it dies with the
//! crawl even when the crawl is killed with SIGKILL; otherwise it is killed when the crawl
//! ends.

mod memory;
mod sinkhole;
mod tab;

use chromiumoxide::browser::{Browser, BrowserConfig};
use futures_util::StreamExt;
use linkdiff_crawler::render::{BoxFuture, RenderError, RenderJob, Rendered, Renderer};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};

pub use memory::{is_running, process_tree};
pub use sinkhole::Sinkhole;

/// Browsers looked up on the `PATH` when `--chromium` is not given, in this order.
pub const BROWSER_NAMES: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// Why rendering cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// No browser on the `PATH` and none given.
    #[error(
        "--render needs Chromium and none was found on the PATH (looked for {}): install \
         Debian's `chromium` package, or give the browser with --chromium PATH",
        BROWSER_NAMES.join(", ")
    )]
    NoBrowser,
    /// `--chromium` names no file.
    #[error("--chromium {0}: no such file")]
    NotAFile(PathBuf),
    /// The sinkhole or the profile directory could not be made.
    #[error("cannot prepare the browser: {0}")]
    Io(#[from] std::io::Error),
}

/// The first browser of [`BROWSER_NAMES`] on the `PATH`.
pub fn find_browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    BROWSER_NAMES.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// Settings of the browser.
#[derive(Debug, Clone)]
pub struct ChromiumConfig {
    /// The browser's executable.
    pub executable: PathBuf,
    /// Tabs rendering at once (`--render-tabs`).
    pub tabs: usize,
    /// Time a page gets to settle (`--render-timeout`).
    pub timeout: Duration,
}

impl ChromiumConfig {
    /// `executable` (or the first browser on the PATH) with `tabs` tabs and `timeout`.
    pub fn new(
        executable: Option<PathBuf>,
        tabs: usize,
        timeout: Duration,
    ) -> Result<ChromiumConfig, SetupError> {
        let executable = match executable {
            Some(p) if p.components().count() == 1 && !p.is_file() => {
                // A bare name: looked up on the PATH like a shell would.
                std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                    .map(|d| d.join(&p))
                    .find(|c| c.is_file())
                    .ok_or(SetupError::NotAFile(p))?
            }
            Some(p) if !p.is_file() => return Err(SetupError::NotAFile(p)),
            Some(p) => p,
            None => find_browser().ok_or(SetupError::NoBrowser)?,
        };
        Ok(ChromiumConfig {
            executable,
            tabs: tabs.max(1),
            timeout,
        })
    }
}

struct Running {
    browser: Arc<Browser>,
    events: tokio::task::JoinHandle<()>,
    generation: u64,
    pid: Option<u32>,
}

/// A blank tab made ready ahead of its page, from the browser of `generation`.
struct ReadyTab {
    page: chromiumoxide::Page,
    paused: tab::Paused,
    generation: u64,
}

struct Inner {
    cfg: ChromiumConfig,
    tabs: Semaphore,
    /// Tabs opened ahead: opening a tab costs 0.3–1.3 s of protocol round trips (measured),
    /// more than rendering a simple page, so the next tabs are opened while pages render.
    /// Each is still used for one page and closed after it.
    ready: std::sync::Mutex<Vec<ReadyTab>>,
    opening: std::sync::atomic::AtomicUsize,
    /// Set by [`Chromium::shutdown`]: no browser is started after it.
    closed: std::sync::atomic::AtomicBool,
    running: Mutex<Option<Running>>,
    generations: AtomicU64,
    peak_rss: Arc<AtomicU64>,
    sinkhole: Sinkhole,
    dir: tempfile::TempDir,
}

/// Name prefix of a crawl's browser profile directory in the temporary directory, followed by
/// the crawl's process id and `-`.
pub const PROFILE_PREFIX: &str = "linkdiff-render-";

/// Remove the profile directories in `tmp` of crawls that are no longer running: a crawl
/// killed with SIGKILL cannot remove its own (its browser dies with it, the directory stays).
/// Best effort: a directory that cannot be removed is left.
pub fn remove_stale_profiles(tmp: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PROFILE_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !memory::is_running(pid) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Headless Chromium as the crawl's [`Renderer`].
#[derive(Clone)]
pub struct Chromium {
    inner: Arc<Inner>,
}

impl Chromium {
    /// A renderer with `cfg`; the browser starts with the first page. Needs a tokio runtime
    /// (the sinkhole listens on it).
    pub async fn new(cfg: ChromiumConfig) -> Result<Chromium, SetupError> {
        let sinkhole = Sinkhole::start().await?;
        let tmp = std::env::temp_dir();
        remove_stale_profiles(&tmp);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{PROFILE_PREFIX}{}-", std::process::id()))
            .tempdir_in(&tmp)?;
        Ok(Chromium {
            inner: Arc::new(Inner {
                tabs: Semaphore::new(cfg.tabs),
                ready: std::sync::Mutex::new(Vec::new()),
                opening: std::sync::atomic::AtomicUsize::new(0),
                closed: std::sync::atomic::AtomicBool::new(false),
                cfg,
                running: Mutex::new(None),
                generations: AtomicU64::new(0),
                peak_rss: Arc::new(AtomicU64::new(0)),
                sinkhole,
                dir,
            }),
        })
    }

    /// Connections that reached the sinkhole: requests that escaped interception (0 unless
    /// the browser tried to reach the network by itself).
    pub fn escaped(&self) -> u64 {
        self.inner.sinkhole.connections()
    }

    /// Pids of the browser's main process now (for tests that check it dies).
    pub async fn browser_pid(&self) -> Option<u32> {
        self.inner.running.lock().await.as_ref().and_then(|r| r.pid)
    }

    /// Stop the browser for good: later pages fail to render (their static links stand).
    pub async fn shutdown(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner
            .ready
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        if let Some(r) = self.inner.running.lock().await.take() {
            stop(r).await;
        }
    }

    async fn browser(&self) -> Result<(Arc<Browser>, u64), RenderError> {
        let mut running = self.inner.running.lock().await;
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(RenderError::Browser("the renderer was shut down".into()));
        }
        if let Some(r) = running.as_ref() {
            if !r.events.is_finished() {
                return Ok((r.browser.clone(), r.generation));
            }
        }
        if let Some(old) = running.take() {
            stop(old).await;
        }
        let r = self.launch().await?;
        let out = (r.browser.clone(), r.generation);
        *running = Some(r);
        Ok(out)
    }

    /// Forget the browser of `generation` (it failed): the next page starts another.
    async fn discard(&self, generation: u64) {
        let mut running = self.inner.running.lock().await;
        if running.as_ref().is_some_and(|r| r.generation == generation) {
            if let Some(r) = running.take() {
                stop(r).await;
            }
        }
    }

    async fn launch(&self) -> Result<Running, RenderError> {
        let generation = self.inner.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let profile = self.inner.dir.path().join(format!("profile-{generation}"));
        let executable = launcher(self.inner.dir.path(), &self.inner.cfg.executable)
            .map_err(|e| RenderError::Browser(format!("cannot write the launcher: {e}")))?;
        // chromiumoxide writes each argument as `--KEY` or `--KEY=VALUES`: keys go without
        // dashes (written with them, Chromium saw `----proxy-server=…` and ignored it).
        let proxy = format!("http://{}", self.inner.sinkhole.addr());
        let limit = renderers().to_string();
        let config = BrowserConfig::builder()
            .chrome_executable(executable)
            .no_sandbox()
            .new_headless_mode()
            .user_data_dir(&profile)
            .launch_timeout(Duration::from_secs(30))
            .request_timeout(self.inner.cfg.timeout + Duration::from_secs(10))
            .arg("disable-gpu")
            .arg(("proxy-server", proxy.as_str()))
            .arg(("proxy-bypass-list", "<-loopback>"))
            .arg(("blink-settings", "imagesEnabled=false"))
            .arg("disable-component-update")
            .arg("disable-domain-reliability")
            // Tabs share a few renderer processes instead of one each: a renderer per page
            // cost memory and throughput (BENCHMARKS.md "Rendering"). The pages rendered
            // hold no user's data, so isolating sites from each other protects nothing here.
            .arg("process-per-site")
            .arg(("renderer-process-limit", limit.as_str()))
            .arg("disable-site-isolation-trials")
            .arg((
                "disable-features",
                &["site-per-process", "IsolateOrigins"][..],
            ))
            .build()
            .map_err(RenderError::Browser)?;
        let (mut browser, mut handler) = Browser::launch(config)
            .await
            .map_err(|e| RenderError::Browser(format!("cannot start Chromium: {e}")))?;
        let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
        let pid = browser.get_mut_child().and_then(|c| c.as_mut_inner().id());
        if let Some(pid) = pid {
            memory::watch(
                pid,
                self.inner.peak_rss.clone(),
                Arc::downgrade(&self.inner),
            );
        }
        Ok(Running {
            browser: Arc::new(browser),
            events,
            generation,
            pid,
        })
    }

    /// Open a blank tab in the current browser (started if need be) and make it ready.
    async fn open_tab(&self) -> Result<ReadyTab, RenderError> {
        let (browser, generation) = self.browser().await?;
        let opened =
            tokio::time::timeout(Duration::from_secs(10), browser.new_page("about:blank")).await;
        let page = match opened {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                self.discard(generation).await;
                return Err(RenderError::Browser(format!("cannot open a tab: {e}")));
            }
            Err(_) => {
                self.discard(generation).await;
                return Err(RenderError::Browser("no tab opened in 10 s".into()));
            }
        };
        let paused = tab::prepare(&page).await?;
        Ok(ReadyTab {
            page,
            paused,
            generation,
        })
    }

    /// A ready tab of the current browser: one opened ahead if there is one, else a new one.
    async fn take_tab(&self) -> Result<ReadyTab, RenderError> {
        let (_, generation) = self.browser().await?;
        let ahead = {
            let mut ready = self.inner.ready.lock().unwrap_or_else(|p| p.into_inner());
            // Tabs of a browser that was replaced are gone with it.
            ready.retain(|t| t.generation == generation);
            ready.pop()
        };
        match ahead {
            Some(t) => Ok(t),
            None => self.open_tab().await,
        }
    }

    /// Open tabs ahead in the background until half the tabs (at least one) are ready or
    /// being opened: enough to hide the opening, without a second browser's worth of idle
    /// tabs in memory.
    fn open_ahead(&self) {
        let want = self.inner.cfg.tabs.div_ceil(2);
        let have = self
            .inner
            .ready
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
            + self.inner.opening.load(Ordering::Acquire);
        for _ in have..want {
            self.inner.opening.fetch_add(1, Ordering::AcqRel);
            let me = self.clone();
            tokio::spawn(async move {
                if let Ok(t) = me.open_tab().await {
                    me.inner
                        .ready
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(t);
                }
                me.inner.opening.fetch_sub(1, Ordering::AcqRel);
            });
        }
    }

    async fn render_once(&self, job: RenderJob) -> Result<Rendered, RenderError> {
        let tab = self.take_tab().await?;
        self.open_ahead();
        let result = tab::render(&tab.page, tab.paused, job, self.inner.cfg.timeout).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), tab.page.close()).await;
        match result {
            // The page failed because its browser died under it: a browser failure (a new
            // browser, and one more try), not the page's.
            Err(RenderError::Page(e)) if !self.alive(tab.generation).await => {
                self.discard(tab.generation).await;
                Err(RenderError::Browser(format!("the browser died: {e}")))
            }
            other => other,
        }
    }

    /// Whether the browser of `generation` still runs.
    async fn alive(&self, generation: u64) -> bool {
        let running = self.inner.running.lock().await;
        let Some(r) = running.as_ref().filter(|r| r.generation == generation) else {
            return false;
        };
        if r.events.is_finished() {
            return false;
        }
        // Killed but not yet reaped (a zombie) counts as dead.
        r.pid.is_none_or(memory::is_running)
    }
}

async fn stop(r: Running) {
    r.events.abort();
    // While pages still hold the browser, their `Browser` drop kills the process
    // (`kill_on_drop`).
    if let Ok(mut b) = Arc::try_unwrap(r.browser) {
        let _ = tokio::time::timeout(Duration::from_secs(5), b.kill()).await;
    }
}

/// Renderer processes the browser may start: one per core, at least two.
fn renderers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

/// The executable to start: a script that starts `browser` under `setpriv --pdeathsig
/// KILL`, so the browser gets SIGKILL when the process that started it dies, however it
/// dies; `browser` itself when `setpriv` is not installed.
fn launcher(dir: &Path, browser: &Path) -> std::io::Result<PathBuf> {
    let Some(setpriv) = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file())
    else {
        return Ok(browser.to_path_buf());
    };
    let script = dir.join("chromium");
    if !script.exists() {
        let quoted = browser.to_string_lossy().replace('\'', r"'\''");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nexec {} --pdeathsig KILL -- '{quoted}' \"$@\"\n",
                setpriv.display()
            ),
        )?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(script)
}

impl Renderer for Chromium {
    fn render(&self, job: RenderJob) -> BoxFuture<'static, Result<Rendered, RenderError>> {
        let me = self.clone();
        Box::pin(async move {
            let _tab = me
                .inner
                .tabs
                .acquire()
                .await
                .map_err(|_| RenderError::Browser("the renderer was shut down".into()))?;
            match me.render_once(job.clone()).await {
                // The browser crashed or stopped answering: a new one, and one more try.
                Err(RenderError::Browser(_)) => me.render_once(job).await,
                other => other,
            }
        })
    }

    fn peak_rss(&self) -> u64 {
        self.inner.peak_rss.load(Ordering::Relaxed)
    }

    fn escaped(&self) -> u64 {
        self.escaped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_of_crawls_that_ended_are_removed_and_no_others() {
        let tmp = tempfile::tempdir().unwrap();
        let mut ended = std::process::Command::new("true").spawn().unwrap();
        let dead = ended.id();
        ended.wait().unwrap();
        let dirs = [
            format!("{PROFILE_PREFIX}{dead}-abc"),
            format!("{PROFILE_PREFIX}{}-def", std::process::id()),
            format!("{PROFILE_PREFIX}notapid"),
            "something-else-1".to_string(),
        ];
        for d in &dirs {
            std::fs::create_dir_all(tmp.path().join(d).join("profile-1")).unwrap();
        }
        remove_stale_profiles(tmp.path());
        let left: Vec<bool> = dirs.iter().map(|d| tmp.path().join(d).exists()).collect();
        assert_eq!(left, [false, true, true, true]);
    }
}
