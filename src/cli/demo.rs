//! Synthetic data: the gen command, and the demo that ingests and asks it.

use super::flags::Backends;
use super::print::{print_provenance, write_answer_text};
use super::progress::Timed;
use super::{Failure, open_data};
use leakdex::catalog::{Corpus, CorpusKind};
use leakdex::ingest::{Region, ScanOptions};
use leakdex::query::r#match::{MatchOptions, match_records, read_suspects};
use leakdex::query::provenance::attribute;
use leakdex::query::{Index, Query, lookup_batch, search};
use leakdex::segment::{BuildOptions, index_corpus};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(super) fn generate(
    out: PathBuf,
    records: u64,
    seed: u64,
    suspects: Option<Vec<String>>,
    shapes: Option<PathBuf>,
) -> Result<ExitCode, Failure> {
    let manifest = leakdex::synth::generate(&out, records, seed)?;
    for corpus in &manifest.corpora {
        println!("{}\t{} records", out.join(&corpus.file).display(), corpus.records);
    }
    if let Some(dir) = shapes {
        let truth = leakdex::synth::write_shapes(&dir, records, seed)?;
        let truth_path = PathBuf::from(format!("{}.truth.jsonl", dir.display()));
        let mut lines = BufWriter::new(std::fs::File::create(&truth_path)?);
        for entry in &truth {
            serde_json::to_writer(&mut lines, entry)?;
            lines.write_all(b"\n")?;
        }
        lines.flush()?;
        println!(
            "{}\t{} identifiers in {}",
            truth_path.display(),
            truth.len(),
            dir.display()
        );
    }
    if let Some([count, file]) = suspects.as_deref() {
        let count: usize = count.parse().map_err(|_| format!("{count:?} is not a record count"))?;
        let sample = leakdex::synth::suspect_records(records, seed, count);
        let path = PathBuf::from(file);
        leakdex::synth::write_suspects(&path, &sample)?;
        let mut truth = BufWriter::new(std::fs::File::create(format!("{file}.truth.jsonl"))?);
        for suspect in &sample {
            serde_json::to_writer(&mut truth, suspect)?;
            truth.write_all(b"\n")?;
        }
        truth.flush()?;
        println!("{}\t{count} suspect records", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn run(out: &Path, records: u64, data_dir: Option<&Path>) -> Result<ExitCode, Failure> {
    println!("generating {records} records per corpus into {}", out.display());
    let manifest = leakdex::synth::generate(&out.join("corpora"), records, 1)?;
    let data_root = data_dir.map_or_else(|| out.join("data"), Path::to_path_buf);
    if data_root.join("catalog.json").exists() && data_dir.is_none() {
        std::fs::remove_dir_all(&data_root)?;
    }
    let (data, catalog) = open_data(Some(&data_root), &Backends::default())?;
    for (corpus, acquired) in
        manifest
            .corpora
            .iter()
            .zip(["2021-06-01", "2022-01-15", "2022-09-30", "2023-02-11", "2019-11-20"])
    {
        let meta = Corpus {
            acquired: Some(acquired.to_string()),
            source: Some("leakdex gen".to_string()),
            ..Corpus::new(
                corpus.file.split('.').next().unwrap_or(&corpus.file).to_string(),
                CorpusKind::Leak,
            )
        };
        let started = std::time::Instant::now();
        let exact = std::sync::OnceLock::new();
        let report = index_corpus(
            &data,
            catalog.as_ref(),
            &meta,
            &[out.join("corpora").join(&corpus.file)],
            &BuildOptions::default(),
            true,
            &Timed(&started, &exact),
        )?;
        let exact = exact.get().copied().unwrap_or_default();
        println!(
            "ingested {:<14} {:>8} records: exact index in {exact:.2} s, full text by {:.2} s",
            meta.name,
            report.records,
            started.elapsed().as_secs_f64()
        );
    }
    // A bot-style suspect sample: phones from two corpora written every which way, and some
    // numbers that exist nowhere.
    let sample = leakdex::synth::suspect_phones(records, 1, 1000);
    let sample_path = out.join("suspect_phones.txt");
    std::fs::write(&sample_path, sample.join("\n"))?;
    let index = Index::open(&data, catalog.as_ref(), &[])?;
    let started = std::time::Instant::now();
    let queries = Query::detected(&sample);
    let answers = lookup_batch(&index, Region::INDIA, &queries);
    let elapsed = started.elapsed();
    let found = answers
        .iter()
        .filter(|answer| answer.hits.as_ref().is_some_and(|hits| !hits.is_empty()))
        .count();
    println!(
        "\nlooked up {} suspect phone numbers in {:.1} ms: {found} found, {} found nowhere",
        answers.len(),
        elapsed.as_secs_f64() * 1000.0,
        answers.len() - found
    );
    let mut per_corpus: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for answer in &answers {
        let mut corpora: Vec<&str> = answer.hits.iter().flatten().map(|hit| hit.corpus.as_ref()).collect();
        corpora.dedup();
        for corpus in corpora {
            *per_corpus.entry(corpus).or_default() += 1;
        }
    }
    for (corpus, count) in &per_corpus {
        println!(
            "  {corpus:<14} holds {count:>5} of them ({:.1}%)",
            *count as f64 * 100.0 / answers.len() as f64
        );
    }
    println!("\nexamples:");
    let mut text = Vec::new();
    for answer in answers
        .iter()
        .filter(|answer| answer.hits.as_ref().is_some_and(|hits| !hits.is_empty()))
        .take(3)
    {
        write_answer_text(answer, &mut text)?;
    }
    print!("{}", String::from_utf8_lossy(&text));
    let person = leakdex::synth::Person::new(1, 7);
    let query = format!(
        "name:\"{}\" district:\"{}\"",
        person.name().to_lowercase(),
        person.district.to_lowercase()
    );
    let hits = search(&index, &query, 5, &[])?;
    println!("\nsearch {query}: {} hits", hits.len());
    for hit in &hits {
        println!(
            "  {:.2}  {}  {}  record {}  {}",
            hit.score, hit.corpus, hit.file, hit.record, hit.snippet
        );
    }
    // The question leakdex exists for: a bot's records, copied from somewhere. Where from?
    let suspects_path = out.join("suspect_records.jsonl");
    leakdex::synth::write_suspects(&suspects_path, &leakdex::synth::suspect_records(records, 1, 2000))?;
    let started = std::time::Instant::now();
    let (suspects, problems) = read_suspects(std::slice::from_ref(&suspects_path), &ScanOptions::default());
    let options = MatchOptions {
        limit: usize::MAX,
        ..MatchOptions::default()
    };
    let matches = match_records(&index, &suspects, &options)?;
    let report = attribute(&index, &suspects, &matches, problems);
    let elapsed = started.elapsed();
    let html = out.join("provenance.html");
    std::fs::write(&html, leakdex::report::render_html(&report))?;
    println!(
        "\nprovenance of {} bot-style suspect records ({}) in {:.1} ms; HTML report: {}\n",
        suspects.len(),
        suspects_path.display(),
        elapsed.as_secs_f64() * 1000.0,
        html.display()
    );
    print_provenance(&report, false)?;
    println!(
        "\ndata directory: {} (try: leakdex --data-dir {} lookup --file {}; leakdex --data-dir {} provenance {})",
        data_root.display(),
        data_root.display(),
        sample_path.display(),
        data_root.display(),
        suspects_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
