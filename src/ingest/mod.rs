//! The ingest front end: any dump in, a stream of typed, normalized records out, each knowing its
//! file, ordinal, line and byte offset.
//!
//! Per file: open (zip member, gzip, zstd) → decode (BOM, UTF-16) → sniff the format on the first
//! 64 KiB → a reader thread cuts the stream into chunks of whole records → chunks are parsed in
//! parallel (rayon) → the first chunks' values decide each column's kind → values are normalized
//! in parallel → batches reach the [`RecordSink`] in file order. At most two groups of chunks are
//! in memory per file, whatever its size.

pub mod classify;
mod error;
pub mod kind;
pub mod normalize;
mod parse;
pub mod person;
mod record;
pub mod sniff;
pub mod source;

pub use classify::ColumnClass;
pub use error::Error;
pub use kind::{Kind, Validity};
pub use normalize::Region;
pub use record::{Field, Location, RecordBatch, RecordView, Reject};
pub use sniff::Format;
pub use source::{Compression, Encoding, OnBytes, SourceFile, discover, disk_size, sha256_of, sha256_of_reader};

use classify::{Vote, decide, kind_from_header};
use parse::sql::{SCHEMA_BYTES, Schema, SqlReader, read_definitions};
use parse::{
    Chunk, ChunkParser, ComboParser, DelimitedParser, JsonDocumentParser, JsonLinesParser, RecordsOnly, TextParser,
    Width,
};
use rayon::prelude::*;
use record::{FieldSlot, RawBatch, RawValue, RecordSlot};
use std::collections::{HashMap, HashSet};
use std::io::{self, Cursor, Read};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Records sampled from the start of a file to decide its columns' kinds.
const SAMPLE_RECORDS: usize = 1000;

/// How to read the inputs.
#[derive(Clone)]
pub struct ScanOptions {
    /// Force this format for every file instead of sniffing.
    pub format: Option<Format>,
    /// Region for phone numbers written without a country code.
    pub region: Region,
    /// Target size of a chunk of records handed to one parser task.
    pub chunk_bytes: usize,
    /// Called with the number of bytes read from disk, for progress bars.
    pub on_bytes: Option<OnBytes>,
    /// Compute the SHA-256 of every file's stored bytes (into [`FileSummary::sha256`]).
    pub hash_files: bool,
    /// Follow symbolic links inside folders. A server reading paths a caller named turns this
    /// off: a link put inside an ingest root after the path was checked is then reported as
    /// unreadable instead of read.
    pub follow_links: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            format: None,
            region: Region::INDIA,
            chunk_bytes: 1 << 20,
            on_bytes: None,
            hash_files: false,
            follow_links: true,
        }
    }
}

/// What was decided about a file before its records were read.
#[derive(Clone, Debug)]
pub struct FileInfo {
    pub format: Format,
    /// Delimited files: whether the first row is a header.
    pub header: bool,
    pub encoding: Encoding,
    pub compression: Compression,
    /// Kinds decided per column (empty for formats classified value by value).
    pub columns: Vec<(String, ColumnClass)>,
}

/// Counts for one file once it has been read to the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileSummary {
    pub records: u64,
    pub rejected: u64,
    /// Records with text not as written (see [`RecordView::decoded_latin1`]).
    pub latin1_records: u64,
    /// SHA-256 (hex) of the stored bytes, when [`ScanOptions::hash_files`] asked for it.
    pub sha256: Option<String>,
}

/// Receives what a scan reads: files in the order given, each file's batches in file order, one
/// file at a time (small files are read side by side, but reach the sink in order), so that the
/// same input always gives the same sequence of calls. Implementations are `Sync` so that they
/// may work on a group of batches in parallel.
pub trait RecordSink: Sync {
    /// A file's format and column kinds, before its first batch.
    fn begin(&self, file: &SourceFile, info: &FileInfo);
    fn batch(&self, file: &SourceFile, batch: RecordBatch);
    /// Consecutive batches of one file, in file order. The default hands them to
    /// [`RecordSink::batch`] one by one; a sink with costly per-batch work does it in parallel
    /// and keeps the order where it matters.
    fn batches(&self, file: &SourceFile, batches: Vec<RecordBatch>) {
        for batch in batches {
            self.batch(file, batch);
        }
    }
    /// The file is done, or could not be read (the other files go on).
    fn end(&self, file: &SourceFile, outcome: Result<FileSummary, Error>);
    /// A path that could not even be listed or opened as an archive.
    fn unreadable(&self, path: &str, error: Error);
}

