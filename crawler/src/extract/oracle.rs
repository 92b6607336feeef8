//! The reference extractor: a full HTML5 tree (html5ever through scraper, scripting off) walked
//! by the same [`Walker`]. Slower and quadratic on some hostile pages, but exactly the
//! standard's tree: the differential tests hold the streaming extractor to it.

use super::tag::Tag;
use super::walker::{Attrs, Walker};
use ego_tree::iter::Edge;
use scraper::{Html, Node};

impl Attrs for scraper::node::Element {
    fn attr(&self, name: &str) -> Option<&str> {
        scraper::node::Element::attr(self, name)
    }
}

/// Parse `text` into a tree and feed every node to `walker`, in document order.
pub(crate) fn walk(text: &str, walker: &mut Walker) {
    let doc = parse_without_scripting(text);
    for edge in doc.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(el) => walker.open(Tag::from_name(el.name().as_bytes()), el),
                Node::Text(t) => walker.text(t),
                _ => {}
            },
            Edge::Close(node) => {
                if let Node::Element(el) = node.value() {
                    walker.close(Tag::from_name(el.name().as_bytes()));
                }
            }
        }
    }
    walker.finish();
}

/// Parse as a browser with scripting off does (html5lib's and search engines' view): the
/// content of `<noscript>` is markup, so the links in it are found. A crawler runs no scripts.
fn parse_without_scripting(text: &str) -> Html {
    use html5ever::tendril::TendrilSink;
    use html5ever::tree_builder::TreeBuilderOpts;
    use html5ever::{driver, ParseOpts};
    let opts = ParseOpts {
        tree_builder: TreeBuilderOpts {
            scripting_enabled: false,
            ..Default::default()
        },
        ..Default::default()
    };
    driver::parse_document(scraper::HtmlTreeSink::new(Html::new_document()), opts).one(text)
}
