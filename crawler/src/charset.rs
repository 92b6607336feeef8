//! Decoding a body to text: BOM → HTTP charset → `<meta>` prescan → detection (SPEC §4).
//! A UTF-8 claim (HTTP or `<meta>`) on bytes that are not UTF-8 is ignored and the next step
//! decides: servers often send `charset=utf-8` for pages written in a legacy encoding.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};
use std::borrow::Cow;

/// A decoded body and the encoding name to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The text: the body itself when it already is UTF-8 (most pages), no copy.
    pub text: Cow<'a, str>,
    /// `utf8` for UTF-8, else the declared label lowercased when it was recognised, else the
    /// detected encoding's lowercase name.
    pub encoding: String,
}

/// How many leading bytes the `<meta>` prescan looks at (HTML standard: 1024).
const PRESCAN_BYTES: usize = 1024;

/// Decode `body`, given the HTTP `Content-Type` value and the host's TLD (a detection hint).
pub fn decode<'a>(body: &'a [u8], content_type: Option<&str>, tld: Option<&str>) -> Decoded<'a> {
    let (encoding, name) = sniff(body, content_type, tld);
    let (text, _, _) = encoding.decode(body);
    Decoded {
        text,
        encoding: name,
    }
}

/// The bytes are UTF-8, allowing a sequence cut off at the end (a body truncated at the cap).
fn utf8_ok(body: &[u8]) -> bool {
    match std::str::from_utf8(body) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// Choose the encoding and the name to report, without decoding.
pub fn sniff(
    body: &[u8],
    content_type: Option<&str>,
    tld: Option<&str>,
) -> (&'static Encoding, String) {
    if let Some((enc, _)) = Encoding::for_bom(body) {
        return (enc, report(enc, None));
    }
    let utf8 = utf8_ok(body);
    if let Some(label) = content_type.and_then(charset_param) {
        if let Some(enc) = Encoding::for_label(label.as_bytes()) {
            if enc != UTF_8 || utf8 {
                return (enc, report(enc, Some(&label)));
            }
        }
    }
    if let Some(label) = prescan_meta(&body[..body.len().min(PRESCAN_BYTES)]) {
        if let Some(enc) = Encoding::for_label(label.as_bytes()) {
            // A meta claiming UTF-16 on bytes without a BOM is UTF-8 (HTML standard).
            let enc = if enc == UTF_16LE || enc == UTF_16BE {
                UTF_8
            } else {
                enc
            };
            let enc = if enc.name() == "x-user-defined" {
                WINDOWS_1252
            } else {
                enc
            };
            let shown = if enc == UTF_8 {
                None
            } else {
                Some(label.as_str())
            };
            if enc != UTF_8 || utf8 {
                return (enc, report(enc, shown));
            }
        }
    }
    if utf8 {
        return (UTF_8, report(UTF_8, None));
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let (sample, whole) = non_ascii_context(body, DETECT_BYTES);
    det.feed(&sample, whole);
    let enc = det.guess(tld.map(str::as_bytes), chardetng::Utf8Detection::Allow);
    let enc = if enc.name().is_empty() {
        WINDOWS_1252
    } else {
        enc
    };
    (enc, report(enc, None))
}

fn report(enc: &'static Encoding, declared: Option<&str>) -> String {
    if enc == UTF_8 {
        return "utf8".to_string();
    }
    match declared {
        Some(l) => l.trim().to_ascii_lowercase(),
        None => enc.name().to_ascii_lowercase(),
    }
}

/// The `charset` parameter of a Content-Type value.
pub fn charset_param(ct: &str) -> Option<String> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            let v = v.trim().trim_matches(['"', '\'']).trim();
            (!v.is_empty()).then(|| v.to_string())
        } else {
            None
        }
    })
}

