//! The dashboard in a real headless browser (Chromium): the page loads, a filter narrows the
//! tables, the CSV link holds the rows shown, tokens apply, an empty index says so; and, driven
//! over the DevTools protocol, the charts draw one bar per day with changes (counted in the
//! canvas' pixels), hovering a bar shows its day and values, dragging across the chart zooms
//! every chart and filters the tables (kept in the address). A screenshot is kept in
//! target/test-output/ui.png (README shows it).

use crate::support::*;
use linkdiff_testweb::WebConfig;
use std::path::Path;
use std::process::Command;

/// The test web of the dashboard tests, crawled on 2026-01-05 and 2026-01-12.
async fn dashboard_web() -> (
    linkdiff_testweb::RunningWeb,
    tempfile::TempDir,
    linkdiff_store::Store,
) {
    indexed_web(
        WebConfig {
            hosts: 8,
            pages_per_host: 5,
            ..WebConfig::default()
        },
        day("2026-01-05"),
        day("2026-01-12"),
    )
    .await
}

/// The DOM after the page's scripts ran (they mark `<body data-ready="1">` when done).
fn dom(browser: &Path, url: &str) -> String {
    let out = Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ])
        .output()
        .expect("run chromium");
    let html = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        html.contains("data-ready=\"1\""),
        "the page did not finish loading: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    html
}

/// The part of `html` from `id="from"` to `id="to"` (or the end).
fn section<'a>(html: &'a str, from: &str, to: Option<&str>) -> &'a str {
    let a = html.find(&format!("id=\"{from}\"")).expect("section");
    let b = to
        .and_then(|t| html[a..].find(&format!("id=\"{t}\"")).map(|i| a + i))
        .unwrap_or(html.len());
    &html[a..b]
}

