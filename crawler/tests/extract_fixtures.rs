//! Extraction fixtures: each `fixtures/NAME.html` (bytes as served) with `NAME.meta.json` (URL
//! and headers) must extract to `NAME.expected.json`, reviewed by hand. `UPDATE_GOLDEN=1`
//! rewrites the expected files (then review the diff). `make.py` regenerates the inputs.

use linkdiff_crawler::{extract, PageInput};
use std::path::Path;

#[test]
fn every_fixture_extracts_as_reviewed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .into_string()
                .ok()?
                .strip_suffix(".meta.json")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 40, "only {} fixtures", names.len());
    let mut failed = Vec::new();
    for name in &names {
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.meta.json"))).unwrap(),
        )
        .unwrap();
        let body = std::fs::read(dir.join(format!("{name}.html"))).unwrap();
        let s = |k: &str| meta.get(k).and_then(|v| v.as_str());
        let got = extract(&PageInput {
            url: s("url").unwrap(),
            content_type: s("content_type"),
            content_language: s("content_language"),
            x_robots_tag: s("x_robots_tag"),
            link_header: s("link"),
            body: &body,
        });
        let got = serde_json::to_string_pretty(&got).unwrap() + "\n";
        let path = dir.join(format!("{name}.expected.json"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &got).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got != want {
            failed.push(format!("{name}:\n{got}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} fixture(s) differ:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
