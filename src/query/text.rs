//! A segment's full-text index (tantivy), as a query opens it: the local copy, or object
//! storage's through the cache.

use super::error::QueryError;
use crate::segment::SegmentError;
use crate::storage::{DataDir, RemoteSegments};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use tantivy::IndexReader;

/// A segment's full-text index, opened on first use and kept: a server answers every search
/// from the same readers instead of reopening each index per call. It may not exist yet (it is
/// built after the segment is published); then it is looked for again next time.
#[derive(Default)]
pub struct TextIndex {
    pub(super) path: PathBuf,
    /// Object storage holding it as `text/ID/` when this process has no local copy.
    remote: Option<(Arc<RemoteSegments>, String)>,
    opened: OnceLock<(tantivy::Index, IndexReader)>,
}

impl TextIndex {
    /// The full-text index of segment `id`: the local copy when there is one, else object
    /// storage's, through the cache, on first search.
    pub fn of_segment(data: &DataDir, id: &str) -> Self {
        let path = data.text_path(id);
        TextIndex {
            remote: data
                .shared_objects()
                .filter(|_| !path.exists())
                .map(|remote| (remote, format!("text/{id}"))),
            path,
            opened: OnceLock::new(),
        }
    }

    pub(super) fn reader(&self) -> Result<Option<&IndexReader>, QueryError> {
        if let Some((_, reader)) = self.opened.get() {
            return Ok(Some(reader));
        }
        let path = match &self.remote {
            Some((remote, prefix)) => {
                let fetched = remote.cache.fetch_folder(prefix).map_err(|error| {
                    QueryError::Segment(SegmentError::Storage(crate::storage::StorageError::Objects(error)))
                })?;
                match fetched {
                    Some(folder) if folder.join("meta.json").exists() => folder,
                    // Not uploaded yet, or only in part (tantivy's commit point goes last): a
                    // segment without full text, for now; asked again at the next search.
                    _ => return Ok(None),
                }
            }
            None if self.path.exists() => self.path.clone(),
            None => return Ok(None),
        };
        let mut index = tantivy::Index::open_in_dir(&path).map_err(|error| segment_error(&path, error))?;
        // Queries are parsed with today's schema; an index cut into words another way would
        // silently miss (text indexes built before the word tokenizer split Indic words at the
        // virama).
        if index.schema() != crate::segment::text::schema() {
            return Err(QueryError::Segment(SegmentError::OtherFormat {
                path: self.path.display().to_string(),
                what: "full-text index",
                fix: "it was built by another version of leakdex, with other fields or another tokenizer: \
                      rebuild it with this one's `leakdex reindex-text --force`"
                    .into(),
            }));
        }
        index.set_tokenizers(crate::segment::words::tokenizers());
        let reader = index.reader().map_err(|error| segment_error(&self.path, error))?;
        // Another thread may have opened it meanwhile; either copy serves.
        let _ = self.opened.set((index, reader));
        Ok(self.opened.get().map(|(_, reader)| reader))
    }
}

/// A tantivy error reading the index at `path`.
pub(super) fn segment_error(path: &std::path::Path, error: tantivy::TantivyError) -> QueryError {
    QueryError::Segment(SegmentError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(error.to_string()),
    })
}
