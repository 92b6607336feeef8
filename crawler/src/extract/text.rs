//! Text helpers shared by both extractors: whitespace collapsing and the word-boundary cuts of
//! anchors, `text_pre` and `text_post`.

use super::MAX_CONTEXT;

/// Collapse whitespace runs to one space, trim, and cap at `max` characters: the definition
/// the tests hold [`push_collapsed`] + [`cap_collapsed`] to (the extractor collapses text as
/// it comes instead).
#[cfg(test)]
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
        // Whole words at once; only the word at the cap is cut, at a character boundary.
        let chars = if word.is_ascii() {
            word.len()
        } else {
            word.chars().count()
        };
        if n + chars <= max {
            out.push_str(word);
            n += chars;
        } else {
            let end = word
                .char_indices()
                .nth(max - n)
                .map_or(word.len(), |(i, _)| i);
            out.push_str(&word[..end]);
            n = max;
        }
    }
    out
}

/// [`collapse`] for text `push_collapsed` already wrote (so with NULs dropped): trimmed and
/// capped at `max` characters in place, without reading it word by word.
pub(crate) fn cap_collapsed(mut s: String, max: usize) -> String {
    // Collapsed text has at most one space at either end.
    if s.ends_with(' ') {
        s.pop();
    }
    if s.starts_with(' ') {
        s.remove(0);
    }
    if s.len() > max {
        let end = if s.as_bytes()[..max].is_ascii() {
            max
        } else {
            s.char_indices().nth(max).map_or(s.len(), |(i, _)| i)
        };
        s.truncate(end);
    }
    s
}