fn attr<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let start = html.find(&format!("{name}=\""))? + name.len() + 2;
    let end = html[start..].find('"')? + start;
    Some(&html[start..end])
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_draws_the_targets_days_filters_tables_and_downloads_csv() {
    let Some(browser) = chromium_or_skip() else {
        return;
    };
    let (_w, dir, store) = dashboard_web().await;
    let db = dir.path().join("db");
    let addr = api(&store).await;
    let target = "h001.test";
    // What the page must show, from the API itself.
    let counts = cli_json(
        db.to_str().unwrap(),
        &[
            "backlinks_new_lost_counters",
            "--target",
            target,
            "--mode",
            "domain",
            "--select",
            "date,new,lost",
        ],
    );
    let days = counts["counts"].as_array().unwrap().len();
    assert!(days >= 2, "{counts}");
    let backlinks = cli_json(
        db.to_str().unwrap(),
        &[
            "backlinks",
            "--target",
            target,
            "--mode",
            "domain",
            "--select",
            "url_from,url_to,anchor,link_type,nofollow,domain_rating,first_seen,last_visited",
        ],
    );
    let rows = backlinks["refpages"].as_array().unwrap();
    let needle = rows
        .iter()
        .find_map(|r| r["anchor"].as_str().filter(|a| a.len() > 3))
        .unwrap()
        .to_string();
    let matching = rows
        .iter()
        .filter(|r| {
            r.as_object().unwrap().values().any(|v| {
                let s = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                s.to_lowercase().contains(&needle.to_lowercase())
            })
        })
        .count();
    assert!(matching < rows.len());
    let out = bin(&[
        "watch",
        "add",
        rows[0]["url_from"].as_str().unwrap(),
        rows[0]["url_to"].as_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(out.status.success());

    let base = format!("http://{addr}/ui#target={target}&mode=domain");
    let b = browser.clone();
    let url = base.clone();
    let page = tokio::task::spawn_blocking(move || dom(&b, &url))
        .await
        .unwrap();
    let chart = section(&page, "chart-backlinks", Some("chart-refdomains"));
    assert_eq!(
        attr(chart, "data-days"),
        Some(days.to_string().as_str()),
        "one day per counters row"
    );
    let bl = section(&page, "backlinks", Some("events"));
    assert_eq!(attr(bl, "data-rows"), Some(rows.len().to_string().as_str()));
    let watched = section(&page, "watched", Some("runs"));
    assert_eq!(attr(watched, "data-rows"), Some("1"));
    assert!(watched.contains("live"), "the watched link's state");
    let runs = section(&page, "runs", None);
    assert_eq!(attr(runs, "data-rows"), Some("2"));

    // A filter (from the address, as typing it in the box does) narrows the table and the CSV.
    let b = browser.clone();
    let url = format!("{base}&q={}", needle.replace(' ', "%20"));
    let page = tokio::task::spawn_blocking(move || dom(&b, &url))
        .await
        .unwrap();
    let bl = section(&page, "backlinks", Some("events"));
    assert_eq!(attr(bl, "data-rows"), Some(matching.to_string().as_str()));
    let csv_at = bl.find("class=\"csv\"").unwrap();
    let href = attr(&bl[csv_at..], "href").unwrap();
    let csv = percent_decode(href.strip_prefix("data:text/csv;charset=utf-8,").unwrap());
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "url_from,url_to,anchor,link_type,nofollow,domain_rating,first_seen,last_visited"
    );
    assert_eq!(lines.len(), matching + 1, "{csv}");

    // Tokens apply: without one the sections say so; with one the page loads.
    let token = linkdiff::api::tokens::create(&store, "ui", 100_000).unwrap();
    let b = browser.clone();
    let url = base.clone();
    let page = tokio::task::spawn_blocking(move || dom(&b, &url))
        .await
        .unwrap();
    assert!(section(&page, "watched", Some("runs")).contains("requires a token"));
    assert!(section(&page, "backlinks", Some("events")).contains("requires a token"));
    let url = format!("{base}&token={token}");
    let page = tokio::task::spawn_blocking(move || dom(&browser, &url))
        .await
        .unwrap();
    let bl = section(&page, "backlinks", Some("events"));
    assert_eq!(attr(bl, "data-rows"), Some(rows.len().to_string().as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_without_runs_says_so_in_the_charts() {
    let Some(browser) = chromium_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = linkdiff_store::Store::open(&dir.path().join("db")).unwrap();
    let addr = api(&store).await;
    let url = format!("http://{addr}/ui#target=example.com&mode=domain");
    let page = tokio::task::spawn_blocking(move || dom(&browser, &url))
        .await
        .unwrap();
    for id in ["chart-backlinks", "chart-refdomains", "chart-live"] {
        let at = page.find(&format!("id=\"{id}\"")).unwrap();
        let end = page[at..].find("</section>").unwrap() + at;
        assert!(
            page[at..end].contains("No runs yet"),
            "{id}: {}",
            &page[at..end]
        );
    }
}

/// Counts the bars of the two bar charts in their canvas: runs of the "new" colour just above
/// the zero line and of the "lost" colour just below it.
const COUNT_BARS: &str = r#"(() => {
  const out = {};
  for (const key of ["chart-backlinks", "chart-refdomains"]) {
    const u = window.linkdiffCharts[key];
    const c = u.ctx.canvas;
    const y0 = Math.round(u.valToPos(0, "y", true));
    const runs = (y, rgb) => {
      const d = u.ctx.getImageData(0, y, c.width, 1).data;
      let n = 0, inRun = false;
      for (let x = 0; x < c.width; x++) {
        const i = 4 * x;
        const hit = d[i + 3] > 200 && Math.abs(d[i] - rgb[0]) < 40 && Math.abs(d[i + 1] - rgb[1]) < 40 && Math.abs(d[i + 2] - rgb[2]) < 40;
        if (hit && !inRun) n++;
        inRun = hit;
      }
      return n;
    };
    out[key] = [runs(y0 - 2, [42, 143, 60]), runs(y0 + 2, [192, 57, 43])];
  }
  return out;
})()"#;

/// Where on the page (CSS pixels) a point of a chart's data is: `[x, y]` of day `t` at value
/// `v`.
fn chart_point(key: &str, t: i64, v: f64) -> String {
    format!(
        r#"(() => {{
  const u = window.linkdiffCharts["{key}"];
  const r = u.over.getBoundingClientRect();
  return [r.left + u.valToPos({t}, "x"), r.top + u.valToPos({v}, "y")];
}})()"#
    )
}

