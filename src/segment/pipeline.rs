//! The indexing pipeline, whole: discover the files, skip those the catalog already holds (by
//! SHA-256), build, upload and publish the segments, check them for canaries
//! ([`build_segment`]), then build and upload their full-text indexes. The command line's
//! `ingest` and `canary add`, the server's ingest jobs and the demo all index through
//! [`index_corpus`], so they cannot drift apart.

use super::text::build_text_index_reporting;
use super::{BuildOptions, BuildReport, SegmentError, build_segment};
use crate::catalog::{Catalog, Corpus};
use crate::storage::DataDir;
use std::path::PathBuf;

/// What [`index_corpus`] tells its caller as it goes (a progress bar, a job's status); reading
/// progress comes through [`crate::ingest::ScanOptions::on_bytes`].
pub trait Progress {
    /// The segments are published (and checked for canaries); their full-text index is built
    /// next, when asked for.
    fn published(&self, _report: &BuildReport) {}

    /// `records` more records are in the full-text index.
    fn text_indexed(&self, _records: u64) {}
}

/// No one to tell.
impl Progress for () {}

/// Indexes `inputs` (files or folders) into `corpus`: published segments, then (when
/// `full_text`) their full-text indexes. The report's `segments` are published even when the
/// full text then fails; `text_indexed` says whether it was built.
///
/// Errors: as [`build_segment`]; a full-text index that cannot be built or uploaded.
pub fn index_corpus(
    data: &DataDir,
    catalog: &dyn Catalog,
    corpus: &Corpus,
    inputs: &[PathBuf],
    options: &BuildOptions,
    full_text: bool,
    progress: &dyn Progress,
) -> Result<BuildReport, SegmentError> {
    let mut report = build_segment(data, catalog, corpus, inputs, options)?;
    progress.published(&report);
    if !full_text {
        return Ok(report);
    }
    for id in &report.segments {
        build_text_index_reporting(data, id, &|records| progress.text_indexed(records))?;
    }
    report.text_indexed = true;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{CorpusKind, FileCatalog};
    use std::sync::Mutex;

    /// What the pipeline told its caller.
    #[derive(Default)]
    struct Told {
        published: Mutex<Vec<u64>>,
        indexed: Mutex<u64>,
    }

    impl Progress for Told {
        fn published(&self, report: &BuildReport) {
            assert!(!report.text_indexed, "told before the full text");
            self.published.lock().unwrap().push(report.records);
        }

        fn text_indexed(&self, records: u64) {
            *self.indexed.lock().unwrap() += records;
        }
    }

    #[test]
    fn a_corpus_is_published_then_indexed_in_full_text_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let catalog = FileCatalog::open(data.root());
        let five = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/five");
        let index = |name: &str, full_text: bool| {
            let told = Told::default();
            let corpus = Corpus::new(name, CorpusKind::Leak);
            let options = BuildOptions::default();
            let inputs = [five.clone()];
            let report = index_corpus(&data, &catalog, &corpus, &inputs, &options, full_text, &told).unwrap();
            (report, told)
        };

        let (report, told) = index("searched", true);
        assert!(report.records > 0 && report.text_indexed);
        assert_eq!(*told.published.lock().unwrap(), vec![report.records]);
        assert_eq!(*told.indexed.lock().unwrap(), report.records);
        for id in &report.segments {
            assert!(data.text_path(id).join("meta.json").exists());
        }

        let (report, told) = index("exact-only", false);
        assert!(!report.text_indexed);
        assert_eq!(told.published.lock().unwrap().len(), 1);
        assert_eq!(*told.indexed.lock().unwrap(), 0);
        for id in &report.segments {
            assert!(!data.text_path(id).exists());
        }
    }
}
