//! The `wisp` command: parses arguments, calls the libraries, prints, and picks the
//! exit code. No capability lives here; see ARCHITECTURE.md.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

/// Scans allocate for every part of every file they read; mimalloc's per-thread
/// heaps take less time than glibc's, and far less than musl's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, documented in `wisp --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was done and every check passed.
    Success = 0,
    /// The work ran but found a problem it reports (a check failed, a target was refused).
    Failure = 1,
    /// Another process holds the lock this work needs; nothing was done.
    Busy = 3,
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(outcome) => ExitCode::from(outcome as u8),
        Err(err) => {
            if output::is_broken_pipe(&err) {
                // `wisp devices | head` is not an error.
                return ExitCode::SUCCESS;
            }
            output::print_error(&err);
            ExitCode::from(2)
        }
    }
}