/// Reads every file under `inputs` into `sink`.
pub fn scan(inputs: &[PathBuf], options: &ScanOptions, sink: &dyn RecordSink) {
    let (files, errors) = source::discover(inputs, options.follow_links);
    for (path, error) in errors {
        sink.unreadable(&path, error);
    }
    scan_files(&files, options, sink);
}

/// Stored bytes of small files read side by side before they are handed on in order.
const SMALL_FILES_WINDOW_BYTES: u64 = 16 << 20;

/// Reads the given files into `sink`, in the order given: runs of small files side by side
/// (held until their turn comes, at most [`SMALL_FILES_WINDOW_BYTES`] of them at once), large
/// ones one at a time with their chunks in parallel, so memory stays bounded and the sink sees
/// the same calls in the same order however the threads ran. A compressed file or archive
/// member counts as large whatever its size: what it holds is not known until it is read.
pub fn scan_files(files: &[SourceFile], options: &ScanOptions, sink: &dyn RecordSink) {
    let schema = sql_schema(files, options);
    // Decided once a file (a compressed one is known by opening it).
    let small: Vec<bool> = files
        .iter()
        .map(|file| file.size < options.chunk_bytes as u64 && !file.expands())
        .collect();
    let mut at = 0;
    while let Some(first) = files.get(at) {
        if !small[at] {
            sink.end(first, read_file(first, options, &schema, sink));
            at += 1;
            continue;
        }
        let mut window_bytes = first.size;
        let window = 1 + files[at + 1..]
            .iter()
            .zip(&small[at + 1..])
            .take_while(|(file, small)| {
                window_bytes += file.size;
                **small && window_bytes <= SMALL_FILES_WINDOW_BYTES
            })
            .count();
        let rest = &files[at..];
        let held: Vec<HeldCalls> = rest[..window]
            .par_iter()
            .map(|file| {
                let held = Held::default();
                let outcome = read_file(file, options, &schema, &held);
                held.into_calls(outcome)
            })
            .collect();
        for (file, calls) in rest[..window].iter().zip(held) {
            calls.replay(file, sink);
        }
        at += window;
    }
}

/// A small file's sink calls, held until the file's turn (see [`scan_files`]).
#[derive(Default)]
struct Held {
    info: std::sync::Mutex<Option<FileInfo>>,
    batches: std::sync::Mutex<Vec<RecordBatch>>,
}

/// What [`Held`] received from one file, ready to be replayed.
struct HeldCalls {
    info: Option<FileInfo>,
    batches: Vec<RecordBatch>,
    outcome: Result<FileSummary, Error>,
}

impl Held {
    fn into_calls(self, outcome: Result<FileSummary, Error>) -> HeldCalls {
        HeldCalls {
            info: self.info.into_inner().unwrap_or_else(|poison| poison.into_inner()),
            batches: self.batches.into_inner().unwrap_or_else(|poison| poison.into_inner()),
            outcome,
        }
    }
}

impl HeldCalls {
    fn replay(self, file: &SourceFile, sink: &dyn RecordSink) {
        if let Some(info) = &self.info {
            sink.begin(file, info);
        }
        if !self.batches.is_empty() {
            sink.batches(file, self.batches);
        }
        sink.end(file, self.outcome);
    }
}

impl RecordSink for Held {
    fn begin(&self, _: &SourceFile, info: &FileInfo) {
        *self.info.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(info.clone());
    }

    fn batch(&self, _: &SourceFile, batch: RecordBatch) {
        self.batches
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(batch);
    }

    fn end(&self, _: &SourceFile, _: Result<FileSummary, Error>) {
        debug_assert!(false, "a held file's outcome is returned by read_file, not sent");
    }

    fn unreadable(&self, _: &str, _: Error) {
        debug_assert!(false, "only scan reports unreadable paths");
    }
}

