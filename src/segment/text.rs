//! The full-text index of a segment (tantivy, memory-mapped directory), built from the
//! segment's record store once the segment is published, so exact lookups never wait for it.
//! It lives in `DATA/text/SEGMENT/`, built in staging and published by rename; it is derived
//! data, rebuilt on demand if lost.

use super::words::{WORDS, tokenizers};
use super::{Segment, SegmentError};
use crate::ingest::Kind;
use crate::ingest::normalize::latin_forms;
use crate::storage::{DataDir, sync_dir};
use std::path::Path;
use tantivy::schema::{Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions};
use tantivy::{Index, IndexWriter, TantivyDocument};

/// The field of the full-text schema that holds values of `kind`.
pub fn text_field_name(kind: Kind) -> &'static str {
    kind.as_str()
}

pub const RECORD_FIELD: &str = "record";

/// Kinds whose values are searchable text (secrets are not).
pub fn searchable_kinds() -> impl Iterator<Item = Kind> {
    Kind::ALL
        .into_iter()
        .filter(|kind| !matches!(kind, Kind::Password | Kind::PasswordHash))
}

/// One text field per kind; an unfielded query searches them all, so no value is indexed twice.
/// Built once: every search asks for it (a clone shares it).
pub fn schema() -> Schema {
    static SCHEMA: std::sync::LazyLock<Schema> = std::sync::LazyLock::new(|| {
        let mut builder = Schema::builder();
        builder.add_u64_field(RECORD_FIELD, INDEXED | STORED);
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(WORDS)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        for kind in searchable_kinds() {
            builder.add_text_field(text_field_name(kind), text.clone());
        }
        builder.build()
    });
    SCHEMA.clone()
}

fn tantivy_error(path: &Path, error: tantivy::TantivyError) -> SegmentError {
    SegmentError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(error.to_string()),
    }
}

/// Kinds whose values written in an Indic script are also indexed in Latin letters
/// ([`latin_forms`], with inner silent vowels dropped too), so that `sunita sharma` finds `सुनीता शर्मा`.
const ROMANIZED_KINDS: [Kind; 5] = [Kind::Name, Kind::Address, Kind::District, Kind::Locality, Kind::State];

/// Builds the full-text index of a published segment again, replacing the one it has (after an
/// upgrade that indexes more, such as Indic-script values in Latin letters). The old index
/// stays in place until the new one is published; if the build fails, the old one is put back.
/// A server that has the old one open keeps answering from it until it reopens its indexes.
/// `progress` is told how many more records were indexed, as with [`build_text_index_reporting`].
pub fn rebuild_text_index(data: &DataDir, segment_id: &str, progress: &dyn Fn(u64)) -> Result<(), SegmentError> {
    let published = data.text_path(segment_id);
    if !published.exists() {
        return build_text_index_reporting(data, segment_id, progress);
    }
    let io = |path: &Path, source| SegmentError::Io {
        path: path.display().to_string(),
        source,
    };
    let staging = data.staging();
    std::fs::create_dir_all(&staging).map_err(|source| io(&staging, source))?;
    let old = staging.join(format!("{segment_id}.text-old"));
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|source| io(&old, source))?;
    }
    std::fs::rename(&published, &old).map_err(|source| io(&published, source))?;
    if let Err(error) = build_text_index_reporting(data, segment_id, progress) {
        std::fs::rename(&old, &published).map_err(|source| io(&old, source))?;
        return Err(error);
    }
    std::fs::remove_dir_all(&old).map_err(|source| io(&old, source))
}

/// Builds and publishes the full-text index of a published segment. Idempotent.
pub fn build_text_index(data: &DataDir, segment_id: &str) -> Result<(), SegmentError> {
    build_text_index_reporting(data, segment_id, &|_| {})
}

/// Records handed to the text index between two calls of a progress callback.
const PROGRESS_EVERY: u64 = 4096;

