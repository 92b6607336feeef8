//! The crawler: "here is a URL, may I fetch it, and what does it link to?"
//!
//! [`extract`] turns one fetched page into page fields and links (pure, no I/O). The fetching
//! side (politeness, robots.txt, frontier, SSRF guard) produces one [`Visit`] per fetch and hands
//! it to a caller-supplied sink; the crawler never writes the link index itself.

pub mod charset;
pub mod extract;
pub mod normalize;

pub use extract::{extract, Extracted, ExtractedLink, PageFields, PageInput};
