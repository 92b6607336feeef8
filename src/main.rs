//! `linkdiff`: parse the command line, run the command, print one clear error sentence.

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: small allocations per request and per link are
/// the hot path's second cost after SQLite (BENCHMARKS.md, "HTTP edge"). Built with its
/// `override` feature it also serves C's `malloc`, i.e. SQLite's page cache and records
/// (BENCHMARKS.md, "Ten thousand hosts").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match linkdiff::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // Request and run logs go to stderr; RUST_LOG overrides (e.g. RUST_LOG=debug).
    let default_level = if matches!(cli.command, linkdiff::cli::Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    // `serve` logs a line per request: written in batches (at most 100 ms late), flushed on
    // the way out and before a panic message.
    let batched = if matches!(cli.command, linkdiff::cli::Command::Serve(_)) {
        let log = linkdiff::log::Batched::new(linkdiff::QuietStderr);
        let (writer, on_panic) = (log.clone(), log.clone());
        let _ = fmt.with_writer(move || writer.clone()).try_init();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            on_panic.flush_now();
            previous(info);
        }));
        Some(log)
    } else {
        let _ = fmt.with_writer(|| linkdiff::QuietStderr).try_init();
        None
    };
    let result = linkdiff::cli::run(cli);
    if let Some(log) = &batched {
        log.flush_now();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            let usage = e.downcast_ref::<linkdiff::cli::UsageError>().is_some();
            linkdiff::eprint_quiet!("linkdiff: {}", linkdiff::sentence::of(&e));
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}
