//! The one integration-test binary: crawl → index → API on the local test web, loopback only.

mod alerts;
mod api;
mod crawl_e2e;
mod crawler;
mod dataforseo;
mod dns;
mod golden_path;
mod http_edge;
mod https;
mod import;
mod missing_db;
mod plans;
mod query_timeout;
mod ranks;
mod recheck;
mod recrawl;
mod render;
mod scale_out;
mod sitemaps;
mod sql_views;
mod store_v2;
mod support;
mod ui;
mod v3;
mod watch;
