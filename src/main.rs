//! `linkdiff`: parse the command line, run the command, print one clear error sentence.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match linkdiff::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match linkdiff::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            let usage = e.downcast_ref::<linkdiff::cli::UsageError>().is_some();
            eprintln!("linkdiff: {}", linkdiff::cli::sentence(&e));
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}
