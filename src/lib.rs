//! The `linkdiff` binary's library half: CLI commands and the HTTP API.
//! Only this crate knows clap, JSON/XML wire formats and anyhow.

// DataForSEO's backlink item is one `json!` object of 45 fields.
#![recursion_limit = "256"]

/// `eprintln!` that never panics: stderr may be closed (a supervisor, `2>&-`, a pipe whose
/// reader went away), and a server must keep answering then.
#[macro_export]
macro_rules! eprint_quiet {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// `println!` for command output that ends the process quietly (exit 0) when the reader of
/// stdout went away (`linkdiff demo | head`), instead of panicking.
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($t)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

/// `print!` counterpart of [`outln!`].
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout(), $($t)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

pub use log::QuietStderr;

pub mod alerts;
pub mod api;
pub mod cli;
pub mod exports;
pub mod log;
pub mod sentence;
pub mod sink;
pub mod watched;
