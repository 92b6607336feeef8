//! The walker: element open/close and text events, in document order, → links with anchor,
//! alt and surrounding text, plus the page-level facts (title, `<html lang>`, `<base>`, meta
//! robots). Both extractors drive the same walker, so they differ only in how they decide
//! which elements are open when.

use super::tag::Tag;
use super::text::{cut_post, cut_pre, head_words, push_collapsed, tail_start, tail_words};
use super::{MAX_ANCHOR, MAX_CONTEXT, MAX_LINKS};
use linkdiff_model::LinkType;
use std::collections::VecDeque;

/// `text` with whitespace collapsed, not trimmed (trimmed and capped at the end).
pub(crate) fn collapsed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_collapsed(&mut out, text);
    out
}

/// Attribute lookup on an element, whatever holds it (a tree node or a token).
pub(crate) trait Attrs {
    /// The value of attribute `name` (lowercase), if present.
    fn attr(&self, name: &str) -> Option<&str>;
}

/// A link as found in the markup, before URL resolution.
#[derive(Debug)]
pub(crate) struct RawLink {
    pub(crate) href: String,
    pub(crate) link_type: LinkType,
    /// Anchor text, whitespace collapsed as it comes (trimmed and capped later).
    pub(crate) anchor: String,
    /// Alt text of an `<area>` or of the first `<img>` inside the link, collapsed like the
    /// anchor.
    pub(crate) alt: Option<String>,
    /// Already cut to ≤ 100 characters.
    pub(crate) text_pre: String,
    /// Already cut to ≤ 100 characters.
    pub(crate) text_post: String,
    pub(crate) nofollow: bool,
}

/// One pass over the events, collecting links with their text context.
#[derive(Default)]
pub(crate) struct Walker {
    pub(crate) links: Vec<RawLink>,
    /// `href` targets of links past [`MAX_LINKS`]: counted in the page fields, not stored.
    pub(crate) overflow_hrefs: Vec<String>,
    /// Visible text since the last block boundary, collapsed as it comes: a link's
    /// `text_pre` is cut from its end, its `text_post` from where the link closed. Only its
    /// tail is kept when it grows past [`BLOCK_TEXT_MAX`].
    block_text: String,
    /// Characters appended to `block_text` while links were collecting `text_post` (only
    /// differences are read).
    block_chars: usize,
    /// Links whose element is open: indices into `links`, capturing anchor text.
    open: Vec<usize>,
    /// Closed links still collecting `text_post`, oldest first, each with the offset in
    /// `block_text` where it closed and the value of `block_chars` then.
    pending_post: VecDeque<(usize, usize, usize)>,
    invisible_depth: usize,
    pub(crate) title: String,
    in_title: bool,
    pub(crate) html_lang: Option<String>,
    pub(crate) base_href: Option<String>,
    pub(crate) robots_nofollow: bool,
    pub(crate) robots_noindex: bool,
}

/// Non-space characters of a long text node kept for a later `text_pre`: only the tail of a
/// block's text is ever used.
const BLOCK_TEXT_KEEP: usize = 2 * MAX_CONTEXT;
/// Bytes of `block_text` that trigger compaction, and the length of a text node whose head
/// and tail alone are read.
const BLOCK_TEXT_MAX: usize = 16 * 1024;
/// Bytes of `block_text` kept by compaction: more than `text_pre` reads (103 characters of
/// up to 4 bytes) and than any link still collecting `text_post` can be behind the end
/// (under 102 non-space characters, each followed by at most one space).
const BLOCK_TEXT_TAIL: usize = 4 * (MAX_CONTEXT + 3) + 2 * (MAX_CONTEXT + 2);
/// Anchor bytes kept per link (capped to [`MAX_ANCHOR`] characters later).
const ANCHOR_KEEP: usize = 8 * MAX_ANCHOR;
/// Title bytes kept (collapsed as they come, capped to [`MAX_ANCHOR`] characters later).
const TITLE_KEEP: usize = 4 * MAX_ANCHOR;

impl Walker {
    /// End of the document: the last block closes.
    pub(crate) fn finish(&mut self) {
        self.boundary();
        for i in std::mem::take(&mut self.open) {
            self.links[i].anchor.shrink_to_fit();
        }
    }

