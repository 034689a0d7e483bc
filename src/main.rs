//! The `leakdex` command line.

mod cli;

use clap::Parser;
use std::process::ExitCode;

/// Answers and records are many small allocations; mimalloc serves them much faster than glibc's
/// allocator across threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("LEAKDEX_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match cli::run(cli::Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("leakdex: {error}");
            ExitCode::FAILURE
        }
    }
}