/// The tables the SQL files of an input set define, for dumps that insert without naming
/// columns (see [`Schema`]): files named `*.sql` (compressed too), or every file when the
/// format is forced to SQL.
fn sql_schema(files: &[SourceFile], options: &ScanOptions) -> Schema {
    let forced = options.format == Some(Format::Sql);
    let sql: Vec<SourceFile> = files
        .iter()
        .filter(|file| {
            let name = file.path.to_ascii_lowercase();
            let name = [".gz", ".zst", ".zstd"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(&name);
            forced || name.ends_with(".sql")
        })
        .cloned()
        .collect();
    Schema::new(move || {
        let mut tables = HashMap::new();
        for file in &sql {
            // A file that cannot be read here is reported when it is read for its records.
            if let Ok(stream) = decoded(file) {
                let _ = read_definitions(stream.take(SCHEMA_BYTES), &mut tables);
            }
        }
        tables
    })
}

/// A file's text as UTF-8: decompressed, its byte-order mark dropped, UTF-16 transcoded.
fn decoded(file: &SourceFile) -> Result<Box<dyn Read + Send>, Error> {
    let (mut stream, _) = source::open(file, None, None)?;
    let mut head = Vec::with_capacity(4096);
    (&mut stream)
        .take(4096)
        .read_to_end(&mut head)
        .map_err(|error| Error::io(&file.path, error))?;
    let encoding = source::detect_encoding(&head);
    if encoding == Encoding::Utf8Bom {
        head.drain(..3);
    }
    Ok(source::transcode(Box::new(Cursor::new(head).chain(stream)), encoding))
}

/// A unit of work from a file's reader thread.
enum Unit {
    Bytes(Chunk),
    Parsed(RawBatch),
}

fn read_file(
    file: &SourceFile,
    options: &ScanOptions,
    schema: &Schema,
    sink: &dyn RecordSink,
) -> Result<FileSummary, Error> {
    let digest = options.hash_files.then(source::DigestSlot::default);
    let mut summary = read_stream(file, options, schema, sink, digest.clone())?;
    if let Some(slot) = digest {
        let computed = slot.lock().unwrap_or_else(|poison| poison.into_inner()).take();
        // A decoder may stop before the last stored byte (trailing garbage): hash it apart.
        summary.sha256 = Some(match computed {
            Some(digest) => digest,
            None => source::sha256_of(file)?,
        });
    }
    Ok(summary)
}

fn read_stream(
    file: &SourceFile,
    options: &ScanOptions,
    schema: &Schema,
    sink: &dyn RecordSink,
    digest: Option<source::DigestSlot>,
) -> Result<FileSummary, Error> {
    let io_error = |source| Error::io(&file.path, source);
    let (mut stream, compression) = source::open(file, options.on_bytes.clone(), digest)?;
    let mut sample = Vec::with_capacity(sniff::SAMPLE_BYTES);
    (&mut stream)
        .take(sniff::SAMPLE_BYTES as u64)
        .read_to_end(&mut sample)
        .map_err(io_error)?;
    let encoding = source::detect_encoding(&sample);
    let mut base_offset = 0;
    let mut width = Width::Utf8;
    // What follows the sample: the sample itself is put back in front once it is final.
    let stream: Box<dyn Read + Send> = match encoding {
        Encoding::Utf16Le | Encoding::Utf16Be => {
            width = Width::Utf16;
            if sample.starts_with(&[0xff, 0xfe]) || sample.starts_with(&[0xfe, 0xff]) {
                base_offset = 2;
            }
            let mut decoded = source::transcode(Box::new(Cursor::new(sample).chain(stream)), encoding);
            sample = Vec::with_capacity(sniff::SAMPLE_BYTES);
            (&mut decoded)
                .take(sniff::SAMPLE_BYTES as u64)
                .read_to_end(&mut sample)
                .map_err(io_error)?;
            decoded
        }
        Encoding::Utf8Bom => {
            sample.drain(..3);
            base_offset = 3;
            stream
        }
        Encoding::Utf8 => stream,
    };
    // Lines before a delimited table (blank lines, Excel's `sep=;`, a title) are neither
    // records nor column names: they are passed over, and the table's lines keep their numbers.
    let preamble = sniff::preamble(&sample);
    let mut format = options.format.unwrap_or_else(|| {
        preamble
            .delimiter
            .map(|delimiter| Format::Delimited { delimiter })
            .unwrap_or_else(|| sniff::sniff(&sample[preamble.bytes..], &file.path))
    });
    let mut base_line = 1;
    if let Format::Delimited { delimiter } = format {
        let skipped = preamble.with_titles(&sample, delimiter);
        if skipped.bytes > 0 {
            base_offset += width.stored(&sample[..skipped.bytes]);
            sample.drain(..skipped.bytes);
            base_line += skipped.lines;
            // The sniffed format stands unless a hint named it.
            if options.format.is_none() && preamble.delimiter.is_none() {
                format = sniff::sniff(&sample, &file.path);
            }
        }
    }
    let mut stream: Box<dyn Read + Send> = Box::new(Cursor::new(sample.clone()).chain(stream));
    if format == Format::Json {
        let top_level_records = parse::top_level_records(&sample, sample.len() < sniff::SAMPLE_BYTES);
        stream = Box::new(RecordsOnly::new(stream, top_level_records));
    }
    let region = options.region;
    let mut info = FileInfo {
        format,
        header: false,
        encoding,
        compression,
        columns: Vec::new(),
    };
    let parser: Option<Box<dyn ChunkParser>> = match format {
        Format::Delimited { delimiter } => {
            let (header, columns) = delimited_columns(&sample, delimiter);
            info.header = header;
            Some(Box::new(DelimitedParser {
                delimiter,
                columns,
                header,
            }))
        }
        Format::JsonLines => Some(Box::new(JsonLinesParser)),
        Format::Json => Some(Box::new(JsonDocumentParser)),
        Format::Combo => Some(Box::new(ComboParser { region })),
        Format::Text => Some(Box::new(TextParser { region })),
        Format::Sql => None,
    };
    let group_size = rayon::current_num_threads().max(1) * 2;
    let (sender, receiver) = sync_channel::<io::Result<Unit>>(group_size);
    std::thread::scope(|scope| {
        let parser = parser.as_deref();
        scope.spawn(move || match parser {
            Some(parser) => read_chunks(
                stream,
                parser,
                options.chunk_bytes,
                (base_offset, base_line, width),
                sender,
            ),
            None => read_sql(stream, options.chunk_bytes, (base_offset, width), schema, sender),
        });
        process_units(file, &mut info, parser, region, receiver, group_size, sink).map_err(io_error)
    })
}

/// Header flag and column names of a delimited file, from its sample.
fn delimited_columns(sample: &[u8], delimiter: u8) -> (bool, Vec<String>) {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(sample);
    let rows: Vec<Vec<String>> = reader
        .byte_records()
        .take(51)
        .filter_map(Result::ok)
        .map(|record| {
            record
                .iter()
                .map(|field| parse::decode(field).0.trim().to_string())
                .collect()
        })
        .collect();
    let Some(first) = rows.first() else {
        return (false, Vec::new());
    };
    let header = sniff::detect_header(first, &rows[1..]);
    if header {
        let mut names: Vec<String> = Vec::with_capacity(first.len());
        for (index, name) in first.iter().enumerate() {
            let base = if name.is_empty() {
                format!("col{}", index + 1)
            } else {
                name.clone()
            };
            let mut unique = base.clone();
            let mut suffix = 2;
            while names.contains(&unique) {
                unique = format!("{base}_{suffix}");
                suffix += 1;
            }
            names.push(unique);
        }
        return (true, names);
    }
    let mut counts: HashMap<usize, usize> = HashMap::new();
    for row in &rows {
        *counts.entry(row.len()).or_default() += 1;
    }
    let width = counts
        .into_iter()
        .max_by_key(|&(width, count)| (count, width))
        .map_or(0, |(width, _)| width);
    (false, (1..=width).map(|index| format!("col{index}")).collect())
}

/// Reader thread of a chunked format: reads the stream and cuts it at record boundaries.
fn read_chunks(
    mut stream: Box<dyn Read + Send>,
    parser: &dyn ChunkParser,
    chunk_bytes: usize,
    (base_offset, base_line, width): (u64, u64, Width),
    sender: SyncSender<io::Result<Unit>>,
) {
    let mut buffer: Vec<u8> = Vec::with_capacity(chunk_bytes);
    let mut want = chunk_bytes;
    let mut eof = false;
    let mut offset = base_offset;
    let mut line = base_line;
    let mut index = 0usize;
    loop {
        while !eof && buffer.len() < want {
            let length = buffer.len();
            let room = (want - length).max(64 << 10);
            buffer.resize(length + room, 0);
            match stream.read(&mut buffer[length..]) {
                Ok(0) => {
                    buffer.truncate(length);
                    eof = true;
                }
                Ok(read) => buffer.truncate(length + read),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => buffer.truncate(length),
                Err(error) => {
                    let _ = sender.send(Err(error));
                    return;
                }
            }
        }
        if buffer.is_empty() {
            return;
        }
        let Some(cut) = parser.cut(&buffer, eof) else {
            want = want.saturating_mul(2);
            continue;
        };
        let rest = buffer.split_off(cut.end);
        let data = std::mem::replace(&mut buffer, rest);
        let lines = memchr::memchr_iter(b'\n', &data).count() as u64;
        let length = width.stored(&data);
        let chunk = Chunk {
            data,
            index,
            base_offset: offset,
            base_line: line,
            malformed_from: cut.malformed_from,
            width,
        };
        if sender.send(Ok(Unit::Bytes(chunk))).is_err() {
            return;
        }
        offset += length;
        line += lines;
        index += 1;
        want = chunk_bytes;
    }
}

/// Reader thread of a SQL dump: lexes statements sequentially into raw batches.
fn read_sql(
    stream: Box<dyn Read + Send>,
    chunk_bytes: usize,
    (base_offset, width): (u64, Width),
    schema: &Schema,
    sender: SyncSender<io::Result<Unit>>,
) {
    let mut reader = SqlReader::new(stream, (base_offset, width), chunk_bytes.min(1 << 20)).with_schema(schema);
    loop {
        let unit = match reader.next_batch(chunk_bytes) {
            Ok(Some(batch)) => Ok(Unit::Parsed(batch)),
            Ok(None) => return,
            Err(error) => Err(error),
        };
        let failed = unit.is_err();
        if sender.send(unit).is_err() || failed {
            return;
        }
    }
}

/// Parses and normalizes groups of units in parallel and hands the batches to the sink in order.
fn process_units(
    file: &SourceFile,
    info: &mut FileInfo,
    parser: Option<&dyn ChunkParser>,
    region: Region,
    receiver: Receiver<io::Result<Unit>>,
    group_size: usize,
    sink: &dyn RecordSink,
) -> io::Result<FileSummary> {
    let mut summary = FileSummary::default();
    let mut plan: Option<Plan> = None;
    let mut pending: Vec<RawBatch> = Vec::new();
    let mut done = false;
    while !done {
        let mut group = Vec::with_capacity(group_size);
        while group.len() < group_size {
            match receiver.recv() {
                Ok(unit) => group.push(unit?),
                Err(_) => {
                    done = true;
                    break;
                }
            }
        }
        let parse = |unit| match (unit, parser) {
            (Unit::Bytes(chunk), Some(parser)) => {
                let mut raw = parser.parse(&chunk);
                chunk.width.restate(&chunk.data, &mut raw);
                raw
            }
            (Unit::Bytes(_), None) => RawBatch::default(),
            (Unit::Parsed(batch), _) => batch,
        };
        // Each unit is parsed and normalized in one task once the plan is known: a wait for the
        // slowest of the group between the two left a core idle. Records are numbered after.
        let mut batches: Vec<RecordBatch> = match plan.as_ref() {
            Some(plan) => group
                .into_par_iter()
                .map(|unit| normalize_batch(parse(unit), plan, region))
                .collect(),
            None => {
                pending.extend(group.into_par_iter().map(parse).collect::<Vec<RawBatch>>());
                // Column kinds come from the first SAMPLE_RECORDS records, however they were
                // chunked.
                let sampled: usize = pending.iter().map(|raw| raw.records.len()).sum();
                if sampled < SAMPLE_RECORDS && !done {
                    continue;
                }
                let decided = decide_columns(&pending, region);
                let mut columns: Vec<(String, ColumnClass)> = decided
                    .classes
                    .iter()
                    .map(|(name, class)| (name.clone(), *class))
                    .collect();
                let order = |name: &str| {
                    pending
                        .iter()
                        .flat_map(|raw| raw.columns.iter())
                        .position(|column| column == name)
                };
                columns.sort_by_key(|(name, _)| order(name));
                info.columns = columns;
                sink.begin(file, info);
                let plan = plan.insert(decided);
                std::mem::take(&mut pending)
                    .into_par_iter()
                    .map(|raw| normalize_batch(raw, plan, region))
                    .collect()
            }
        };
        for batch in &mut batches {
            batch.renumber(summary.records + 1);
            summary.records += batch.len() as u64;
            summary.rejected += batch.rejects().len() as u64;
            summary.latin1_records += batch.records.iter().filter(|record| record.latin1).count() as u64;
        }
        sink.batches(file, batches);
    }
    debug_assert!(plan.is_some() && pending.is_empty(), "the last group always decides");
    Ok(summary)
}

/// How the values of each column get their kinds.
struct Plan {
    classes: HashMap<String, ColumnClass>,
    /// Columns whose `other` values are searched for identifiers inside them.
    searched: HashSet<String>,
    /// A column of mixed identifiers → the type column beside it (`id_number` → `id_type`).
    typed_by: HashMap<String, String>,
}

/// Decides the kind of every column that the parser did not classify value by value, from the
/// column name and up to [`SAMPLE_RECORDS`] records.
fn decide_columns(raws: &[RawBatch], region: Region) -> Plan {
    let mut votes: HashMap<String, Vote> = HashMap::new();
    let mut sampled = 0;
    'sample: for raw in raws {
        if raw.values.iter().all(|value| value.kind.is_some()) && !raw.values.is_empty() {
            continue;
        }
        for column in &raw.columns {
            votes.entry(column.clone()).or_default();
        }
        for record in &raw.records {
            if sampled == SAMPLE_RECORDS {
                break 'sample;
            }
            sampled += 1;
            for value in &raw.values[record.values.start as usize..record.values.end as usize] {
                if value.kind.is_none() {
                    let name = &raw.columns[value.column as usize];
                    votes
                        .entry(name.clone())
                        .or_default()
                        .add(raw.value_text(value), region);
                }
            }
        }
    }
    let classes: HashMap<String, ColumnClass> = votes
        .iter()
        .map(|(name, vote)| (name.clone(), decide(kind_from_header(name), vote)))
        .collect();
    // A mixed column's type column is the nearest column whose cells name identifier kinds.
    let order: Vec<&String> = raws.iter().flat_map(|raw| raw.columns.iter()).collect();
    let position = |name: &str| order.iter().position(|column| *column == name).unwrap_or(usize::MAX);
    let typing: Vec<&String> = votes
        .iter()
        .filter(|(_, vote)| vote.names_identifier_kinds())
        .map(|(name, _)| name)
        .collect();
    let typed_by = classes
        .iter()
        .filter(|(_, class)| class.by_value)
        .filter_map(|(name, _)| {
            let at = position(name);
            let nearest = typing
                .iter()
                .min_by_key(|typing| (position(typing).abs_diff(at), position(typing)))?;
            Some((name.clone(), (*nearest).clone()))
        })
        .collect();
    let searched = votes
        .iter()
        .filter(|(name, vote)| vote.searched(name))
        .map(|(name, _)| name.clone())
        .collect();
    Plan {
        classes,
        searched,
        typed_by,
    }
}

