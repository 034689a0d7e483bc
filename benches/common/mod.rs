//! Set-up the benches share: generated corpora, indexed.

use leakdex::catalog::{Corpus, CorpusKind, FileCatalog};
use leakdex::segment::text::build_text_index;
use leakdex::segment::{BuildOptions, build_segment};
use leakdex::storage::DataDir;
use std::path::Path;

/// Records per generated corpus: `LEAKDEX_BENCH_RECORDS`, else `default`.
pub fn records_per_corpus(default: u64) -> u64 {
    std::env::var("LEAKDEX_BENCH_RECORDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The generator's corpora of `records` people each, under `dir/dumps`, indexed into
/// `dir/data`: the files named (every dump when empty), each a leak corpus named by its file's
/// stem, with full text when `text`.
pub fn indexed_corpora(dir: &Path, records: u64, files: &[&str], text: bool) -> (DataDir, FileCatalog) {
    let dumps = dir.join("dumps");
    leakdex::synth::generate(&dumps, records, 1).expect("generate");
    let data = DataDir::open(&dir.join("data")).expect("data dir");
    let catalog = FileCatalog::open(data.root());
    let mut paths: Vec<_> = std::fs::read_dir(&dumps)
        .expect("dumps")
        .map(|entry| entry.expect("dump").path())
        .filter(|path| {
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            !name.ends_with(".json") && (files.is_empty() || files.contains(&name))
        })
        .collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        let corpus = Corpus::new(name.split('.').next().unwrap_or(name).to_string(), CorpusKind::Leak);
        let report = build_segment(
            &data,
            &catalog,
            &corpus,
            std::slice::from_ref(&path),
            &BuildOptions::default(),
        )
        .expect("ingest");
        for id in report.segments.iter().filter(|_| text) {
            build_text_index(&data, id).expect("text index");
        }
    }
    (data, catalog)
}