/// The last ≤ 100 characters of `s`, dropping a word cut in half at the start.
pub(crate) fn cut_pre(s: &str) -> String {
    let s = s.trim();
    let ascii = s.is_ascii();
    let count = if ascii { s.len() } else { s.chars().count() };
    if count <= MAX_CONTEXT {
        return s.to_string();
    }
    let start = if ascii {
        count - MAX_CONTEXT
    } else {
        s.char_indices()
            .nth(count - MAX_CONTEXT)
            .map(|(i, _)| i)
            .unwrap_or(0)
    };
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
    if s.len() <= MAX_CONTEXT {
        return s.to_string(); // at most 100 bytes, so at most 100 characters
    }
    let end = match s.as_bytes().get(..=MAX_CONTEXT) {
        Some(head) if head.is_ascii() => MAX_CONTEXT,
        _ => match s.char_indices().nth(MAX_CONTEXT) {
            Some((end, _)) => end,
            None => return s.to_string(),
        },
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
///
/// Text that is already collapsed (words and single spaces) is copied in one piece: only a
/// byte that changes something (another whitespace, a second space, a NUL) ends a piece.
pub(crate) fn push_collapsed(buf: &mut String, text: &str) {
    let bytes = text.as_bytes();
    // Whether a space here would be dropped (output empty or already ending in a space).
    let mut after_space = buf.is_empty() || buf.ends_with(' ');
    // Most text nodes are printable ASCII words and single spaces already: one piece.
    if is_collapsed_ascii(bytes) {
        let text = match after_space {
            true => text.strip_prefix(' ').unwrap_or(text),
            false => text,
        };
        buf.push_str(text);
        return;
    }
    let mut piece = 0; // text[piece..i] is copied as is
    let mut i = 0;
    while i < bytes.len() {
        // Printable ASCII other than space (most of any text) 8 bytes at a time.
        if let Some(w) = word_at(bytes, i) {
            match lowest_special(w) {
                None => {
                    after_space = false;
                    i += 8;
                    continue;
                }
                Some(0) => {}
                Some(skip) => {
                    after_space = false;
                    i += skip;
                }
            }
        }
        let b = bytes[i];
        if b >= 0x80 {
            let c = text[i..].chars().next().unwrap_or(' ');
            let len = c.len_utf8();
            if c.is_whitespace() {
                buf.push_str(&text[piece..i]);
                if !after_space {
                    buf.push(' ');
                    after_space = true;
                }
                piece = i + len;
            } else {
                after_space = false;
            }
            i += len;
            continue;
        }
        match b {
            b' ' if !after_space => after_space = true,
            b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' => {
                buf.push_str(&text[piece..i]);
                if !after_space {
                    buf.push(' ');
                    after_space = true;
                }
                piece = i + 1;
            }
            0 => {
                buf.push_str(&text[piece..i]);
                piece = i + 1;
            }
            _ => after_space = false,
        }
        i += 1;
    }
    buf.push_str(&text[piece..]);
}

/// ASCII whitespace as `char::is_whitespace` has it.
fn ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

// Eight bytes at a time ("SIMD within a register"): the text helpers read every byte of the
// context around every link, and most of those bytes are letters.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The 8 bytes of `b` at `i`, little-endian (the first byte lowest), if there are 8.
fn word_at(b: &[u8], i: usize) -> Option<u64> {
    let chunk: [u8; 8] = b.get(i..i + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// Index of the first byte of `w` that is a space, a control character or not ASCII, if
/// any. (`w - 0x21…` can flag bytes above a truly flagged one through the borrow, never
/// below it, so the lowest flag is exact.)
fn lowest_special(w: u64) -> Option<usize> {
    let flags = ((w.wrapping_sub(ONES * 0x21) & !w) | w) & HIGH;
    (flags != 0).then(|| flags.trailing_zeros() as usize / 8)
}

/// Whether `w` holds a control character (below 0x20) or a non-ASCII byte. Exact per byte.
fn has_control_or_high(w: u64) -> bool {
    (!((w & LOW7) + ONES * 0x60) | w) & HIGH != 0
}

/// The high bit of every space (0x20) in `w`. Exact per byte.
fn space_mask(w: u64) -> u64 {
    let y = w ^ (ONES * 0x20);
    !(((y & LOW7) + LOW7) | y) & HIGH
}

/// Spaces (0x20) in `w`. Exact per byte.
fn spaces_in(w: u64) -> usize {
    space_mask(w).count_ones() as usize
}

/// Whether `b` is printable ASCII (DEL included) with no two spaces in a row: text
/// `push_collapsed` copies as it is, but for a leading space.
fn is_collapsed_ascii(b: &[u8]) -> bool {
    let mut prev_space = false;
    let mut i = 0;
    while let Some(w) = word_at(b, i) {
        let s = space_mask(w);
        if has_control_or_high(w) || s & (s >> 8) != 0 || (prev_space && s & 0x80 != 0) {
            return false;
        }
        prev_space = s >> 63 != 0;
        i += 8;
    }
    for &c in &b[i..] {
        if !(b' '..0x80).contains(&c) || (c == b' ' && prev_space) {
            return false;
        }
        prev_space = c == b' ';
    }
    true
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
    // Byte by byte while the text is ASCII (only as far as the answer reads); from the first
    // other byte on, char by char from the start.
    let b = s.as_bytes();
    let mut seen = 0;
    let mut i = 0;
    while i < b.len() {
        // Whole words of printable ASCII and spaces while they cannot reach `n`.
        if let Some(w) = word_at(b, i) {
            if !has_control_or_high(w) {
                let non_space = 8 - spaces_in(w);
                if seen + non_space < n {
                    seen += non_space;
                    i += 8;
                    continue;
                }
            }
        }
        let c = b[i];
        if c >= 0x80 {
            return head_words_by_char(s, n);
        }
        if seen == n {
            return &s[..=i];
        }
        if !ascii_space(c) {
            seen += 1;
        }
        i += 1;
    }
    s
}

/// [`head_words`] char by char (any text).
fn head_words_by_char(s: &str, n: usize) -> &str {
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
    // Backwards while the text is ASCII (only as far as the answer reads): whole words of
    // printable ASCII and spaces while they cannot reach `n`, then byte by byte.
    let b = s.as_bytes();
    let mut seen = 0;
    let mut i = b.len(); // b[i..] is read
    while i > 0 {
        if let Some(w) = i.checked_sub(8).and_then(|j| word_at(b, j)) {
            if !has_control_or_high(w) {
                let non_space = 8 - spaces_in(w);
                if seen + non_space < n {
                    seen += non_space;
                    i -= 8;
                    continue;
                }
            }
        }
        i -= 1;
        let c = b[i];
        if c >= 0x80 {
            return tail_words_by_char(s, n);
        }
        if seen == n {
            return &s[i..];
        }
        if !ascii_space(c) {
            seen += 1;
        }
    }
    s
}

/// Where the last `n` characters of `s` start (0 if it has fewer).
pub(crate) fn tail_start(s: &str, n: usize) -> usize {
    let Some(start) = s.len().checked_sub(n) else {
        return 0; // at most n bytes, so at most n characters
    };
    if s.as_bytes()[start..].is_ascii() {
        return start;
    }
    s.char_indices().rev().nth(n - 1).map_or(0, |(i, _)| i)
}

/// [`tail_words`] char by char (any text).
fn tail_words_by_char(s: &str, n: usize) -> &str {
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
            collapsed_by_words(&mut b, text);
            assert_eq!(a, b, "{prefix:?} + {text:?}");
        }
    }

    /// `collapse` as it was: char by char.
    fn collapse_by_char(s: &str, max: usize) -> String {
        let mut out = String::new();
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

    /// `cut_pre` and `cut_post` as they were before their ASCII paths.
    fn cut_pre_by_char(s: &str) -> String {
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

    fn cut_post_by_char(s: &str) -> String {
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

    proptest::proptest! {
        #[test]
        fn context_cuts_match_their_char_by_char_definitions(
            text in "[ab ]{0,3}[abc é]{90,130}[ab ]{0,3}",
        ) {
            let ascii: String = text.chars().filter(char::is_ascii).collect();
            for t in [&text, &ascii] {
                proptest::prop_assert_eq!(cut_pre(t), cut_pre_by_char(t));
                proptest::prop_assert_eq!(cut_post(t), cut_post_by_char(t));
            }
        }
    }

    /// The collapse rule written the obvious way: words joined by one space, an edge run of
    /// whitespace kept as one space, NULs dropped.
    fn collapsed_by_words(buf: &mut String, text: &str) {
        let text: String = text.chars().filter(|&c| c != '\0').collect();
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
            buf.push_str(word);
        }
        if text.ends_with(char::is_whitespace) && !text.trim().is_empty() {
            space(buf);
        }
    }

    /// Every text helper against its char-by-char definition on one input.
    fn same_as_definitions(
        prefix: &str,
        text: &str,
        n: usize,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let (mut fast, mut slow) = (prefix.to_string(), prefix.to_string());
        push_collapsed(&mut fast, text);
        collapsed_by_words(&mut slow, text);
        proptest::prop_assert_eq!(&fast, &slow, "{:?} + {:?}", prefix, text);
        proptest::prop_assert_eq!(collapse(text, n), collapse_by_char(text, n));
        let mut pieces = String::new();
        for piece in text.split_inclusive('b') {
            push_collapsed(&mut pieces, piece);
        }
        // push_collapsed drops NULs; collapse keeps them.
        let no_nul = text.replace('\0', "");
        proptest::prop_assert_eq!(cap_collapsed(pieces, n), collapse(&no_nul, n));
        let ascii: String = text.chars().filter(char::is_ascii).collect();
        for t in [text, &ascii] {
            proptest::prop_assert_eq!(head_words(t, n), head_words_by_char(t, n));
            proptest::prop_assert_eq!(tail_words(t, n), tail_words_by_char(t, n));
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn text_helpers_match_their_char_by_char_definitions(
            prefix in "[a ]{0,3}",
            text in "[a-c \t\n\r\x0b\x0c\x00é\u{a0}\u{3000}]{0,40}",
            n in 0usize..12,
        ) {
            same_as_definitions(&prefix, &text, n)?;
        }

        /// Long, mostly ASCII text, so that the eight-bytes-at-a-time paths run, stop at
        /// every kind of byte and hand over to the byte-by-byte ones at every offset.
        #[test]
        fn text_helpers_match_their_definitions_on_long_text(
            prefix in "[a ]{0,2}",
            text in "([a-z]{1,9}[ \t\n\x0c\r\x00\x01\x7f]{1,3}|é|\u{a0}){0,40}",
            n in 0usize..120,
        ) {
            same_as_definitions(&prefix, &text, n)?;
        }
    }

    #[test]
    fn eight_byte_tests_flag_exactly_the_bytes_they_name() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let mut bytes = *b"abcdefgh";
                bytes[pos] = b;
                let w = u64::from_le_bytes(bytes);
                let special = b <= b' ' || b >= 0x80;
                assert_eq!(lowest_special(w), special.then_some(pos), "{b:#x} at {pos}");
                assert_eq!(has_control_or_high(w), !(b' '..0x80).contains(&b), "{b:#x}");
                assert_eq!(spaces_in(w), usize::from(b == b' '), "{b:#x}");
            }
        }
        assert_eq!(spaces_in(u64::from_le_bytes(*b"  \x00 a  b")), 5);
        for (text, collapsed) in [
            ("one two three four five", true),
            ("one two  three four five", false),
            ("one two three fo\tr five", false),
            ("one two three fou  five", false),
            ("1234567 8", true),
            ("1234567  8", false),
            (" lead and trail ", true),
            ("é", false),
            ("a\x7f", true),
        ] {
            assert_eq!(is_collapsed_ascii(text.as_bytes()), collapsed, "{text:?}");
        }
        assert_eq!(
            lowest_special(u64::from_le_bytes(*b"ab\x00 \x01\xff c")),
            Some(2)
        );
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
