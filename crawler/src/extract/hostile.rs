//! Pages built to be slow to parse: deep nesting, misnested and unclosed links, huge
//! attributes, endless stray end tags. The worst-case benchmark (`linkdiff bench extract
//! --hostile`) and the tests use them; extraction must stay linear in their size.

/// Hostile pages of about `size` bytes each, with a name saying what each stresses.
pub fn hostile_pages(size: usize) -> Vec<(&'static str, String)> {
    let fill = |unit: &str| unit.repeat(size / unit.len().max(1) + 1);
    vec![
        ("nested-divs", fill("<div>")),
        ("nested-custom-elements-then-stray-end-tags", {
            let half = size / 2;
            format!("{}{}", "<x-a>".repeat(half / 5), "</x-b>".repeat(half / 6))
        }),
        ("stray-end-tags-between-pushes", {
            let half = size / 2;
            format!(
                "<div>{}{}",
                "<x-a>".repeat(half / 5),
                "<x-c></x-b>".repeat(half / 11)
            )
        }),
        ("unclosed-links", fill("<a href=\"/p\">text ")),
        ("links-around-blocks", fill("<a href=\"/q\"><div>x ")),
        ("unclosed-formatting-in-paragraphs", fill("<b><i><u><p>t ")),
        (
            "nested-tables",
            fill("<table><tr><td>x<a href=\"/t\">t</a>"),
        ),
        ("huge-attribute", {
            format!(
                "<a href=\"/{}\" title=\"{}\">x</a>",
                "h".repeat(size / 2),
                "t".repeat(size / 2)
            )
        }),
        (
            "many-attributes",
            format!("<a href=\"/m\" {}>x</a>", fill("a=1 ")),
        ),
        ("links-in-one-block", fill("<a href=\"/l\">x</a> y ")),
        (
            "whitespace-between-links",
            fill("<a href=\"/w\">x</a>\n \n "),
        ),
        ("svg-soup", fill("<svg><a href=\"/s\"><p>x</svg>")),
    ]
}
