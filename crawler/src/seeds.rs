//! Seed lists: one URL per line, `#` comments, blank lines ignored.

use crate::normalize::parse_absolute;
use std::path::Path;
use url::Url;

/// Parse seed-list text. Returns the URLs and one warning per bad line (`file:line: why`).
pub fn parse_seed_list(name: &str, text: &str) -> (Vec<Url>, Vec<String>) {
    let mut urls = Vec::new();
    let mut warnings = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match parse_absolute(line) {
            Ok(u) => urls.push(u),
            Err(e) => warnings.push(format!("{name}:{}: {e}; line skipped", i + 1)),
        }
    }
    (urls, warnings)
}

/// Read and parse a seed file. A missing or unreadable file is an error.
pub fn read_seed_file(path: &Path) -> Result<(Vec<Url>, Vec<String>), crate::CrawlError> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::CrawlError::SeedFile {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    Ok(parse_seed_list(&path.display().to_string(), &text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blanks_and_bad_lines() {
        let (urls, warnings) = parse_seed_list(
            "s.txt",
            "# list\n\nhttps://Example.com/a#x  # trailing comment\nnot a url\nftp://x/\n",
        );
        assert_eq!(urls.len(), 1);
        assert_eq!(urls[0].as_str(), "https://example.com/a");
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].starts_with("s.txt:4:"), "{warnings:?}");
    }

    #[test]
    fn missing_file_is_an_error() {
        let e = read_seed_file(Path::new("/nonexistent/seeds.txt")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/seeds.txt"));
    }
}
