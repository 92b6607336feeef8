//! Any bytes produce a result: never a panic, never a hang.

use linkdiff_crawler::{extract, PageInput};
use proptest::prelude::*;

fn run(body: &[u8], ct: Option<&str>) -> linkdiff_crawler::Extracted {
    extract(&PageInput {
        url: "https://bad.example.com/x",
        content_type: ct,
        body,
        ..Default::default()
    })
}

#[test]
fn pathological_pages() {
    assert!(run(b"", None).links.is_empty());
    let garbage: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    run(&garbage, None);
    // 10,000 nested elements with a link at the bottom.
    let deep = format!(
        "{}<a href=\"/deep\">deep</a>{}",
        "<div><span>".repeat(10_000),
        "</span></div>".repeat(10_000)
    );
    let ex = run(deep.as_bytes(), None);
    assert_eq!(ex.links.len(), 1);
    assert_eq!(ex.links[0].anchor, "deep");
    // A 5 MB page with many links: the first MAX_LINKS are stored, all are counted.
    let big = "<p>filler text <a href=\"https://o.org/\">link</a></p>".repeat(100_000);
    assert!(big.len() > 5_000_000);
    let ex = run(big.as_bytes(), None);
    assert_eq!(ex.links.len(), linkdiff_crawler::extract::MAX_LINKS);
    assert_eq!(ex.page.links_external, 100_000);
    assert_eq!(ex.links.last().unwrap().anchor, "link");
    run(b"<a href=\"http://[::1", None);
    run(
        b"<base href=\"::::\"><a href=\"x\">x</a>",
        Some("text/html; charset=\"\""),
    );
    run(b"\xff\xfe<\x00a\x00", Some("text/html; charset=utf-16"));
    run(
        b"<meta charset=\"\xff\xfe\"><a href=\"\x00\">\x00</a>",
        None,
    );
}

/// Every hostile page (deep nesting, misnested links, stray end tags, huge attributes) gives
/// a sane result; `linkdiff bench extract --hostile` times them (linear, see BENCHMARKS.md).
#[test]
fn hostile_pages_extract() {
    use linkdiff_crawler::extract::{hostile::hostile_pages, MAX_CONTEXT, MAX_LINKS};
    for (name, page) in hostile_pages(300_000) {
        let ex = run(page.as_bytes(), Some("text/html"));
        assert!(ex.links.len() <= MAX_LINKS, "{name}");
        for l in &ex.links {
            assert!(
                l.url_to.starts_with("https://bad.example.com/"),
                "{name}: {}",
                l.url_to
            );
            assert!(l.anchor.chars().count() <= 1000, "{name}");
            assert!(l.text_pre.chars().count() <= MAX_CONTEXT, "{name}");
        }
        let hrefs = ex.page.links_internal as usize;
        match name {
            "unclosed-links" | "links-in-one-block" | "whitespace-between-links" => {
                // Every `<a>` counts, the first MAX_LINKS are stored.
                assert!(hrefs > MAX_LINKS, "{name}: {hrefs}");
                assert_eq!(ex.links.len(), MAX_LINKS, "{name}");
            }
            "unclosed-formatting-in-paragraphs" | "nested-divs" => assert_eq!(hrefs, 0),
            "huge-attribute" | "many-attributes" => assert_eq!(ex.links.len(), 1, "{name}"),
            _ => {}
        }
    }
    // An unclosed link's anchor runs to the next link, not over the rest of the page.
    let ex = run(b"<a href=/1>one <a href=/2>two </div>", Some("text/html"));
    let anchors: Vec<&str> = ex.links.iter().map(|l| l.anchor.as_str()).collect();
    assert_eq!(anchors, ["one", "two"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let ex = run(&body, None);
        prop_assert_eq!(ex.page.page_size, body.len() as u64);
    }

    #[test]
    fn arbitrary_tag_soup(parts in proptest::collection::vec(prop_oneof![
        Just("<a href=\"/x\">".to_string()), Just("</a>".to_string()), Just("<p>".to_string()),
        Just("</div>".to_string()), Just("<base href=\"http://q/\">".to_string()),
        Just("<img alt=\"i\">".to_string()), Just("<br>".to_string()), Just("<table><td>".to_string()),
        Just("<iframe src=\"//f/\">".to_string()), Just("<script>".to_string()), "[a-z &;<>\"=]{0,12}",
    ], 0..80)) {
        let html = parts.concat();
        let ex = run(html.as_bytes(), Some("text/html"));
        for l in &ex.links {
            prop_assert!(l.url_to.starts_with("http"));
            prop_assert!(l.text_pre.chars().count() <= 100 && l.text_post.chars().count() <= 100);
        }
    }
}