fn raw_text<'a>(arena: &'a str, value: &RawValue) -> &'a str {
    &arena[value.text.start as usize..value.text.end as usize]
}

/// How a column's values get their kinds in [`normalize_batch`].
enum Typing {
    Given(Kind),
    /// `other`, and a column whose sampled values had labelled identifiers inside
    /// ([`classify::may_hold_identifiers`]): each value is searched for them.
    Searched,
    /// Mixed identifiers, with the index of the row's type column.
    ByValue(Option<u32>),
    /// Each value by its own shape (a column seen only after the sample).
    Value,
}

/// A raw batch's records with normalized fields, numbered from 0 (see [`RecordBatch::renumber`]).
fn normalize_batch(raw: RawBatch, plan: &Plan, region: Region) -> RecordBatch {
    let typing: Vec<Typing> = raw
        .columns
        .iter()
        .map(|name| match plan.classes.get(name) {
            Some(class) if class.by_value => {
                let typed_by = plan
                    .typed_by
                    .get(name)
                    .and_then(|typed_by| raw.columns.iter().position(|column| column == typed_by));
                Typing::ByValue(typed_by.map(|index| index as u32))
            }
            Some(class) if class.kind == Kind::Other && plan.searched.contains(name) => Typing::Searched,
            Some(class) => Typing::Given(class.kind),
            None => kind_from_header(name).map_or(Typing::Value, Typing::Given),
        })
        .collect();
    let mut arena = raw.arena;
    // Normalized values are about as long as raw ones.
    arena.reserve(arena.len());
    let mut fields = Vec::with_capacity(raw.values.len());
    let mut records = Vec::with_capacity(raw.records.len());
    let mut scratch = String::new();
    for (position, record) in raw.records.iter().enumerate() {
        let first_field = fields.len() as u32;
        let values = &raw.values[record.values.start as usize..record.values.end as usize];
        for value in values {
            let column = value.column as usize;
            let text = &arena[value.text.start as usize..value.text.end as usize];
            let kind = match (value.kind, &typing[column]) {
                (Some(kind), _) => kind,
                (None, Typing::Given(kind)) => *kind,
                (None, Typing::Searched) => Kind::Other,
                (None, Typing::ByValue(typed_by)) => {
                    let cell = |index| values.iter().find(|value| value.column == index);
                    let typed = (*typed_by)
                        .and_then(cell)
                        .and_then(|cell| classify::named_identifier(raw_text(&arena, cell)));
                    classify::mixed_identifier_kind(text, typed, region)
                }
                (None, Typing::Value) => classify::classify_value(text, region),
            };
            let mut push = |kind, raw: Range<u32>, arena: &mut String| {
                let text = &arena[raw.start as usize..raw.end as usize];
                let validity = normalize::normalize(kind, text, region, &mut scratch);
                let normalized = if scratch == text {
                    raw.clone()
                } else {
                    let start = arena.len() as u32;
                    arena.push_str(&scratch);
                    start..arena.len() as u32
                };
                fields.push(FieldSlot {
                    column: value.column,
                    kind,
                    validity,
                    raw,
                    normalized,
                });
            };
            push(kind, value.text.clone(), &mut arena);
            // Identifiers inside a labelled or free-text value are fields of their own kinds
            // (issue 11, kind 9); a value that is wholly one is a mixed column's, not a label's.
            let text = &arena[value.text.start as usize..value.text.end as usize];
            let searched = match typing[column] {
                Typing::Searched => true,
                Typing::Value => kind == Kind::Other,
                _ => false,
            };
            if value.kind.is_none() && searched && classify::may_hold_identifiers(text) {
                let whole = text.trim().len();
                let found: Vec<(Kind, Range<usize>)> = parse::identifiers_in(text, region)
                    .filter(|(kind, range)| classify::IDENTIFYING.contains(kind) && range.len() < whole)
                    .collect();
                for (kind, range) in found {
                    let start = value.text.start + range.start as u32;
                    push(kind, start..start + range.len() as u32, &mut arena);
                }
            }
        }
        records.push(RecordSlot {
            location: Location {
                ordinal: position as u64,
                line: raw.base_line + record.line - 1,
                offset: raw.base_offset + record.offset,
            },
            fields: first_field..fields.len() as u32,
            latin1: record.latin1,
        });
    }
    let rejects = raw
        .rejects
        .into_iter()
        .map(|reject| Reject {
            line: raw.base_line + reject.line - 1,
            offset: raw.base_offset + reject.offset,
            ..reject
        })
        .collect();
    RecordBatch {
        columns: raw.columns,
        records,
        fields,
        arena,
        rejects,
    }
}
