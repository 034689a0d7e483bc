//! Ingest jobs run on the blocking pool; their state is published on a watch channel that
//! `WatchJob` streams from.

use super::metrics::Metrics;
use super::proto::{self, JobPhase};
use crate::catalog::{Catalog, Corpus, CorpusKind};
use crate::ingest::{ScanOptions, disk_size};
use crate::segment::{BuildOptions, BuildReport, Progress, index_corpus};
use crate::storage::DataDir;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Progress updates are published at most this often.
const UPDATE_EVERY: Duration = Duration::from_millis(200);

pub struct Jobs {
    /// Each job's owner (the principal that started it) and state.
    jobs: Mutex<HashMap<String, (String, watch::Receiver<proto::Job>)>>,
    metrics: Arc<Metrics>,
}

/// What an ingest job needs to know.
pub struct JobSpec {
    /// The principal that started it: only it (and admins) may watch it.
    pub owner: String,
    pub corpus: String,
    pub kind: CorpusKind,
    pub acquired: Option<String>,
    pub source: Option<String>,
    pub paths: Vec<PathBuf>,
    /// The upload folder the job reads, removed when the job ends.
    pub upload: Option<PathBuf>,
    pub force: bool,
    pub skip_text: bool,
}

impl Jobs {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Jobs {
            jobs: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// The owner and state of job `id`.
    pub fn watch(&self, id: &str) -> Option<(String, watch::Receiver<proto::Job>)> {
        self.jobs
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(id)
            .cloned()
    }

    /// Queues an ingest job and returns its first state.
    pub fn start(&self, data: DataDir, catalog: Arc<dyn Catalog>, spec: JobSpec) -> proto::Job {
        let id = format!("job-{:016x}", rand::random::<u64>());
        let bytes_total: u64 = spec.paths.iter().map(|path| disk_size(path)).sum();
        let first = proto::Job {
            id: id.clone(),
            corpus: spec.corpus.clone(),
            phase: JobPhase::Queued as i32,
            bytes_total,
            ..Default::default()
        };
        let (sender, receiver) = watch::channel(first.clone());
        let sender = Arc::new(sender);
        self.jobs
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(id, (spec.owner.clone(), receiver));
        let metrics = self.metrics.clone();
        tokio::task::spawn_blocking(move || {
            metrics.jobs_running.inc();
            let upload = spec.upload.clone();
            let outcome = run(data, catalog.as_ref(), spec, sender.clone(), &metrics);
            // Its records are in the segment now (with the file's SHA-256): the copy goes,
            // before watchers are told the job has ended.
            if let Some(folder) = upload
                && let Err(error) = std::fs::remove_dir_all(&folder)
            {
                tracing::warn!(%error, "an upload folder could not be removed");
            }
            metrics.jobs_running.dec();
            sender.send_modify(|job| match outcome {
                Ok(()) => job.phase = JobPhase::Done as i32,
                Err(error) => {
                    job.phase = JobPhase::Failed as i32;
                    job.error = error;
                }
            });
        });
        first
    }
}

/// Runs the job, publishing its progress; the caller publishes its end (an error's text).
fn run(
    data: DataDir,
    catalog: &dyn Catalog,
    spec: JobSpec,
    sender: Arc<watch::Sender<proto::Job>>,
    metrics: &Arc<Metrics>,
) -> Result<(), String> {
    sender.send_modify(|job| job.phase = JobPhase::Reading as i32);
    let started = Instant::now();
    let read = Arc::new(AtomicU64::new(0));
    let last_update = Arc::new(Mutex::new(Instant::now()));
    let progress = {
        let (sender, read, last_update) = (sender.clone(), read.clone(), last_update.clone());
        let metrics = metrics.clone();
        Arc::new(move |bytes: u64| {
            metrics.job_bytes_read.inc_by(bytes);
            let total_read = read.fetch_add(bytes, Ordering::Relaxed) + bytes;
            let mut last = last_update.lock().unwrap_or_else(|poison| poison.into_inner());
            if last.elapsed() < UPDATE_EVERY {
                return;
            }
            *last = Instant::now();
            sender.send_modify(|job| {
                job.bytes_read = total_read;
                let rate = total_read as f64 / started.elapsed().as_secs_f64().max(1e-3);
                job.eta_seconds = if rate > 0.0 {
                    (job.bytes_total.saturating_sub(total_read) as f64 / rate) as u64
                } else {
                    0
                };
            });
        })
    };
    let corpus = Corpus {
        acquired: spec.acquired,
        source: spec.source,
        ..Corpus::new(spec.corpus, spec.kind)
    };
    let options = BuildOptions {
        scan: ScanOptions {
            on_bytes: Some(progress),
            // The paths were checked against the ingest roots when the job was asked for; a
            // link made inside a root since then is not followed out of it.
            follow_links: false,
            ..ScanOptions::default()
        },
        force: spec.force,
        ..BuildOptions::default()
    };
    let published = Published {
        sender: &sender,
        read: &read,
        full_text: !spec.skip_text,
    };
    index_corpus(
        &data,
        catalog,
        &corpus,
        &spec.paths,
        &options,
        !spec.skip_text,
        &published,
    )
    .map_err(|error| error.to_string())?;
    Ok(())
}

/// What a job shows once its segments are published: its report, and that the full text is
/// being built (when asked for).
struct Published<'a> {
    sender: &'a watch::Sender<proto::Job>,
    read: &'a AtomicU64,
    full_text: bool,
}

impl Progress for Published<'_> {
    fn published(&self, report: &BuildReport) {
        let Published { sender, read, .. } = self;
        sender.send_modify(|job| {
            job.bytes_read = read.load(Ordering::Relaxed);
            job.eta_seconds = 0;
            job.records = report.records;
            job.rejected = report.rejected;
            job.segments.clone_from(&report.segments);
            job.skipped.clone_from(&report.skipped);
            job.file_errors.clone_from(&report.errors);
            job.canaries = report.canaries.iter().map(proto::CanaryMeeting::from).collect();
            job.files = report
                .files
                .iter()
                .map(|file| proto::SourceFile {
                    path: file.path.clone(),
                    size: file.size,
                    sha256: file.sha256.clone(),
                    records: file.records,
                    rejected: file.rejected,
                    format: file.format.clone(),
                })
                .collect();
            if self.full_text {
                job.phase = JobPhase::TextIndex as i32;
            }
        });
    }
}