/// A simplified HTML-standard prescan: the first `charset=` inside a `<meta ...>` tag,
/// covering both `<meta charset="x">` and `<meta http-equiv content="...; charset=x">`.
fn prescan_meta(head: &[u8]) -> Option<String> {
    let lower: Vec<u8> = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = find(&lower[from..], b"<meta") {
        let start = from + i + 5;
        let end = lower[start..]
            .iter()
            .position(|&b| b == b'>')
            .map(|e| start + e)
            .unwrap_or(lower.len());
        let tag = &lower[start..end];
        if let Some(j) = find(tag, b"charset") {
            let rest = &tag[j + 7..];
            let rest = trim_start(rest);
            if let Some(rest) = rest.strip_prefix(b"=") {
                let rest = trim_start(rest);
                let rest = rest
                    .strip_prefix(b"\"")
                    .or_else(|| rest.strip_prefix(b"'"))
                    .unwrap_or(rest);
                let len = rest
                    .iter()
                    .position(|b| {
                        matches!(b, b'"' | b'\'' | b';' | b' ' | b'/' | b'\t' | b'\n' | b'\r')
                    })
                    .unwrap_or(rest.len());
                if len > 0 {
                    return Some(String::from_utf8_lossy(&rest[..len]).into_owned());
                }
            }
        }
        from = end;
    }
    None
}

/// Most bytes the detector is fed.
const DETECT_BYTES: usize = 64 * 1024;

/// ASCII bytes kept on each side of a non-ASCII byte for the detector.
const DETECT_CONTEXT: usize = 8;

