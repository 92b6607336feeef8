//! Text helpers shared by both extractors: whitespace collapsing and the word-boundary cuts of
//! anchors, `text_pre` and `text_post`.

use super::MAX_CONTEXT;

/// Collapse whitespace runs to one space, trim, and cap at `max` characters.
pub(crate) fn collapse(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    let mut n = 0;
    for word in s.split_whitespace() {
        if n >= max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
            n += 1;
        }
        for c in word.chars() {
            if n >= max {
                break;
            }
            out.push(c);
            n += 1;
        }
    }
    out
}

/// The last ≤ 100 characters of `s`, dropping a word cut in half at the start.
pub(crate) fn cut_pre(s: &str) -> String {
    let s = s.trim();
    let count = s.chars().count();
    if count <= MAX_CONTEXT {
        return s.to_string();
    }
    let start = s
        .char_indices()
        .nth(count - MAX_CONTEXT)
        .map(|(i, _)| i)
        .unwrap_or(0);
    let cut_mid_word = !s[..start].ends_with(' ') && !s[start..].starts_with(' ');
    let tail = &s[start..];
    let tail = if cut_mid_word {
        tail.split_once(' ').map(|(_, r)| r).unwrap_or("")
    } else {
        tail
    };
    tail.trim().to_string()
}

/// The first ≤ 100 characters of `s`, dropping a word cut in half at the end.
pub(crate) fn cut_post(s: &str) -> String {
    let s = s.trim();
    let Some((end, _)) = s.char_indices().nth(MAX_CONTEXT) else {
        return s.to_string();
    };
    let cut_mid_word = !s[end..].starts_with(' ') && !s[..end].ends_with(' ');
    let head = &s[..end];
    let head = if cut_mid_word {
        head.rsplit_once(' ').map(|(l, _)| l).unwrap_or("")
    } else {
        head
    };
    head.trim().to_string()
}

/// Append `text` to `buf` with whitespace runs collapsed to one space (NULs dropped): a
/// leading or trailing run becomes one space unless `buf` is empty or already ends in one.
/// Whitespace is Unicode's (`char::is_whitespace`), as `str::split_whitespace` has it.
pub(crate) fn push_collapsed(buf: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut word_start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (is_space, len) = if b < 0x80 {
            (
                matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'),
                1,
            )
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            (c.is_whitespace(), c.len_utf8())
        };
        if is_space || b == 0 {
            if let Some(start) = word_start.take() {
                buf.push_str(&text[start..i]);
            }
            if is_space && !buf.is_empty() && !buf.ends_with(' ') {
                buf.push(' ');
            }
        } else if word_start.is_none() {
            word_start = Some(i);
        }
        i += len;
    }
    if let Some(start) = word_start {
        buf.push_str(&text[start..]);
    }
}

/// Characters `push_collapsed` keeps of `text`, not counting spaces.
pub(crate) fn count_non_space(text: &str) -> usize {
    if text.is_ascii() {
        text.bytes()
            .filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | 0))
            .count()
    } else {
        text.chars()
            .filter(|&c| !c.is_whitespace() && c != '\0')
            .count()
    }
}

/// The shortest prefix of `s` holding its first `n` non-whitespace characters and the
/// character after them (so a word cut there is still seen as cut), or all of `s`.
///
/// Everything collapsed and capped at fewer than `n` characters reads the same from this
/// prefix as from all of `s`, so long text nodes cost only what is kept.
pub(crate) fn head_words(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut seen = 0;
    for (i, c) in s.char_indices() {
        if seen == n {
            return &s[..i + c.len_utf8()];
        }
        if !c.is_whitespace() {
            seen += 1;
        }
    }
    s
}

/// The shortest suffix of `s` holding its last `n` non-whitespace characters and the
/// character before them, or all of `s`: what `cut_pre` of the collapsed text reads, for
/// `n` over 101.
pub(crate) fn tail_words(s: &str, n: usize) -> &str {
    let mut seen = 0;
    for (i, c) in s.char_indices().rev() {
        if seen == n {
            return &s[i..];
        }
        if !c.is_whitespace() {
            seen += 1;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_cuts_at_word_boundaries() {
        let long = "word ".repeat(40);
        let pre = cut_pre(&format!("{long}tail"));
        assert!(
            pre.chars().count() <= MAX_CONTEXT && pre.ends_with("tail") && pre.starts_with("word")
        );
        let post = cut_post(&format!("head {long}"));
        assert!(
            post.chars().count() <= MAX_CONTEXT
                && post.starts_with("head")
                && post.ends_with("word")
        );
        assert_eq!(cut_pre("abc"), "abc");
    }

    #[test]
    fn push_collapsed_matches_split_whitespace() {
        // The reference: words joined by one space, edges kept as one space.
        fn reference(buf: &mut String, text: &str) {
            let space = |buf: &mut String| {
                if !buf.is_empty() && !buf.ends_with(' ') {
                    buf.push(' ');
                }
            };
            if text.starts_with(char::is_whitespace) {
                space(buf);
            }
            for (i, word) in text.split_whitespace().enumerate() {
                if i > 0 {
                    buf.push(' ');
                }
                buf.extend(word.chars().filter(|&c| c != '\0'));
            }
            if text.ends_with(char::is_whitespace) {
                space(buf);
            }
        }
        for (prefix, text) in [
            ("", "  a  b\t\nc "),
            ("x", "y z"),
            ("x ", " y"),
            ("", "\u{a0}nbsp\u{3000}ideo\u{b}vt"),
            ("", "a\0b c\0"),
            ("w", ""),
            ("", "é  ü"),
        ] {
            let (mut a, mut b) = (prefix.to_string(), prefix.to_string());
            push_collapsed(&mut a, text);
            reference(&mut b, text);
            assert_eq!(a, b, "{prefix:?} + {text:?}");
        }
        assert_eq!(count_non_space(" a\u{a0}bc é "), 4);
    }

    #[test]
    fn head_words_keeps_what_a_capped_collapse_reads() {
        let s = format!("{}{}", " \n".repeat(500), "alpha beta gamma ".repeat(200));
        for n in [1, 5, 50, 101, 1001] {
            let h = head_words(&s, n + 1);
            assert!(h.len() < s.len());
            assert_eq!(collapse(h, n), collapse(&s, n));
        }
        assert_eq!(head_words("short", 10), "short");
        let pre = format!("{}{}", "lorem ipsum ".repeat(50), "\n ".repeat(2000));
        let t = tail_words(&pre, MAX_CONTEXT + 2);
        assert!(t.len() < pre.len());
        assert_eq!(
            cut_pre(&collapse(t, 10_000)),
            cut_pre(&collapse(&pre, 10_000))
        );
        assert_eq!(head_words("héllo wörld", 3), "héll");
    }
}
