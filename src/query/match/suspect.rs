//! Suspect records: read from dump files by the ingest front end (any format, any field names),
//! or from an ingested corpus of kind `suspect`.

use super::super::error::QueryError;
use super::super::index::Index;
use crate::ingest::{
    Error as IngestError, FileInfo, FileSummary, Kind, Location, RecordBatch, RecordSink, ScanOptions, SourceFile,
    Validity,
};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

/// One field of a suspect record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SuspectField {
    pub name: String,
    pub kind: Kind,
    pub validity: Validity,
    /// Normalized.
    pub value: String,
    pub raw: String,
}

impl SuspectField {
    pub fn new(name: &str, kind: Kind, validity: Validity, value: &str, raw: &str) -> SuspectField {
        SuspectField {
            name: name.to_string(),
            kind,
            validity,
            value: value.to_string(),
            raw: raw.to_string(),
        }
    }
}

/// A suspect record and where it was read.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suspect {
    pub file: String,
    pub location: Location,
    pub fields: Vec<SuspectField>,
}

/// Problems listed in full; past this many only their number is added (a file of garbage
/// must not fill memory with one problem a line).
pub const PROBLEMS_LISTED: usize = 1000;

/// What could not be read (file and line, and why), listed up to [`PROBLEMS_LISTED`], the rest
/// counted.
#[derive(Debug, Default)]
pub struct Problems {
    listed: Vec<String>,
    more: usize,
}

impl Problems {
    pub fn push(&mut self, text: String) {
        if self.listed.len() < PROBLEMS_LISTED {
            self.listed.push(text);
        } else {
            self.more += 1;
        }
    }

    /// Adds `other`'s problems after these.
    pub fn extend(&mut self, other: Problems) {
        for text in other.listed {
            self.push(text);
        }
        self.more += other.more;
    }

    /// The problems listed, then a line with the number of those that were not.
    pub fn into_list(mut self) -> Vec<String> {
        if self.more > 0 {
            self.listed.push(format!("{} more problems not listed", self.more));
        }
        self.listed
    }
}

/// Turns a scan's batches into chunks of suspect records, in order (the scan hands batches over
/// one file at a time, in input order).
struct Chunker {
    chunk: usize,
    /// Added to every line and ordinal: records sent in parts are numbered across the parts.
    line_shift: u64,
    state: Mutex<ChunkerState>,
}

struct ChunkerState {
    pending: Vec<Suspect>,
    problems: Problems,
    /// Where full chunks go; `None` once the receiver is gone.
    chunks: Option<SyncSender<Vec<Suspect>>>,
}

