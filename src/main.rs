//! The `leakdex` command line.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use leakdex::ingest::{Format, Region, ScanOptions};
use leakdex::inspect::inspect;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "leakdex",
    version,
    about = "Provenance search over leaked personal-data corpora"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show what is in dump files: format, encoding, record counts, rejects, field kinds.
    Inspect {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Force a format instead of sniffing: csv, tsv, psv, ssv, jsonl, sql, combo, text.
        #[arg(long)]
        format: Option<Format>,
        /// Region for phone numbers written without a country code (ISO 3166 code).
        #[arg(long, default_value = "IN")]
        region: Region,
        /// Files or directories (walked recursively; zip archives are walked as folders).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Write synthetic corpora with known overlaps.
    Gen {
        #[arg(long)]
        out: PathBuf,
        /// Records per corpus.
        #[arg(long, default_value_t = 10_000)]
        records: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Generate a small set of corpora and inspect them.
    Demo {
        #[arg(long, default_value = "leakdex-demo")]
        out: PathBuf,
        #[arg(long, default_value_t = 20_000)]
        records: u64,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("LEAKDEX_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("leakdex: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cli.command {
        Command::Inspect {
            json,
            format,
            region,
            paths,
        } => {
            let options = ScanOptions {
                format,
                region,
                ..ScanOptions::default()
            };
            Ok(run_inspect(&paths, options, json))
        }
        Command::Gen { out, records, seed } => {
            let manifest = leakdex::synth::generate(&out, records, seed)?;
            for corpus in &manifest.corpora {
                println!("{}\t{} records", out.join(&corpus.file).display(), corpus.records);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { out, records } => {
            println!("generating {records} records per corpus into {}", out.display());
            let manifest = leakdex::synth::generate(&out, records, 1)?;
            let files: Vec<PathBuf> = manifest.corpora.iter().map(|corpus| out.join(&corpus.file)).collect();
            Ok(run_inspect(&files, ScanOptions::default(), false))
        }
    }
}

/// Inspects with a progress bar on a terminal; exit code 1 if any file could not be read.
fn run_inspect(paths: &[PathBuf], mut options: ScanOptions, json: bool) -> ExitCode {
    let total: u64 = paths.iter().map(disk_size).sum();
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar
    } else {
        ProgressBar::hidden()
    };
    let counter = bar.clone();
    options.on_bytes = Some(Arc::new(move |bytes| counter.inc(bytes)));
    let report = inspect(paths, &options);
    bar.finish_and_clear();
    if json {
        match serde_json::to_string(&report) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("leakdex: {error}"),
        }
    } else {
        print!("{}", report.to_text());
    }
    let failed = !report.errors.is_empty() || report.files.iter().any(|file| file.error.is_some());
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn disk_size(path: &PathBuf) -> u64 {
    walkdir::WalkDir::new(path)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .filter(|metadata| metadata.is_file())
        .map(|metadata| metadata.len())
        .sum()
}
