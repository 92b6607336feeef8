//! `crawl --render` with a real headless Chromium on a loopback web of script-built pages:
//! links inserted with DOM calls and from a `fetch()` of JSON are found, an SPA shell is
//! rendered, a script probing private addresses reaches none of them (the server would log
//! it), a page that never settles is read at the timeout, `auto` stops rendering a host whose
//! rendering adds nothing, and no browser is left running.

use crate::support::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A page: content type and body, by `host` and path.
type Pages = HashMap<(String, String), (&'static str, String)>;

/// The test server: its port, the `host path` of every request it answered, and its pages
/// (which a test may change between crawls).
struct Web {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    pages: Arc<Mutex<Pages>>,
}

impl Web {
    /// The requests so far.
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Serve `body` as `ct` at `host` `path` from now on.
    fn set(&self, host: &str, path: &str, ct: &'static str, body: &str) {
        self.pages
            .lock()
            .unwrap()
            .insert((host.to_string(), path.to_string()), (ct, body.to_string()));
    }
}

/// Serve `pages(port)` on 127.0.0.1 (any port: the pages may name it), logging `host path`
/// of every request.
async fn serve(pages: impl FnOnce(u16) -> Pages) -> Web {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let pages = Arc::new(Mutex::new(pages(port)));
    let (l2, p2) = (log.clone(), pages.clone());
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (log, pages) = (l2.clone(), p2.clone());
        async move {
            let host = req
                .headers()
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("")
                .split(':')
                .next()
                .unwrap_or("")
                .to_string();
            let path = req.uri().path().to_string();
            log.lock().unwrap().push(format!("{host} {path}"));
            let page = pages.lock().unwrap().get(&(host, path)).cloned();
            match page {
                Some((ct, body)) => (axum::http::StatusCode::OK, [("content-type", ct)], body),
                None => (
                    axum::http::StatusCode::NOT_FOUND,
                    [("content-type", "text/plain")],
                    "not found".to_string(),
                ),
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Web { port, log, pages }
}

const TEXT: &str = "An ordinary article with enough words for a reader who never runs scripts. ";

/// The pages of `site.test` (scripts that add links, a probe, a page that never settles) and
/// `quiet.test` (script-built-looking pages whose scripts add nothing).
fn pages(port: u16) -> Pages {
    let html = |body: String| ("text/html; charset=utf-8", body);
    let js = |body: &str| ("application/javascript", body.to_string());
    let mut p = Pages::new();
    let mut put = |host: &str, path: &str, v: (&'static str, String)| {
        p.insert((host.to_string(), path.to_string()), v);
    };
    let article = TEXT.repeat(6);
    // Home: an ordinary article whose own script adds one link with DOM calls and another
    // from a JSON list.
    put(
        "site.test",
        "/",
        html(format!(
            "<html><head><title>Home</title></head><body><p>{article}</p>\
             <a href=\"/spa\">spa</a> <a href=\"/probe\">probe</a> <a href=\"/slow\">slow</a>\
             <a href=\"http://quiet.test:{port}/\">quiet</a>\
             <script src=\"/widget.js\"></script></body></html>"
        )),
    );
    put(
        "site.test",
        "/widget.js",
        js(
            "var a = document.createElement('a'); a.href = 'http://partner.test/dom'; \
            a.textContent = 'dom partner'; document.body.appendChild(a);\
            var add = list => list.forEach(u => {\
              var b = document.createElement('a'); b.href = u; b.textContent = 'fetched partner';\
              document.body.appendChild(b); });\
            fetch('/links.json').then(r => r.json()).then(add);\
            fetch('/private/links.json').then(r => r.json()).then(add);",
        ),
    );
    // robots.txt keeps renderings out of /private/ as it keeps the crawl out.
    put(
        "site.test",
        "/robots.txt",
        ("text/plain", "User-agent: *\nDisallow: /private/\n".into()),
    );
    put(
        "site.test",
        "/private/links.json",
        (
            "application/json",
            "[\"http://partner.test/private\"]".into(),
        ),
    );
    put(
        "site.test",
        "/links.json",
        (
            "application/json",
            "[\"http://partner.test/fetched\"]".into(),
        ),
    );
    // An SPA shell: nothing but a root and a script.
    put(
        "site.test",
        "/spa",
        html(
            "<html><head><title>App</title></head><body><div id=\"root\"></div>\
              <script src=\"/app.js\"></script></body></html>"
                .into(),
        ),
    );
    put(
        "site.test",
        "/app.js",
        js("document.getElementById('root').innerHTML = \
            '<nav><a href=\"http://partner.test/spa\">spa partner</a></nav>';"),
    );
    // A script that tries private addresses in every notation, then says what it got.
    let probe = format!(
        "var targets = ['http://127.0.0.1:{port}/secret', 'http://0x7f000001:{port}/secret', \
         'http://[::1]:{port}/secret', 'http://localhost:{port}/secret', \
         'http://2130706433:{port}/secret'];\
         try {{ new WebSocket('ws://127.0.0.1:{port}/secret-ws'); }} catch (e) {{}}\
         try {{ new WebSocket('ws://escape.test:{port}/secret-ws'); }} catch (e) {{}}\
         Promise.allSettled(targets.map(t => fetch(t))).then(rs => {{\
           var a = document.createElement('a');\
           a.href = 'http://partner.test/probe-' + rs.filter(r => r.status === 'rejected').length;\
           a.textContent = 'probe done'; document.body.appendChild(a); }});"
    );
    put(
        "site.test",
        "/probe",
        html("<html><body><p>probe</p><script src=\"/probe.js\"></script></body></html>".into()),
    );
    put("site.test", "/probe.js", js(&probe));
    // A page that keeps polling: never idle, read at the timeout.
    put(
        "site.test",
        "/slow",
        html("<html><body><p>slow</p><script src=\"/slow.js\"></script></body></html>".into()),
    );
    put(
        "site.test",
        "/slow.js",
        js(
            "var a = document.createElement('a'); a.href = 'http://partner.test/slow';\
            a.textContent = 'slow partner'; document.body.appendChild(a);\
            setInterval(() => fetch('/tick.json'), 100);",
        ),
    );
    put("site.test", "/tick.json", ("application/json", "{}".into()));
    // A host whose pages look script-built but whose script adds nothing.
    for path in ["/", "/two"] {
        put(
            "quiet.test",
            path,
            html(
                "<html><body><div id=\"app\"></div><a href=\"/two\">two</a>\
                 <script src=\"/nothing.js\"></script></body></html>"
                    .into(),
            ),
        );
    }
    put("quiet.test", "/nothing.js", js("var x = 1;"));
    p
}

fn partner_links(db: &str) -> Vec<(String, String)> {
    let v = cli_json(
        db,
        &[
            "backlinks",
            "--target",
            "partner.test",
            "--mode",
            "domain",
            "--select",
            "url_from,url_to,rendered",
        ],
    );
    let mut rows: Vec<(String, String)> = v["refpages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            // Every partner link is built by a script: found only in the rendered DOM.
            assert_eq!(r["rendered"], true, "{r}");
            (
                r["url_from"].as_str().unwrap().to_string(),
                r["url_to"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// Chromium (or `None`, said SKIPPED), the test server of [`pages`] with its log, and a
/// scratch directory: what every rendering test starts with.
async fn setup() -> Option<(std::path::PathBuf, Web, tempfile::TempDir)> {
    let chromium = chromium_or_skip()?;
    // The probe targets this server's own port: a request that got through is in its log.
    let web = serve(pages).await;
    Some((chromium, web, tempfile::tempdir().unwrap()))
}

/// `crawl` of `seeds` on the test server at `port` into `db` with `chromium` and `extra`
/// flags.
fn render_args(
    db: &str,
    port: u16,
    seeds: &[String],
    chromium: &std::path::Path,
    extra: &[&str],
) -> Vec<String> {
    let mut args = crawl_args(db, port, seeds, "2026-02-01", "0");
    args.extend([
        "--chromium".to_string(),
        chromium.to_str().unwrap().to_string(),
    ]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run_crawl(db: &str, port: u16, render: &str, chromium: &std::path::Path) -> String {
    let seeds = [
        format!("http://site.test:{port}/"),
        format!("http://quiet.test:{port}/"),
    ];
    let extra = [
        "--render",
        render,
        "--render-timeout",
        "3",
        "--render-tabs",
        "2",
    ];
    let args = render_args(db, port, &seeds, chromium, &extra);
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let out = bin(&a);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendering_finds_script_built_links_and_no_script_reaches_a_private_address() {
    let Some((chromium, web, dir)) = setup().await else {
        return;
    };
    let port = web.port;

    // Static only: none of the script-built links.
    let plain = dir.path().join("plain.db");
    let plain_s = plain.to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking({
        let (db, c) = (plain_s.clone(), chromium.clone());
        move || run_crawl(&db, port, "never", &c)
    })
    .await
    .unwrap();
    assert!(!out.contains("Rendered"), "{out} {:?}", web.log());
    assert_eq!(
        tokio::task::spawn_blocking(move || partner_links(&plain_s))
            .await
            .unwrap(),
        Vec::<(String, String)>::new()
    );

    // --render auto: the article (own script), the SPA shell, the probe and the slow page are
    // rendered; quiet.test's first page is, and adds nothing, so its second is not.
    let db = dir.path().join("auto.db");
    let db_s = db.to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking({
        let (db, c) = (db_s.clone(), chromium.clone());
        move || run_crawl(&db, port, "auto", &c)
    })
    .await
    .unwrap();
    let links = tokio::task::spawn_blocking({
        let db = db_s.clone();
        move || partner_links(&db)
    })
    .await
    .unwrap();
    // Remembered for the next run: the host where rendering found links, not quiet.test.
    let remembered = linkdiff_store::Store::open(&db)
        .unwrap()
        .meta(linkdiff_crawler::render::RENDER_HOSTS_META)
        .unwrap();
    assert_eq!(
        remembered.as_deref(),
        Some(format!("site.test:{port}").as_str())
    );
    let s = |a: &str, b: &str| {
        (
            a.replace("site.test", &format!("site.test:{port}")),
            b.to_string(),
        )
    };
    assert_eq!(
        links,
        vec![
            s("http://site.test/", "http://partner.test/dom"),
            s("http://site.test/", "http://partner.test/fetched"),
            // Every private notation was refused: five fetches rejected.
            s("http://site.test/probe", "http://partner.test/probe-5"),
            s("http://site.test/slow", "http://partner.test/slow"),
            s("http://site.test/spa", "http://partner.test/spa"),
        ],
        "{out} {:?}",
        web.log()
    );
    assert!(
        out.contains("Rendered 5 pages (1 cut by --render-timeout, 0 failed"),
        "{out}"
    );
    // v2 answers stay as they were: `rendered` only when selected; a link in the HTML of a
    // rendered page is not marked.
    let v = cli_json(
        &db_s,
        &["backlinks", "--target", "partner.test", "--mode", "domain"],
    );
    assert!(v["refpages"][0].get("rendered").is_none(), "{v}");
    let v = cli_json(
        &db_s,
        &[
            "backlinks",
            "--target",
            &format!("http://quiet.test:{port}/"),
            "--mode",
            "exact",
            "--select",
            "url_from,rendered",
        ],
    );
    assert_eq!(v["refpages"][0]["rendered"], false, "{v}");
    // API v3: `http_crawl` false (and `js_crawl` true) for a link only a rendering found.
    let store = linkdiff_store::Store::open(&db).unwrap();
    let addr = api(&store).await;
    for (target, http) in [("partner.test", false), ("quiet.test", true)] {
        let (status, _, body) = raw(
            addr,
            "GET",
            &format!(
                "/v3/site-explorer/all-backlinks?target={target}&mode=domain&history=live\
                 &aggregation=all&select=url_to,http_crawl,js_crawl"
            ),
            &[],
            b"",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let items = v["backlinks"].as_array().unwrap();
        assert!(!items.is_empty(), "{body}");
        for i in items {
            assert_eq!(i["http_crawl"], http, "{i}");
            assert_eq!(i["js_crawl"], !http, "{i}");
        }
    }
    assert!(out.contains(": 5 links found only by rendering;"), "{out}");
    // The WebSocket to a public name is not paused by the interception: it went to the
    // browser's proxy, which closed it (the server never saw it, below).
    let escaped: u64 = out
        .split(" connections outside the interception closed unanswered")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(escaped >= 1, "{out}");
    assert!(
        out.contains("refused (5 by the address guard, 1 by robots.txt,"),
        "the five private notations and the disallowed JSON are counted: {out}"
    );
    let log = web.log();
    // Nothing reached the server but by its test names: no request for the secrets.
    assert!(
        !log.iter().any(|l| l == "site.test /private/links.json"),
        "robots.txt was not obeyed: {log:?}"
    );
    assert!(
        log.iter().all(|l| !l.contains("secret")),
        "a private address was reached: {log:?}"
    );
    // The documents came from the crawler's fetch, not a second download (one fetch per
    // crawl: the static crawl's and this one's).
    assert_eq!(
        log.iter().filter(|l| *l == "site.test /spa").count(),
        2,
        "{log:?}"
    );
    // quiet.test: one rendering (its script fetched once), none for its second page.
    assert_eq!(
        log.iter()
            .filter(|l| *l == "quiet.test /nothing.js")
            .count(),
        1,
        "{log:?}"
    );
    assert!(log.iter().any(|l| l == "quiet.test /two"));
}

/// The processes below `root` whose command line names Chromium.
fn browser_descendants(root: u32) -> Vec<u32> {
    linkdiff_render::process_tree(root)
        .into_iter()
        .skip(1)
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("chrom"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_stopped_or_killed_while_rendering_leaves_no_browser_behind() {
    let Some((chromium, web, dir)) = setup().await else {
        return;
    };
    let port = web.port;
    for signal in ["TERM", "KILL"] {
        let db = dir.path().join(format!("{signal}.db"));
        // The page never settles: the crawl is rendering it when the signal comes.
        let args = render_args(
            db.to_str().unwrap(),
            port,
            &[format!("http://site.test:{port}/slow")],
            &chromium,
            &["--render", "always", "--render-timeout", "8"],
        );
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_linkdiff"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut child = KillOnDrop(child);
        let pid = child.0.id();
        let browsers = tokio::task::spawn_blocking(move || {
            // Bounded: 20 s for the browser to start.
            for _ in 0..200 {
                let b = browser_descendants(pid);
                // The browser and at least one of its renderers.
                if b.len() >= 2 {
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    return browser_descendants(pid);
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Vec::new()
        })
        .await
        .unwrap();
        assert!(!browsers.is_empty(), "SIG{signal}: no browser started");
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let waited = tokio::task::spawn_blocking(move || {
            // SIGTERM: the page in hand is finished (at most the 8 s timeout), then the
            // browser is stopped; SIGKILL: the kernel kills the browser at once. 20 s bound.
            let exit = child.0.wait();
            for _ in 0..100 {
                if browsers.iter().all(|p| !linkdiff_render::is_running(*p)) {
                    return (exit.is_ok(), Vec::new());
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let left: Vec<u32> = browsers
                .into_iter()
                .filter(|p| linkdiff_render::is_running(*p))
                .collect();
            (exit.is_ok(), left)
        })
        .await
        .unwrap();
        assert!(waited.0);
        assert!(
            waited.1.is_empty(),
            "SIG{signal}: browser processes left running: {:?}",
            waited.1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_killed_mid_crawl_is_started_again_and_no_page_loses_its_rendering() {
    let Some((chromium, web, dir)) = setup().await else {
        return;
    };
    let port = web.port;
    let db = dir.path().join("crash.db");
    let db_s = db.to_str().unwrap().to_string();
    // One tab: the pages are rendered one after another (the slow one takes 3 s), so the
    // browser is killed while a page renders and others are still to come.
    let args = render_args(
        &db_s,
        port,
        &[format!("http://site.test:{port}/")],
        &chromium,
        &[
            "--render",
            "always",
            "--render-timeout",
            "3",
            "--render-tabs",
            "1",
        ],
    );
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_linkdiff"))
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (killed, out) = tokio::task::spawn_blocking(move || {
        let mut child = KillOnDrop(child);
        // Bounded: 20 s for the browser to start, then its main process is killed.
        let mut killed = None;
        for _ in 0..200 {
            // The browser's main process is the first one below the crawl.
            if let Some(browser) = browser_descendants(pid).first() {
                std::thread::sleep(std::time::Duration::from_millis(1500));
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &browser.to_string()])
                    .status();
                killed = Some(*browser);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let mut out = String::new();
        std::io::Read::read_to_string(child.0.stdout.as_mut().unwrap(), &mut out).unwrap();
        let status = child.0.wait().unwrap();
        assert!(status.success(), "{out}");
        (killed, out)
    })
    .await
    .unwrap();
    assert!(killed.is_some(), "the browser never started: {out}");
    // Every page still rendered: the script-built links are all there, nothing failed.
    let links = tokio::task::spawn_blocking(move || partner_links(&db_s))
        .await
        .unwrap();
    let tos: Vec<&str> = links.iter().map(|(_, to)| to.as_str()).collect();
    assert_eq!(
        tos,
        [
            "http://partner.test/dom",
            "http://partner.test/fetched",
            "http://partner.test/probe-5",
            "http://partner.test/slow",
            "http://partner.test/spa",
        ],
        "{out}"
    );
    assert!(
        out.contains("0 failed and kept their static links"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_link_placed_by_a_script_is_rendered_even_when_the_crawl_does_not_render() {
    let Some((chromium, web, dir)) = setup().await else {
        return;
    };
    let port = web.port;
    let db = dir.path().join("watch.db");
    let db_s = db.to_str().unwrap().to_string();
    let spa = format!("http://site.test:{port}/spa");
    let out = bin(&[
        "watch",
        "add",
        &spa,
        "http://partner.test/spa",
        "--render",
        "--db",
        &db_s,
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("fetched and rendered"));
    let (out, links) = tokio::task::spawn_blocking(move || {
        // --render never and only the home page as seed: the watched page alone is rendered.
        let args = render_args(
            &db_s,
            port,
            &[format!("http://site.test:{port}/")],
            &chromium,
            &["--scope", "seeds"],
        );
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let out = bin(&a);
        assert!(out.status.success());
        (
            String::from_utf8_lossy(&out.stdout).to_string(),
            partner_links(&db_s),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        links,
        vec![(
            format!("http://site.test:{port}/spa"),
            "http://partner.test/spa".to_string()
        )],
        "{out}"
    );
    assert!(out.contains("Rendered 1 pages"), "{out}");
}

#[test]
fn rendering_without_a_browser_says_how_to_get_one_and_fetches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = db.to_str().unwrap();
    // No browser on the PATH.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_linkdiff"))
        .args([
            "crawl",
            "--db",
            db,
            "--url",
            "http://site.test/",
            "--render",
            "auto",
        ])
        .env("PATH", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("install Debian's `chromium` package") && err.contains("--chromium PATH"),
        "{err}"
    );
    // A --chromium that is not there.
    let out = bin(&[
        "crawl",
        "--db",
        db,
        "--url",
        "http://site.test/",
        "--render",
        "always",
        "--chromium",
        "/nonexistent/chromium",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--chromium /nonexistent/chromium: no such file"),
        "{err}"
    );
    // Nothing was crawled: the database was not even started.
    assert!(linkdiff_store::Store::open(std::path::Path::new(db))
        .map(|s| s.last_run().unwrap().is_none())
        .unwrap_or(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recrawl_renders_again_when_only_what_the_scripts_load_changed() {
    let Some((chromium, web, dir)) = setup().await else {
        return;
    };
    let port = web.port;
    let db = dir.path().join("again.db");
    let db_s = db.to_str().unwrap().to_string();
    let crawl = move |db: String, as_of: &'static str, chromium: std::path::PathBuf| {
        let mut args = render_args(
            &db,
            port,
            &[format!("http://site.test:{port}/")],
            &chromium,
            &[
                "--render",
                "auto",
                "--render-timeout",
                "3",
                "--scope",
                "seeds",
            ],
        );
        let at = args.iter().position(|a| a == "--as-of").unwrap();
        args[at + 1] = as_of.to_string();
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let out = bin(&a);
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let (d, c) = (db_s.clone(), chromium.clone());
    tokio::task::spawn_blocking(move || crawl(d, "2026-02-01", c))
        .await
        .unwrap();
    // The home page's HTML stays byte for byte the same; the list its script loads changes.
    web.set(
        "site.test",
        "/links.json",
        "application/json",
        "[\"http://partner.test/moved\"]",
    );
    let (d, c) = (db_s.clone(), chromium.clone());
    let out = tokio::task::spawn_blocking(move || crawl(d, "2026-02-08", c))
        .await
        .unwrap();
    let links = tokio::task::spawn_blocking(move || partner_links(&db_s))
        .await
        .unwrap();
    let tos: Vec<&str> = links.iter().map(|(_, to)| to.as_str()).collect();
    // Live backlinks now: the DOM link and the moved one; the old one is lost.
    assert_eq!(
        tos,
        ["http://partner.test/dom", "http://partner.test/moved"],
        "{out}"
    );
    assert!(out.contains("1 new and 1 lost backlinks"), "{out}");
    // The unchanged HTML was fetched whole (no conditional request can tell a rendered page
    // unchanged): two requests for it, one per run.
    assert_eq!(
        web.log().iter().filter(|l| *l == "site.test /").count(),
        2,
        "{:?}",
        web.log()
    );
}
