//! Progress bars on a terminal (drawn on stderr; hidden when it is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use leakdex::segment::BuildReport;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// A bar of `total` records on a terminal (hidden otherwise), for the full-text index.
pub(super) fn records_bar(total: u64) -> ProgressBar {
    bar(
        total,
        "full text {bar:40} {human_pos}/{human_len} records {per_sec} eta {eta}",
    )
}

/// An ingest's progress on a terminal: the input's bytes, then the records of its full text.
pub(super) struct IngestBars {
    pub(super) bytes: ProgressBar,
    pub(super) text: std::sync::OnceLock<ProgressBar>,
}

impl IngestBars {
    pub(super) fn finish(&self) {
        self.bytes.finish_and_clear();
        if let Some(text) = self.text.get() {
            text.finish_and_clear();
        }
    }
}

impl leakdex::segment::Progress for IngestBars {
    fn published(&self, report: &BuildReport) {
        self.bytes.finish_and_clear();
        let _ = self.text.set(records_bar(report.records));
    }

    fn text_indexed(&self, records: u64) {
        if let Some(text) = self.text.get() {
            text.inc(records);
        }
    }
}

/// When the exact index of a demo corpus was published: seconds since `.0`, kept in `.1`.
pub(super) struct Timed<'a>(
    pub(super) &'a std::time::Instant,
    pub(super) &'a std::sync::OnceLock<f64>,
);

impl leakdex::segment::Progress for Timed<'_> {
    fn published(&self, _report: &BuildReport) {
        let _ = self.1.set(self.0.elapsed().as_secs_f64());
    }
}

/// A bar of the input's bytes on a terminal, and the callback the scan feeds it.
pub(super) fn progress(paths: &[PathBuf]) -> (ProgressBar, Option<leakdex::ingest::OnBytes>) {
    let total: u64 = paths.iter().map(|path| leakdex::ingest::disk_size(path)).sum();
    let bar = bar(total, "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}");
    let counter = bar.clone();
    (bar, Some(Arc::new(move |bytes| counter.inc(bytes))))
}

/// A progress bar of `total` drawn on stderr with `template` when it is a terminal; hidden
/// otherwise (a pipe or a log gets no control characters).
fn bar(total: u64, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar
}
