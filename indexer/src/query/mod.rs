//! The Ahrefs v2 tables over the store (SPEC §6): `backlinks`, `backlinks_new_lost`,
//! `backlinks_new_lost_counters`, `anchors`. The engine builds rows, filters (`where`, then
//! grouping, then `having`), orders, pages and projects; wire formats belong to the binary.

pub mod columns;
mod engine;
pub mod filter;
pub mod value;

pub use columns::{ColType, Column};
pub use engine::{run, Mode, QueryParams, QueryResult, Table, MAX_LIMIT};
pub use value::Value;