/// [`build_text_index`], telling `progress` how many more records were handed to the index,
/// every [`PROGRESS_EVERY`] records and at the end (for a progress bar).
pub fn build_text_index_reporting(
    data: &DataDir,
    segment_id: &str,
    progress: &dyn Fn(u64),
) -> Result<(), SegmentError> {
    let published = data.text_path(segment_id);
    if published.exists() {
        return Ok(());
    }
    let segment = Segment::open_published(data, segment_id)?;
    let io = |path: &Path, source| SegmentError::Io {
        path: path.display().to_string(),
        source,
    };
    // Garbage collection leaves a staging folder alone while its builder holds `.lock`.
    let workspace = data.staging().join(format!("{segment_id}.text"));
    std::fs::create_dir_all(&workspace).map_err(|source| io(&workspace, source))?;
    let lock = std::fs::File::create(workspace.join(".lock")).map_err(|source| io(&workspace, source))?;
    lock.try_lock().map_err(|error| {
        io(
            &workspace,
            std::io::Error::other(format!("another process is building it: {error}")),
        )
    })?;
    let staging = workspace.join("index");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|source| io(&staging, source))?;
    }
    std::fs::create_dir_all(&staging).map_err(|source| io(&staging, source))?;
    let schema = schema();
    let mut index = Index::create_in_dir(&staging, schema.clone()).map_err(|error| tantivy_error(&staging, error))?;
    index.set_tokenizers(tokenizers());
    let threads = rayon::current_num_threads().clamp(1, 8);
    let mut writer: IndexWriter = index
        .writer_with_num_threads(threads, threads * (64 << 20))
        .map_err(|error| tantivy_error(&staging, error))?;
    let record_field = schema
        .get_field(RECORD_FIELD)
        .map_err(|error| tantivy_error(&staging, error))?;
    // Text field of each segment field, by the segment's field id (None: not searchable), and
    // whether its values in Indic scripts are indexed in Latin letters too.
    let text_fields: Vec<Option<(Field, bool)>> = segment
        .manifest
        .fields
        .iter()
        .map(|field| {
            let text_field = schema.get_field(text_field_name(field.kind)).ok()?;
            Some((text_field, ROMANIZED_KINDS.contains(&field.kind)))
        })
        .collect();
    segment.for_each_record(|record, stored| {
        if record % PROGRESS_EVERY == PROGRESS_EVERY - 1 {
            progress(PROGRESS_EVERY);
        }
        let mut document = TantivyDocument::default();
        document.add_u64(record_field, record);
        for field in &stored.fields {
            if let Some(Some((text_field, romanize))) = text_fields.get(field.field as usize) {
                let value = field.normalized.as_deref().unwrap_or(&field.raw);
                document.add_text(*text_field, value);
                if *romanize {
                    for latin in latin_forms(value) {
                        document.add_text(*text_field, latin);
                    }
                }
            }
        }
        writer
            .add_document(document)
            .map_err(|error| tantivy_error(&staging, error))?;
        Ok(())
    })?;
    progress(segment.manifest.records % PROGRESS_EVERY);
    writer.commit().map_err(|error| tantivy_error(&staging, error))?;
    writer
        .wait_merging_threads()
        .map_err(|error| tantivy_error(&staging, error))?;
    sync_dir(&staging).map_err(|source| SegmentError::Io {
        path: staging.display().to_string(),
        source,
    })?;
    std::fs::rename(&staging, &published).map_err(|source| SegmentError::Io {
        path: published.display().to_string(),
        source,
    })?;
    sync_dir(&data.root().join("text")).map_err(|source| SegmentError::Io {
        path: published.display().to_string(),
        source,
    })?;
    data.upload_text(segment_id)?;
    drop(lock);
    std::fs::remove_dir_all(&workspace).map_err(|source| io(&workspace, source))?;
    tracing::info!(
        segment = segment_id,
        records = segment.manifest.records,
        "full-text index published"
    );
    Ok(())
}
