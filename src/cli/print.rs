//! The printers of what commands answer (records, hits, reports, corpora), local or answered by
//! a server alike.

use super::Failure;
use leakdex::catalog::CorpusSummary;
use leakdex::ingest::Kind;
use leakdex::query::Answer;
use leakdex::query::r#match::RecordMatch;
use leakdex::query::provenance::Report;
use leakdex::segment::{BuildReport, ShownRecord};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

pub(super) fn print_ingest_report(report: &BuildReport, json: bool) -> Result<ExitCode, Failure> {
    // First, whatever the output format: a canary names the copy that leaked.
    for meeting in &report.canaries {
        eprintln!("CANARY: {meeting}");
    }
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        for skipped in &report.skipped {
            eprintln!(
                "skipped {skipped}: already in corpus {} (use --force to ingest again)",
                report.corpus
            );
        }
        for file in &report.files {
            println!(
                "{}\t{}\t{} records\t{} rejected\tsha256 {}",
                file.path, file.format, file.records, file.rejected, file.sha256
            );
        }
        println!(
            "corpus {}: {} records, {} rejected, segments {}",
            report.corpus,
            report.records,
            report.rejected,
            report.segments.join(", ")
        );
    }
    for error in &report.errors {
        eprintln!("leakdex: {error}");
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub(super) fn print_corpora(corpora: &[CorpusSummary], json: bool) -> Result<(), Failure> {
    if json {
        println!("{}", serde_json::to_string(corpora)?);
        return Ok(());
    }
    for corpus in corpora {
        println!(
            "{}\t{}\tacquired {}\t{} records\t{} files\t{} segments",
            corpus.name,
            corpus.kind,
            corpus.acquired.as_deref().unwrap_or("-"),
            corpus.records,
            corpus.files.len(),
            corpus.segments.len()
        );
    }
    Ok(())
}

pub(super) fn print_shown(corpus: &str, shown: &ShownRecord, json: bool) -> Result<(), Failure> {
    if json {
        println!("{}", serde_json::to_string(shown)?);
        return Ok(());
    }
    println!(
        "{corpus}  {}  record {}  line {}  byte {}",
        shown.file, shown.record, shown.line, shown.offset
    );
    for field in &shown.fields {
        println!(
            "  {:<28} {:<16} {}  ->  {}",
            field.name,
            field.kind.as_str(),
            field.raw,
            field.normalized
        );
    }
    Ok(())
}

/// One lookup answer: a JSON line, or text.
pub(super) fn write_answer(answer: &Answer, json: bool, out: &mut impl Write) -> Result<(), Failure> {
    if json {
        serde_json::to_writer(&mut *out, answer)?;
        out.write_all(b"\n")?;
    } else {
        write_answer_text(answer, out)?;
    }
    Ok(())
}

pub(super) fn write_answer_text(answer: &Answer, out: &mut impl Write) -> std::io::Result<()> {
    if let Some(error) = &answer.error {
        return writeln!(out, "{}: {error}", answer.query);
    }
    let hits = answer.hits.as_deref().unwrap_or_default();
    let incomplete = if answer.missing_partitions.is_empty() {
        String::new()
    } else {
        format!(
            " (INCOMPLETE: no live node held index partitions {:?}; more may exist)",
            answer.missing_partitions
        )
    };
    // A count stands for that many records.
    let total: u64 = hits.iter().map(|hit| hit.count.unwrap_or(1)).sum();
    writeln!(
        out,
        "{} ({} {}): {total} hits{incomplete}",
        answer.query,
        answer.kind.map_or("?", Kind::as_str),
        answer.normalized.as_deref().unwrap_or_default(),
    )?;
    for hit in hits {
        let acquired = hit
            .acquired
            .map(|date| format!("  acquired {date}"))
            .unwrap_or_default();
        if let Some(count) = hit.count {
            writeln!(
                out,
                "  {}  {count} records (locations are not shown to this role){acquired}",
                hit.corpus
            )?;
            continue;
        }
        writeln!(
            out,
            "  {}  {}  record {}  line {}  byte {}  field {}{}",
            hit.corpus, hit.file, hit.record, hit.line, hit.offset, hit.field, acquired
        )?;
    }
    Ok(())
}

/// Checks a range answer against the value's own hash.
pub(super) fn print_range(kind: Kind, normalized: &str, prefix: &str, suffix: &str, entries: &[(String, Vec<String>)]) {
    let found = entries.iter().find(|(other, _)| other == suffix);
    println!(
        "{} {normalized}: sent prefix {prefix}, received {} entries",
        kind.as_str(),
        entries.len()
    );
    match found {
        Some((_, corpora)) if !corpora.is_empty() => println!("found in {}", corpora.join(", ")),
        _ => println!("not found"),
    }
}

/// Matches listed per suspect record, in input order.
const MATCHES_LISTED: usize = 5;

/// Each suspect record's matches as JSON Lines (`{"record": N, "matches": [...]}`, N counting
/// from 1 across every chunk written).
pub(super) struct RecordMatchWriter {
    out: BufWriter<std::fs::File>,
    records: usize,
}

impl RecordMatchWriter {
    pub(super) fn create(path: &Path) -> Result<RecordMatchWriter, Failure> {
        Ok(RecordMatchWriter {
            out: BufWriter::new(std::fs::File::create(path)?),
            records: 0,
        })
    }

    /// Writes the next chunk's matches.
    pub(super) fn write(&mut self, matches: &[Vec<RecordMatch<'_>>]) -> Result<(), Failure> {
        for list in matches {
            self.records += 1;
            let line = serde_json::json!({
                "record": self.records,
                "matches": &list[..list.len().min(MATCHES_LISTED)],
            });
            serde_json::to_writer(&mut self.out, &line)?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    pub(super) fn finish(mut self) -> Result<(), Failure> {
        self.out.flush()?;
        Ok(())
    }
}

pub(super) fn print_provenance(report: &Report, json: bool) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        serde_json::to_writer_pretty(&mut out, report)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "VERDICT\n  {}\n", report.verdict)?;
    writeln!(
        out,
        "{} suspect records: {} matched, {} found nowhere\n",
        report.records, report.matched, report.unmatched
    )?;
    writeln!(
        out,
        "{:<24} {:<10} {:<11} {:>22} {:>9} {:>16} {:>7} {:>9}  schema overlap",
        "corpus", "kind", "acquired", "containment (95% CI)", "exclusive", "best match for", "agree", "evidence"
    )?;
    for corpus in &report.corpora {
        writeln!(
            out,
            "{:<24} {:<10} {:<11} {:>6.1}% ({:>5.1}–{:>5.1}%) {:>8.1}% {:>15.1}% {:>7.1} {:>4.0} bits  {}",
            corpus.corpus,
            corpus.kind.to_string(),
            corpus.acquired.as_deref().unwrap_or("-"),
            corpus.containment * 100.0,
            corpus.ci95[0] * 100.0,
            corpus.ci95[1] * 100.0,
            corpus.exclusive * 100.0,
            corpus.ranked_first_share * 100.0,
            corpus.agreeing_fields,
            corpus.median_bits,
            corpus.schema_overlap.join(", ")
        )?;
    }
    for hit in &report.canaries {
        writeln!(
            out,
            "CANARY {} (copy {}): suspect {}:{} matches canary record {}",
            hit.canary, hit.copy, hit.suspect_file, hit.suspect_line, hit.canary_record
        )?;
    }
    if !report.unmatched_records.is_empty() {
        let listed: Vec<String> = report
            .unmatched_records
            .iter()
            .take(10)
            .map(|unmatched| format!("{}:{}", unmatched.file, unmatched.line))
            .collect();
        writeln!(out, "\nfound nowhere (first {}): {}", listed.len(), listed.join(" "))?;
    }
    for problem in &report.problems {
        writeln!(out, "unreadable: {problem}")?;
    }
    Ok(())
}

pub(super) fn print_search_hits(hits: &[leakdex::query::SearchHit], json: bool) -> Result<(), Failure> {
    for hit in hits {
        if json {
            println!("{}", serde_json::to_string(hit)?);
        } else {
            println!(
                "{:.2}  {}  {}  record {}  line {}  byte {}\n      {}",
                hit.score, hit.corpus, hit.file, hit.record, hit.line, hit.offset, hit.snippet
            );
            for matched in &hit.matched {
                println!("      matched {}: {}", matched.field, matched.marked());
            }
        }
    }
    if !json {
        println!("{} hits", hits.len());
    }
    Ok(())
}