    /// The attributes of an `<html>` element: the first `lang` wins.
    pub(crate) fn html(&mut self, el: &impl Attrs) {
        if self.html_lang.is_none() {
            self.html_lang = el.attr("lang").map(str::to_string);
        }
    }

    fn boundary(&mut self) {
        self.settle_post(true);
        self.block_text.clear();
        // Block elements inside a link separate words of its anchor.
        for &i in &self.open {
            push_collapsed(&mut self.links[i].anchor, " ");
        }
    }

    /// Give pending links their `text_post` once it is long enough (or, with `all`, now).
    fn settle_post(&mut self, all: bool) {
        while let Some(&(i, off, chars)) = self.pending_post.front() {
            // `cut_post` reads the first 101 characters after a leading space: once 103
            // have come, more text cannot change its answer.
            if !all && self.block_chars - chars < MAX_CONTEXT + 3 {
                break;
            }
            self.links[i].text_post = cut_post(self.block_text[off..].trim_start());
            self.pending_post.pop_front();
        }
    }

    /// Append visible text to `block_text`, collapsed; counted while links wait for
    /// `text_post`, which then settle when they can.
    fn push_block(&mut self, t: &str) {
        let before = self.block_text.len();
        push_collapsed(&mut self.block_text, t);
        if !self.pending_post.is_empty() {
            self.block_chars += self.block_text[before..].chars().count();
            self.settle_post(false);
        }
    }

    /// Keep only the tail of `block_text` once it is long.
    fn compact_block(&mut self) {
        if self.block_text.len() <= BLOCK_TEXT_MAX {
            return;
        }
        let mut cut = self.block_text.len() - BLOCK_TEXT_TAIL;
        if let Some(&(_, off, _)) = self.pending_post.front() {
            cut = cut.min(off);
        }
        while !self.block_text.is_char_boundary(cut) {
            cut -= 1;
        }
        self.block_text.drain(..cut);
        for (_, off, _) in &mut self.pending_post {
            *off -= cut;
        }
    }

    /// A text node (or part of one).
    pub(crate) fn text(&mut self, t: &str) {
        if self.in_title && self.title.len() < TITLE_KEEP {
            push_collapsed(&mut self.title, head_words(t, TITLE_KEEP));
        }
        if self.invisible_depth > 0 {
            return;
        }
        let head = if t.len() > BLOCK_TEXT_MAX {
            head_words(t, MAX_CONTEXT + 2)
        } else {
            t
        };
        self.push_block(head);
        if head.len() < t.len() {
            // A long text node: its head completes every pending text_post (it holds 102
            // non-space characters; NULs, which are dropped, aside), and only its tail is
            // read by a later text_pre.
            self.settle_post(true);
            self.block_text.clear();
            self.block_text.push(' ');
            push_collapsed(&mut self.block_text, tail_words(t, BLOCK_TEXT_KEEP));
        }
        self.compact_block();
        if !self.open.is_empty() {
            let t = head_words(t, MAX_ANCHOR + 1);
            for &i in &self.open {
                let a = &mut self.links[i].anchor;
                if a.len() < ANCHOR_KEEP {
                    push_collapsed(a, t);
                }
            }
        }
    }

    fn push_link(
        &mut self,
        href: &str,
        link_type: LinkType,
        nofollow: bool,
        alt: Option<String>,
    ) -> Option<usize> {
        if self.links.len() >= MAX_LINKS {
            if link_type == LinkType::Href {
                self.overflow_hrefs.push(href.to_string());
            }
            return None;
        }
        self.links.push(RawLink {
            href: href.to_string(),
            link_type,
            anchor: String::new(),
            alt,
            text_pre: self.text_pre(),
            text_post: String::new(),
            nofollow,
        });
        Some(self.links.len() - 1)
    }

    /// `text_pre` for a link starting now: the end of the block's text, cut. (`cut_pre`
    /// reads the last 101 characters and the one before them.)
    fn text_pre(&self) -> String {
        let text = self.block_text.trim_end();
        cut_pre(&text[tail_start(text, MAX_CONTEXT + 3)..])
    }

    fn collect_post(&mut self, i: usize) {
        self.pending_post
            .push_back((i, self.block_text.len(), self.block_chars));
    }

