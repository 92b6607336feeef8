//! Extraction fixtures: each `fixtures/NAME.html` (bytes as served) with `NAME.meta.json` (URL
//! and headers) must extract to `NAME.expected.json`, reviewed by hand. `UPDATE_GOLDEN=1`
//! rewrites the expected files (then review the diff). `make.py` regenerates the inputs.

mod fixture;

use linkdiff_crawler::extract;

#[test]
fn every_fixture_extracts_as_reviewed() {
    let fixtures = fixture::all();
    assert!(fixtures.len() >= 40, "only {} fixtures", fixtures.len());
    let dir = fixture::dir();
    let mut failed = Vec::new();
    for f in &fixtures {
        let name = &f.name;
        let got = extract(&f.input());
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