impl Chunker {
    fn new(chunk: usize, line_shift: u64, chunks: SyncSender<Vec<Suspect>>) -> Chunker {
        Chunker {
            chunk: chunk.max(1),
            line_shift,
            state: Mutex::new(ChunkerState {
                pending: Vec::new(),
                problems: Problems::default(),
                chunks: Some(chunks),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ChunkerState> {
        self.state.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Scans `input` into chunks, sends the last one and closes the channel, whatever happens:
    /// a panic while reading (a bug, not the input's fault) becomes a problem of the set, so
    /// the receiver never waits for chunks that will not come.
    fn read(&self, input: SuspectInput, options: &ScanOptions) {
        let scanned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match input {
            SuspectInput::Paths(paths) => crate::ingest::scan(&paths, options, self),
            SuspectInput::Memory(file) => crate::ingest::scan_files(std::slice::from_ref(&file), options, self),
        }));
        let mut state = self.lock();
        if let Err(panic) = scanned {
            let what = panic
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%what, "reading suspect records stopped early");
            state.problems.push(format!(
                "reading stopped early, the records after this were not read: {what}"
            ));
        }
        if !state.pending.is_empty() {
            state.send();
        }
        // The only sender goes: the receiver's iteration ends.
        state.chunks = None;
    }
}

impl ChunkerState {
    fn send(&mut self) {
        let chunk = std::mem::take(&mut self.pending);
        if let Some(sender) = &self.chunks
            && sender.send(chunk).is_err()
        {
            self.chunks = None;
        }
    }
}

impl RecordSink for Chunker {
    fn begin(&self, _file: &SourceFile, _info: &FileInfo) {}

    fn batch(&self, file: &SourceFile, batch: RecordBatch) {
        let mut state = self.lock();
        if state.chunks.is_none() {
            return;
        }
        for reject in batch.rejects() {
            let line = reject.line + self.line_shift;
            state.problems.push(format!("{}:{line}: {}", file.path, reject.reason));
        }
        for record in batch.iter() {
            let location = record.location();
            state.pending.push(Suspect {
                file: file.path.clone(),
                location: Location {
                    ordinal: location.ordinal + self.line_shift,
                    line: location.line + self.line_shift,
                    offset: location.offset,
                },
                fields: record
                    .fields()
                    .map(|field| SuspectField::new(field.name, field.kind, field.validity, field.normalized, field.raw))
                    .collect(),
            });
            if state.pending.len() >= self.chunk {
                state.send();
            }
        }
    }

    fn end(&self, _file: &SourceFile, outcome: Result<FileSummary, IngestError>) {
        if let Err(error) = outcome {
            self.lock().problems.push(error.to_string());
        }
    }

    fn unreadable(&self, path: &str, error: IngestError) {
        self.lock().problems.push(format!("{path}: {error}"));
    }
}

/// Suspect records read from files or folders by a thread of their own, in chunks of at most
/// the size asked for, in file order then record order: a suspect set of any size is read in
/// memory bounded by three chunks (one pending, one sent, one being used) and a window of small
/// files. Iterate it to the end, then take [`SuspectReader::problems`]. Dropping it early stops
/// the records from being kept (the reading thread still runs to the end of its input, unseen).
pub struct SuspectReader {
    chunks: Receiver<Vec<Suspect>>,
    chunker: Arc<Chunker>,
}

impl SuspectReader {
    pub fn new(inputs: &[PathBuf], options: &ScanOptions, chunk: usize) -> SuspectReader {
        let (sender, chunks) = sync_channel(1);
        let chunker = Arc::new(Chunker::new(chunk, 0, sender));
        let reading = chunker.clone();
        let (input, options) = (SuspectInput::Paths(inputs.to_vec()), options.clone());
        std::thread::spawn(move || reading.read(input, &options));
        SuspectReader { chunks, chunker }
    }

    /// What could not be read (file and line, and why): all of it once the chunks have run out,
    /// what was met so far before.
    pub fn problems(self) -> Vec<String> {
        let SuspectReader { chunks, chunker } = self;
        // Gone first: a reading thread blocked sending a chunk while it holds the lock gives up.
        drop(chunks);
        let problems = std::mem::take(&mut chunker.lock().problems);
        problems.into_list()
    }
}

impl Iterator for SuspectReader {
    type Item = Vec<Suspect>;

    fn next(&mut self) -> Option<Vec<Suspect>> {
        self.chunks.recv().ok()
    }
}

/// What a [`Chunker`] reads.
enum SuspectInput {
    Paths(Vec<PathBuf>),
    Memory(SourceFile),
}

/// Reads all of `input` on this thread, into memory.
fn read_all(input: SuspectInput, options: &ScanOptions, line_shift: u64) -> (Vec<Suspect>, Problems) {
    let (sender, chunks) = sync_channel(1);
    // One chunk of everything, sent once the scan is done: a channel of one holds it.
    let chunker = Chunker::new(usize::MAX, line_shift, sender);
    chunker.read(input, options);
    let suspects = chunks.try_iter().flatten().collect();
    let problems = std::mem::take(&mut chunker.lock().problems);
    (suspects, problems)
}

/// Reads suspect records from files or folders, in file order then record order; also returns
/// what could not be read (file and line, and why). All in memory: [`SuspectReader`] reads a set
/// of any size.
pub fn read_suspects(inputs: &[PathBuf], options: &ScanOptions) -> (Vec<Suspect>, Vec<String>) {
    let (suspects, problems) = read_all(SuspectInput::Paths(inputs.to_vec()), options, 0);
    (suspects, problems.into_list())
}

/// Suspect records given as (field name, value) pairs, as a service receives them; read by the
/// ingest front end like a JSON Lines file (named `request`), so names and values are
/// classified as in any dump. `before` records were sent ahead of these (0 for a whole
/// request): a suspect's `location.ordinal` and `line` are its 1-based position among all of
/// them, and so are the problems' line numbers. Records without a readable field produce no
/// suspect.
pub fn suspects_from_fields(
    records: &[Vec<(String, String)>],
    before: u64,
    options: &ScanOptions,
) -> (Vec<Suspect>, Problems) {
    let mut lines = Vec::new();
    for record in records {
        let object: serde_json::Map<String, serde_json::Value> = record
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
            .collect();
        // Writing a map of strings cannot fail.
        let _ = serde_json::to_writer(&mut lines, &object);
        lines.push(b'\n');
    }
    let file = SourceFile::in_memory("request", lines.into());
    let options = ScanOptions {
        format: Some(crate::ingest::Format::JsonLines),
        ..options.clone()
    };
    read_all(SuspectInput::Memory(file), &options, before)
}

/// The records of an ingested corpus, as suspects (values as normalized and stored), in chunks
/// of at most `chunk`, segment by segment in record order.
pub fn suspects_of_corpus<'a>(
    index: &'a Index,
    corpus: &str,
    chunk: usize,
) -> Result<impl Iterator<Item = Vec<Suspect>> + 'a, QueryError> {
    let segments: Vec<_> = index
        .segments
        .iter()
        .filter(|indexed| indexed.corpus == corpus)
        .map(|indexed| &indexed.segment)
        .collect();
    if segments.is_empty() {
        return Err(QueryError::NoCorpus(corpus.to_string()));
    }
    // Every location read below, fetched first (for a corpus on object storage), so that
    // failing to is this call's error.
    for segment in &segments {
        segment.fetch_all_locations()?;
    }
    let records = segments
        .into_iter()
        .flat_map(|segment| (0..segment.manifest.records).map(move |record| (segment, record)));
    let mut records = records.peekable();
    let chunk = chunk.max(1);
    Ok(std::iter::from_fn(move || {
        records.peek()?;
        Some(
            records
                .by_ref()
                .take(chunk)
                .map(|(segment, record)| {
                    let location = segment
                        .location(record)
                        .unwrap_or_else(|_| unreachable!("every location was fetched above"));
                    Suspect {
                        file: segment.file_path(location.file).to_string(),
                        location: Location {
                            ordinal: location.ordinal,
                            line: location.line,
                            offset: location.offset,
                        },
                        fields: segment.with_values(record, usize::MAX, |values| {
                            values
                                .filter_map(|(field, validity, value)| {
                                    let info = segment.field(field)?;
                                    Some(SuspectField::new(&info.name, info.kind, validity, value, value))
                                })
                                .collect()
                        }),
                    }
                })
                .collect(),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_past_the_listed_are_counted_across_parts() {
        let mut first = Problems::default();
        for line in 0..PROBLEMS_LISTED - 1 {
            first.push(format!("a:{line}: bad"));
        }
        let mut second = Problems::default();
        for line in 0..5 {
            second.push(format!("b:{line}: bad"));
        }
        first.extend(second);
        let listed = first.into_list();
        assert_eq!(listed.len(), PROBLEMS_LISTED + 1);
        assert_eq!(listed[PROBLEMS_LISTED - 1], "b:0: bad");
        assert_eq!(listed[PROBLEMS_LISTED], "4 more problems not listed");
    }
}