/// What the detector needs of `body`: every non-ASCII byte with [`DETECT_CONTEXT`] bytes
/// around it, stretches joined by one space, at most `cap` bytes; and whether that covers the
/// whole body. chardetng scores byte pairs and spends its time on every byte fed: a page of
/// ASCII markup with non-ASCII text only in places (most pages) was detected at ~30 MB/s,
/// half of a crawl's CPU on a web of unlabelled legacy pages; the pairs it scores are all
/// still here, and Shift_JIS trail bytes in the ASCII range sit inside the context.
fn non_ascii_context(body: &[u8], cap: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut end = 0; // body[..end] is decided
    let mut i = 0;
    while i < body.len() {
        if body[i].is_ascii() {
            i += 1;
            continue;
        }
        let start = i.saturating_sub(DETECT_CONTEXT).max(end);
        if start > end && !out.is_empty() {
            out.push(b' ');
        }
        // The run of non-ASCII bytes and ASCII gaps shorter than two contexts.
        let mut stop = i;
        let mut j = i;
        while j < body.len() && j < stop + 2 * DETECT_CONTEXT + 1 {
            if !body[j].is_ascii() {
                stop = j;
            }
            j += 1;
        }
        let run_end = (stop + 1 + DETECT_CONTEXT).min(body.len());
        out.extend_from_slice(&body[start..run_end]);
        end = run_end;
        i = run_end;
        if out.len() >= cap {
            out.truncate(cap);
            return (out, false);
        }
    }
    (out, true)
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &s[n..]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_bom_then_header_then_meta_then_detection() {
        let meta = b"<meta charset=windows-1251><p>\xcf\xf0\xe8\xe2\xe5\xf2</p>";
        assert_eq!(decode(meta, None, None).encoding, "windows-1251");
        assert!(decode(meta, None, None).text.contains("Привет"));
        assert_eq!(
            decode(meta, Some("text/html; charset=koi8-r"), None).encoding,
            "koi8-r"
        );
        let bom = [&[0xEF, 0xBB, 0xBF][..], meta].concat();
        assert_eq!(
            decode(&bom, Some("text/html; charset=koi8-r"), None).encoding,
            "utf8"
        );
    }

    #[test]
    fn http_equiv_label_is_reported_as_declared() {
        let b =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\">caf\xe9";
        let d = decode(b, None, None);
        assert_eq!(d.encoding, "iso-8859-1");
        assert!(d.text.ends_with("café"));
    }

    #[test]
    fn meta_utf16_without_bom_means_utf8_and_bad_labels_fall_through() {
        assert_eq!(
            decode(b"<meta charset=utf-16>hi", None, None).encoding,
            "utf8"
        );
        assert_eq!(
            decode(
                b"<meta charset=bogus>hi",
                Some("text/html; charset=nope"),
                None
            )
            .encoding,
            "utf8"
        );
    }

    /// A page of ASCII markup around text in `enc`, detected without any label.
    fn unlabelled(text: &str, enc: &'static Encoding) -> Vec<u8> {
        let mut page = String::from("<!DOCTYPE html><html><head><title>t</title></head><body>");
        for (i, para) in text.split('.').enumerate() {
            page.push_str(&format!(
                "<div class=\"c{i}\"><p>Paragraph {i}: <a href=\"http://a.test/p{i}.html\">{para}</a> and some ASCII filler text.</p></div>\n"
            ));
        }
        page.push_str("</body></html>");
        enc.encode(&page).0.into_owned()
    }

    #[test]
    fn detection_on_the_non_ascii_context_agrees_with_the_whole_page() {
        use encoding_rs::*;
        let cases: [(&str, &'static Encoding); 6] = [
            ("Привет, мир. Это страница на русском языке. Ссылки и текст вокруг них. Москва и Санкт-Петербург", WINDOWS_1251),
            ("こんにちは世界。これは日本語のページです。リンクとその周りのテキスト。東京と大阪", SHIFT_JIS),
            ("Ceci est une page française. Les liens et le texte autour. Où est la bibliothèque? Très bien, merci", WINDOWS_1252),
            ("Dies ist eine deutsche Seite. Größere Straßen und Übungen. Schöne Grüße aus München", WINDOWS_1252),
            ("Γειά σου κόσμε. Αυτή είναι μια ελληνική σελίδα. Σύνδεσμοι και κείμενο γύρω τους", WINDOWS_1253),
            ("Toto je česká stránka. Odkazy a text kolem nich. Příliš žluťoučký kůň úpěl ďábelské ódy", WINDOWS_1250),
        ];
        for (text, enc) in cases {
            let body = unlabelled(text, enc);
            let mut whole = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
            whole.feed(&body, true);
            let full = whole.guess(None, chardetng::Utf8Detection::Allow);
            let (sample, all) = non_ascii_context(&body, DETECT_BYTES);
            assert!(all && sample.len() < body.len(), "{}", enc.name());
            let d = decode(&body, Some("text/html"), None);
            assert_eq!(
                d.encoding,
                full.name().to_ascii_lowercase(),
                "{}",
                enc.name()
            );
            assert_eq!(full, enc, "the whole page detects as written");
            assert!(
                d.text.contains(text.split('.').next().unwrap()),
                "{}",
                enc.name()
            );
        }
    }

    #[test]
    fn the_detector_sample_keeps_every_non_ascii_byte_with_its_neighbours() {
        let body = b"aaaaaaaaaaaaaaaaaaaa\xe9bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\xe8\xe7cc";
        let (s, all) = non_ascii_context(body, 1000);
        assert!(all);
        assert_eq!(&*s, &b"aaaaaaaa\xe9bbbbbbbb bbbbbbbb\xe8\xe7cc"[..]);
        // Close non-ASCII bytes share one stretch.
        let (s, _) = non_ascii_context(b"x\xe9yy\xe8z", 1000);
        assert_eq!(&*s, &b"x\xe9yy\xe8z"[..]);
        let (s, all) = non_ascii_context(&[0xe9; 100], 10);
        assert_eq!((s.len(), all), (10, false));
    }

    #[test]
    fn utf16_bom_is_honoured() {
        let mut b = vec![0xFF, 0xFE];
        for c in "<p>hé</p>".encode_utf16() {
            b.extend_from_slice(&c.to_le_bytes());
        }
        let d = decode(&b, None, None);
        assert_eq!(d.encoding, "utf-16le");
        assert_eq!(d.text, "<p>hé</p>");
    }
}