async fn ready(page: &chromiumoxide::Page) {
    for _ in 0..300 {
        let done: bool = js(page, "document.body.dataset.ready === '1'").await;
        if done {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the dashboard did not finish loading");
}

/// `fut`, or a panic naming `what` after 20 s (a browser step that never answers).
async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(20), fut)
        .await
        .unwrap_or_else(|_| panic!("the browser did not answer: {what}"))
}

async fn js<T: serde::de::DeserializeOwned>(page: &chromiumoxide::Page, expr: &str) -> T {
    bounded(expr, page.evaluate(expr))
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .into_value()
        .unwrap()
}

async fn mouse(
    page: &chromiumoxide::Page,
    kind: chromiumoxide::cdp::browser_protocol::input::DispatchMouseEventType,
    (x, y): (f64, f64),
    pressed: bool,
) {
    mouse_clicks(page, kind, (x, y), if pressed { 1 } else { 0 }).await
}

/// A mouse event with the left button and a click count (0: no button).
async fn mouse_clicks(
    page: &chromiumoxide::Page,
    kind: chromiumoxide::cdp::browser_protocol::input::DispatchMouseEventType,
    (x, y): (f64, f64),
    clicks: i64,
) {
    use chromiumoxide::cdp::browser_protocol::input::{DispatchMouseEventParams, MouseButton};
    let mut b = DispatchMouseEventParams::builder().r#type(kind).x(x).y(y);
    if clicks > 0 {
        b = b.button(MouseButton::Left).buttons(1).click_count(clicks);
    }
    bounded("a mouse event", page.execute(b.build().unwrap()))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_charts_are_bars_on_dates_with_values_on_hover_and_drag_to_zoom() {
    use chromiumoxide::browser::{Browser, BrowserConfig};
    use chromiumoxide::cdp::browser_protocol::input::DispatchMouseEventType as Mouse;
    use futures_util::StreamExt;
    let Some(browser_path) = chromium_or_skip() else {
        return;
    };
    // Three crawls: days with changes on 2026-01-05, -12 and -20.
    let (w, dir, store) = dashboard_web().await;
    w.web.set_epoch(1);
    crawl(&store, &crawl_cfg(&w, Some(day("2026-01-20")))).await;
    let db = dir.path().join("db");
    let dbs = db.to_str().unwrap();
    let target = "h001.test";
    let counts = |table: &str| -> Vec<(String, i64, i64)> {
        cli_json(
            dbs,
            &[
                table,
                "--target",
                target,
                "--mode",
                "domain",
                "--select",
                "date,new,lost",
            ],
        )["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["date"].as_str().unwrap().to_string(),
                    r["new"].as_i64().unwrap(),
                    r["lost"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let mut backlinks = counts("backlinks_new_lost_counters");
    let mut refdomains = counts("refdomains_new_lost_counters");
    backlinks.sort();
    refdomains.sort();
    assert!(backlinks.len() >= 3, "{backlinks:?}");
    let days_with = |c: &[(String, i64, i64)]| {
        (
            c.iter().filter(|r| r.1 > 0).count() as u64,
            c.iter().filter(|r| r.2 > 0).count() as u64,
        )
    };
    let live_now = cli_json(
        dbs,
        &[
            "backlinks",
            "--target",
            target,
            "--mode",
            "domain",
            "--select",
            "url_from",
        ],
    )["refpages"]
        .as_array()
        .unwrap()
        .len() as i64;
    let events_on = |d: &str| {
        cli_json(
            dbs,
            &[
                "backlinks_new_lost",
                "--target",
                target,
                "--mode",
                "domain",
                "--select",
                "date",
                "--where",
                &format!("date={d}"),
            ],
        )["refpages"]
            .as_array()
            .unwrap()
            .len()
    };
    let addr = api(&store).await;

    // The launcher wants a path, not a name to look up.
    let browser_path = if browser_path.components().count() == 1 {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(&browser_path))
            .find(|p| p.is_file())
            .unwrap_or(browser_path)
    } else {
        browser_path
    };
    let profile = tempfile::tempdir().unwrap();
    let (mut browser, mut handler) = Browser::launch(
        BrowserConfig::builder()
            .chrome_executable(&browser_path)
            .no_sandbox()
            .new_headless_mode()
            .window_size(1280, 1800)
            .user_data_dir(profile.path())
            .arg("--disable-gpu")
            .arg("--disable-dev-shm-usage")
            .build()
            .unwrap(),
    )
    .await
    .expect("launch Chromium");
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
    // A blank tab first, then the address: opening a tab straight at the URL sometimes never
    // reports back (every step is bounded, so a hang fails with the step's name instead).
    let page = bounded("open a tab", browser.new_page("about:blank"))
        .await
        .unwrap();
    bounded(
        "size the window",
        page.execute(
            chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams::new(
                1200, 1500, 1.0, false,
            ),
        ),
    )
    .await
    .unwrap();
    bounded(
        "load the dashboard",
        page.goto(format!("http://{addr}/ui#target={target}&mode=domain")),
    )
    .await
    .unwrap();
    ready(&page).await;

    // One bar per day with changes, new up and lost down, in both bar charts.
    let bars: serde_json::Value = js(&page, COUNT_BARS).await;
    let (new_days, lost_days) = days_with(&backlinks);
    assert_eq!(
        bars["chart-backlinks"],
        serde_json::json!([new_days, lost_days])
    );
    let (new_days, lost_days) = days_with(&refdomains);
    assert_eq!(
        bars["chart-refdomains"],
        serde_json::json!([new_days, lost_days])
    );
    // A real time axis: the x values are the days, and the tick labels (drawn in the canvas;
    // uPlot keeps their text) are dates.
    let xs: Vec<i64> = js(&page, r#"window.linkdiffCharts["chart-backlinks"].data[0]"#).await;
    let want: Vec<i64> = backlinks.iter().map(|r| day(&r.0)).collect();
    assert_eq!(xs, want);
    let ticks: String = js(
        &page,
        r#"window.linkdiffCharts["chart-backlinks"].axes[0]._values.filter(v => v).join("|")"#,
    )
    .await;
    assert!(
        ticks.contains("1/12") || ticks.contains("Jan") || ticks.contains("12"),
        "date ticks: {ticks}"
    );
    // The live-backlinks line ends at today's count.
    let live: i64 = js(
        &page,
        r#"window.linkdiffCharts["chart-live"].data[1].at(-1)"#,
    )
    .await;
    assert_eq!(live, live_now);

    // Hovering the middle day's bar shows its date and values.
    let (d, new, lost) = backlinks[1].clone();
    let (x, y): (f64, f64) = js(
        &page,
        &chart_point("chart-backlinks", day(&d), new as f64 / 2.0),
    )
    .await;
    mouse(&page, Mouse::MouseMoved, (x, y), false).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let tip: String = js(
        &page,
        r##"document.querySelector("#chart-backlinks .tip").textContent"##,
    )
    .await;
    assert_eq!(tip, format!("{d}: {new} new, {lost} lost"));

    // A screenshot for people (README), with the values shown.
    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-output/ui.png");
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    let png = bounded(
        "screenshot",
        page.execute(
            chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotParams::builder()
                .format(chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat::Png)
                .build(),
        ),
    )
    .await
    .unwrap();
    let png: Vec<u8> = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(AsRef::<str>::as_ref(&png.result.data))
            .unwrap()
    };
    std::fs::write(&shot, &png).unwrap();
    assert!(png.len() > 10_000, "screenshot at {}", shot.display());

    // Dragging across the middle day zooms every chart to it and filters the event table; the
    // address keeps the range, so a reload shows the same view.
    let t = day(&d);
    let (x1, _): (f64, f64) = js(&page, &chart_point("chart-backlinks", t - 30_000, 0.0)).await;
    let (x2, _): (f64, f64) = js(&page, &chart_point("chart-backlinks", t + 30_000, 0.0)).await;
    mouse(&page, Mouse::MouseMoved, (x1, y), false).await;
    mouse(&page, Mouse::MousePressed, (x1, y), true).await;
    for k in 1..=5 {
        let x = x1 + (x2 - x1) * k as f64 / 5.0;
        mouse(&page, Mouse::MouseMoved, (x, y), true).await;
    }
    mouse(&page, Mouse::MouseReleased, (x2, y), true).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let hash: String = js(&page, "location.hash").await;
    assert!(
        hash.contains(&format!("from={d}")) && hash.contains(&format!("to={d}")),
        "{hash}"
    );
    let on_day = events_on(&d);
    assert!(on_day > 0);
    let rows: String = js(
        &page,
        r#"document.getElementById("events").getAttribute("data-rows")"#,
    )
    .await;
    assert_eq!(
        rows,
        on_day.to_string(),
        "the events table keeps the day's rows"
    );
    let scales: Vec<f64> = js(
        &page,
        r#"["chart-backlinks", "chart-refdomains", "chart-live"].map(k => window.linkdiffCharts[k].scales.x.min)"#,
    )
    .await;
    assert!(
        scales
            .iter()
            .all(|m| (*m - scales[0]).abs() < 1.0 && *m > (t - 86_400) as f64),
        "every chart zoomed: {scales:?}"
    );
    bounded("reload", page.reload()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    ready(&page).await;
    let rows: String = js(
        &page,
        r#"document.getElementById("events").getAttribute("data-rows")"#,
    )
    .await;
    assert_eq!(rows, on_day.to_string(), "the zoom lives in the address");
    let min: f64 = js(
        &page,
        r#"window.linkdiffCharts["chart-backlinks"].scales.x.min"#,
    )
    .await;
    assert!(min > (t - 86_400) as f64, "{min}");

    // A double-click zooms back out: every day, every row, and the address forgets the range.
    for clicks in [1, 2] {
        mouse_clicks(&page, Mouse::MousePressed, (x1, y), clicks).await;
        mouse_clicks(&page, Mouse::MouseReleased, (x1, y), clicks).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let hash: String = js(&page, "location.hash").await;
    assert!(!hash.contains("from="), "{hash}");
    let all: usize = js(
        &page,
        r#"document.getElementById("events").querySelectorAll("tbody tr").length"#,
    )
    .await;
    assert!(all > on_day, "{all} rows after zooming out");
    let min: f64 = js(
        &page,
        r#"window.linkdiffCharts["chart-backlinks"].scales.x.min"#,
    )
    .await;
    assert!(min < day(&backlinks[0].0) as f64, "{min}");

    // The charts follow the window's width.
    let wide: f64 = js(&page, r#"window.linkdiffCharts["chart-backlinks"].width"#).await;
    bounded(
        "narrow the window",
        page.execute(
            chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams::new(
                600, 1500, 1.0, false,
            ),
        ),
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let narrow: f64 = js(&page, r#"window.linkdiffCharts["chart-backlinks"].width"#).await;
    assert!(wide > 900.0 && narrow < 600.0, "{wide} -> {narrow}");

    bounded("close the browser", browser.close()).await.unwrap();
    bounded("the browser exits", browser.wait()).await.unwrap();
    events.abort();
}
