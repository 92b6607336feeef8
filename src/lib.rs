//! The `linkdiff` binary's library half: CLI commands, the HTTP API, the local test web.
//! Only this crate knows clap, axum, JSON/XML wire formats and anyhow.

pub mod api;
pub mod cli;
pub mod sink;
pub mod testweb;
