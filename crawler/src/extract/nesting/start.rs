//! Start tags: where each opens (implied end tags, formatting elements reopened, foreign content, tables, frameset documents).

use super::*;

impl<'w> Nesting<'w> {
    /// A start tag. Returns the tokenizer state to switch to, if any.
    pub(crate) fn start_tag(
        &mut self,
        name: &[u8],
        attrs: &impl Attrs,
        self_closing: bool,
    ) -> Option<TextMode> {
        self.started = true;
        let mut tag = Tag::from_name(name);
        let hash = if tag == Tag::Other {
            name_hash(name)
        } else {
            0
        };
        if self.in_frameset {
            return self.frameset_start(tag, attrs);
        }
        if self.foreign_content() {
            let font_breaks = tag == Tag::Font
                && ["color", "face", "size"]
                    .iter()
                    .any(|a| attrs.attr(a).is_some());
            if !tag.breaks_out_of_foreign() && !font_breaks {
                self.walker.open(tag, attrs);
                if self_closing {
                    self.walker.close(tag);
                } else {
                    self.push(tag, true, hash);
                }
                return None;
            }
            self.leave_foreign_content();
        }
        if tag == Tag::Image {
            tag = Tag::Img;
        }
        if self.counts[Tag::Select as usize] > 0 {
            match tag {
                Tag::Select => {
                    if let Some(pos) = self.in_scope(Tag::Select, Scope::Select) {
                        self.pop_to(pos);
                    }
                    return None;
                }
                Tag::Input | Tag::Keygen | Tag::Textarea => {
                    if let Some(pos) = self.in_scope(Tag::Select, Scope::Select) {
                        self.pop_to(pos);
                    }
                }
                _ => {}
            }
        }
        if matches!(
            tag,
            Tag::Pre
                | Tag::Listing
                | Tag::Li
                | Tag::Dd
                | Tag::Dt
                | Tag::Button
                | Tag::Applet
                | Tag::Marquee
                | Tag::Object
                | Tag::Table
                | Tag::Area
                | Tag::Br
                | Tag::Embed
                | Tag::Img
                | Tag::Keygen
                | Tag::Wbr
                | Tag::Hr
                | Tag::Textarea
                | Tag::Xmp
                | Tag::Iframe
                | Tag::Select
        ) {
            self.frameset_ok = false;
        }
        match tag {
            Tag::Html => {
                self.walker.html(attrs);
                return None;
            }
            Tag::Head | Tag::Body => return None,
            Tag::Frameset => {
                if self.frameset_ok {
                    self.in_frameset = true;
                }
                return None;
            }
            // Outside a frameset document a frame is dropped.
            Tag::Frame => return None,
            Tag::Svg | Tag::Math => {
                self.reopen_formatting();
                self.walker.open(tag, attrs);
                if self_closing {
                    self.walker.close(tag);
                } else {
                    self.push(tag, true, 0);
                }
                return None;
            }
            Tag::A => {
                self.close_formatting(Tag::A, true);
            }
            Tag::Form => {
                if self.form_pointer && self.counts[Tag::Template as usize] == 0 {
                    return None;
                }
                self.close_p();
                self.form_pointer = true;
            }
            Tag::Li | Tag::Dd | Tag::Dt => {
                let same = |t: Tag| match tag {
                    Tag::Li => t == Tag::Li,
                    _ => matches!(t, Tag::Dd | Tag::Dt),
                };
                let found = self.scan(|e| {
                    if e.foreign {
                        Step::Stop
                    } else if same(e.tag) {
                        Step::Found
                    } else if e.tag.is_special()
                        && !matches!(e.tag, Tag::Address | Tag::Div | Tag::P)
                    {
                        Step::Stop
                    } else {
                        Step::Next
                    }
                });
                if let Some(pos) = found {
                    self.pop_to(pos);
                }
                self.close_p();
            }
            t if t.is_heading() => {
                self.close_p();
                if self
                    .stack
                    .last()
                    .is_some_and(|e| e.tag.is_heading() && !e.foreign)
                {
                    if let Some(e) = self.stack.pop() {
                        self.closed(e);
                    }
                }
            }
            Tag::Table => {
                if self.in_table_mode() {
                    // A table start tag directly in a table ends that table.
                    if let Some(pos) = self.in_scope(Tag::Table, Scope::Table) {
                        self.pop_to(pos);
                    }
                } else if !self.quirks {
                    self.close_p();
                }
            }
            Tag::Td
            | Tag::Th
            | Tag::Tr
            | Tag::Tbody
            | Tag::Thead
            | Tag::Tfoot
            | Tag::Caption
            | Tag::Colgroup
            | Tag::Col => {
                if self.counts[Tag::Table as usize] == 0 {
                    // Table parts outside a table are dropped.
                    return None;
                }
                let rank = if tag == Tag::Col {
                    1
                } else {
                    tag.table_rank().unwrap_or(0)
                };
                // Close the open cells, rows and row groups at this rank or deeper, and
                // whatever was opened inside the table outside a cell ("clear the stack back
                // to a table context").
                while let Some(pos) = self.find_in_scope(Scope::Table, |t| t.table_rank().is_some())
                {
                    let open_rank = self.stack[pos].tag.table_rank().unwrap_or(0);
                    if open_rank > 0 && open_rank >= rank {
                        self.pop_to(pos);
                    } else {
                        self.pop_to(pos + 1);
                        break;
                    }
                }
            }
            Tag::Option | Tag::Optgroup
                if self.stack.last().is_some_and(|e| e.tag == Tag::Option) =>
            {
                if let Some(e) = self.stack.pop() {
                    self.closed(e);
                }
            }
            Tag::Button => {
                if let Some(pos) = self.in_scope(Tag::Button, Scope::Default) {
                    self.pop_to(pos);
                }
            }
            Tag::Nobr => {
                self.close_formatting(Tag::Nobr, false);
            }
            t if t.closes_p() => self.close_p(),
            _ => {}
        }
        if reopens_formatting(tag) {
            self.reopen_formatting();
        }
        self.open_element(tag, hash, false, attrs);
        match tag {
            Tag::Title | Tag::Textarea => Some(TextMode::RcData),
            Tag::Style | Tag::Xmp | Tag::Iframe | Tag::Noembed | Tag::Noframes => {
                Some(TextMode::RawText)
            }
            Tag::Script => Some(TextMode::ScriptData),
            Tag::Plaintext => Some(TextMode::PlainText),
            _ => None,
        }
    }

    /// A start tag in a frameset document: frames count, everything else is dropped.
    pub(super) fn frameset_start(&mut self, tag: Tag, attrs: &impl Attrs) -> Option<TextMode> {
        match tag {
            Tag::Frame => {
                self.walker.open(tag, attrs);
                self.walker.close(tag);
                None
            }
            Tag::Noframes => {
                self.open_element(tag, 0, false, attrs);
                Some(TextMode::RawText)
            }
            _ => None,
        }
    }
}
