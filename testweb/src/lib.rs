//! The local test web: many hostnames on one loopback port, generated deterministically from a
//! seed, with epochs that mutate it and a ground truth of every page's links per epoch.
//!
//! Used by the integration tests, `linkdiff demo` and the crawl benchmark. Not published: it
//! exists to be crawled. The endpoints that misbehave on purpose (`/special/...`) are compiled
//! only with the `misbehave` feature, which only the tests enable, so the shipped binary's
//! `demo` and `testweb` serve a well-behaved web. Hosts are
//! `h000.test`, `h001.test`, ... (each its own registrable domain); pages are `/` and
//! `/p{j}.html`. Epoch 1 is the initial web; epoch 2 applies seeded mutations: links added and
//! removed, anchors changed, pages deleted (404/410), failing (500), redirected (301/302), new
//! pages, robots.txt rules changed. [`TestWeb::truth`] says what each page serves in an epoch.

mod generate;
mod server;

pub use generate::{GenLink, PageKind, PageTruth, TestWeb, WebConfig};
pub use server::{serve, RequestLog, RunningWeb};
