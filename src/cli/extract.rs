//! `linkdiff extract FILE --url URL`: debug why a link is (not) counted.

use anyhow::Context;
use clap::Args;
use linkdiff_crawler::{extract_with, Engine, PageInput};
use std::path::PathBuf;

/// Arguments of `extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Saved page (raw bytes as served).
    file: PathBuf,
    /// The URL the page was served from (resolves relative links).
    #[arg(long)]
    url: String,
    /// Content-Type header, for its charset.
    #[arg(long)]
    content_type: Option<String>,
    /// json, ndjson or table.
    #[arg(long, default_value = "json", value_parser = ["json", "ndjson", "table"])]
    output: String,
    /// stream (default) or tree: the html5ever tree the streaming extractor is tested against,
    /// to see whether a difference comes from how the markup nests.
    #[arg(long, default_value = "stream", value_parser = ["stream", "tree"])]
    engine: String,
}

/// The `--engine` value as an [`Engine`].
pub(super) fn engine(name: &str) -> Engine {
    if name == "tree" {
        Engine::Tree
    } else {
        Engine::Stream
    }
}

pub(super) fn run(a: ExtractArgs) -> anyhow::Result<()> {
    let body =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let url = linkdiff_crawler::normalize::parse_absolute(&a.url)
        .map_err(|e| super::UsageError(format!("--url {e}")))?;
    let ex = extract_with(
        &PageInput {
            url: url.as_str(),
            content_type: a.content_type.as_deref(),
            body: &body,
            ..Default::default()
        },
        engine(&a.engine),
    );
    match a.output.as_str() {
        "json" => crate::outln!("{}", serde_json::to_string_pretty(&ex)?),
        "ndjson" => {
            for l in &ex.links {
                crate::outln!("{}", serde_json::to_string(l)?);
            }
        }
        _ => {
            let p = &ex.page;
            crate::outln!("url {}\nencoding {}\ntitle {}\nlanguage {}\npage_size {}\nlinks_internal {}\nlinks_external {}\n", p.url, p.encoding, p.title, p.language, p.page_size, p.links_internal, p.links_external);
            crate::outln!("link_type\tnofollow\turl_to\tanchor\talt\ttext_pre\ttext_post");
            for l in &ex.links {
                crate::outln!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    l.link_type,
                    l.nofollow,
                    l.url_to,
                    l.anchor,
                    l.alt,
                    l.text_pre,
                    l.text_post
                );
            }
        }
    }
    Ok(())
}