    /// An element opens (void elements open and close at once).
    pub(crate) fn open(&mut self, tag: Tag, el: &impl Attrs) {
        if tag == Tag::Title && self.title.is_empty() {
            self.in_title = true;
        }
        if tag.is_invisible() {
            self.invisible_depth += 1;
        }
        if tag.is_block() {
            self.boundary();
        }
        let rel_nofollow = || {
            el.attr("rel").is_some_and(|r| {
                r.split_ascii_whitespace().any(|t| {
                    t.eq_ignore_ascii_case("nofollow")
                        || t.eq_ignore_ascii_case("ugc")
                        || t.eq_ignore_ascii_case("sponsored")
                })
            })
        };
        match tag {
            Tag::Html => self.html(el),
            Tag::Base if self.base_href.is_none() => {
                self.base_href = el.attr("href").map(str::to_string);
            }
            Tag::A => {
                if let Some(href) = el.attr("href") {
                    if let Some(i) = self.push_link(href, LinkType::Href, rel_nofollow(), None) {
                        self.open.push(i);
                    }
                }
            }
            Tag::Area => {
                if let Some(href) = el.attr("href") {
                    let alt = Some(collapsed(el.attr("alt").unwrap_or("")));
                    if let Some(i) = self.push_link(href, LinkType::Href, rel_nofollow(), alt) {
                        self.collect_post(i);
                    }
                }
            }
            Tag::Img if !self.open.is_empty() => {
                let alt = el.attr("alt").unwrap_or("");
                for &i in &self.open {
                    let l = &mut self.links[i];
                    if l.alt.is_none() {
                        l.alt = Some(collapsed(alt));
                    }
                }
            }
            Tag::Br => self.text(" "),
            Tag::Frame | Tag::Iframe => {
                if let Some(src) = el.attr("src") {
                    let i = self.push_link(src, LinkType::Frame, false, None);
                    if let (Tag::Iframe, Some(i)) = (tag, i) {
                        self.collect_post(i);
                    }
                }
            }
            Tag::Form => {
                if let Some(action) = el.attr("action") {
                    self.push_link(action, LinkType::Form, false, None);
                }
            }
            Tag::Link => self.link_element(el),
            Tag::Meta => {
                let equiv = el.attr("http-equiv").unwrap_or("");
                let content = el.attr("content").unwrap_or("");
                if equiv.eq_ignore_ascii_case("refresh") {
                    if let Some(target) = super::refresh_target(content) {
                        self.push_link(&target, LinkType::Redirect, false, None);
                    }
                }
                let name = el.attr("name").unwrap_or("");
                if name.eq_ignore_ascii_case("robots") {
                    self.robots_nofollow |= super::robots_nofollow(content);
                    self.robots_noindex |= super::robots_noindex(content);
                }
            }
            _ => {}
        }
    }

    /// `<link rel=canonical|alternate>`.
    fn link_element(&mut self, el: &impl Attrs) {
        let Some(href) = el.attr("href") else {
            return;
        };
        let rel = el.attr("rel").unwrap_or("").to_ascii_lowercase();
        let tokens: Vec<&str> = rel.split_ascii_whitespace().collect();
        let link_type = if tokens.contains(&"canonical") {
            LinkType::Canonical
        } else if tokens.contains(&"alternate") {
            let ty = el.attr("type").unwrap_or("").trim().to_ascii_lowercase();
            if ty == "application/rss+xml" || ty == "application/atom+xml" {
                LinkType::Rss
            } else {
                LinkType::Alternate
            }
        } else {
            return;
        };
        let nofollow = tokens
            .iter()
            .any(|t| matches!(*t, "nofollow" | "ugc" | "sponsored"));
        self.push_link(href, link_type, nofollow, None);
    }

    /// An element closes.
    pub(crate) fn close(&mut self, tag: Tag) {
        if tag == Tag::Title {
            self.in_title = false;
        }
        if tag.is_invisible() {
            self.invisible_depth = self.invisible_depth.saturating_sub(1);
        }
        if tag == Tag::A {
            if let Some(pos) = self
                .open
                .iter()
                .rposition(|&i| self.links[i].link_type == LinkType::Href)
            {
                let i = self.open.remove(pos);
                self.collect_post(i);
            }
        }
        if tag.is_block() {
            self.boundary();
        }
    }
}
