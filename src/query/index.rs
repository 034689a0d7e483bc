//! The index a query runs over: the published segments of the catalog's corpora, each opened
//! (by mmap, through the cache when it lives in object storage) with its full-text index and
//! the names its hits carry, interned once.

use super::error::QueryError;
use super::names::{Name, intern, intern_all};
use super::text::TextIndex;
use crate::catalog::{Catalog, CorpusKind};
use crate::segment::{Segment, ShownRecord};
use crate::storage::DataDir;

/// A published segment with its corpus's name and acquisition date.
pub struct IndexedSegment {
    pub corpus: String,
    pub kind: CorpusKind,
    pub acquired: Option<String>,
    /// Custody notes; for a canary corpus, the copy its records were planted in.
    pub source: Option<String>,
    pub segment: Segment,
    pub text: TextIndex,
    pub(super) names: SegmentNames,
    /// The part of a person's name each field holds, by field id, from its column name: worked
    /// out once when the segment is opened, for every match that reads its records.
    pub(crate) name_parts: Vec<crate::ingest::person::NamePart>,
}

/// What the hits of a segment name, interned once when it is opened.
pub(super) struct SegmentNames {
    pub(super) corpus: Name,
    pub(super) acquired: Option<Name>,
    pub(super) files: Vec<Name>,
    pub(super) fields: Vec<Name>,
}

impl SegmentNames {
    fn of(corpus: &str, acquired: Option<&str>, segment: &Segment) -> SegmentNames {
        SegmentNames {
            corpus: intern(corpus),
            acquired: acquired.map(intern),
            files: intern_all(segment.manifest.files.iter().map(|file| file.path.as_str())),
            fields: intern_all(segment.manifest.fields.iter().map(|field| field.name.as_str())),
        }
    }
}

/// The path of a file number the segment does not know, as [`Segment::file_path`] has it.
pub(super) static UNKNOWN_FILE: Name = Name::Borrowed("?");
/// The name of a field number the segment does not know.
pub(super) static UNKNOWN_FIELD: Name = Name::Borrowed("");

/// The published segments a query runs over.
pub struct Index {
    pub segments: Vec<IndexedSegment>,
    key: [u8; 16],
}

impl Index {
    /// Opens every published segment (of the named corpora, if any are named).
    ///
    /// Errors: [`QueryError::NoCorpus`] for a name the catalog does not hold; catalog and
    /// segment errors.
    pub fn open(data: &DataDir, catalog: &dyn Catalog, corpora: &[String]) -> Result<Index, QueryError> {
        let all = catalog.corpora()?;
        for name in corpora {
            if !all.iter().any(|corpus| &corpus.name == name) {
                return Err(QueryError::NoCorpus(name.clone()));
            }
        }
        Index::open_where(data, &all, |corpus| {
            corpora.is_empty() || corpora.contains(&corpus.name)
        })
    }

    /// Opens the published segments of the corpora among `all` that `keep` accepts (a server
    /// opens one index without canary corpora for the roles that must not learn of them).
    pub fn open_where(
        data: &DataDir,
        all: &[crate::catalog::Corpus],
        keep: impl Fn(&crate::catalog::Corpus) -> bool,
    ) -> Result<Index, QueryError> {
        let mut segments = Vec::new();
        for corpus in all.iter().filter(|corpus| keep(corpus)) {
            for entry in corpus.published() {
                let segment = Segment::open_published(data, &entry.id)?;
                segments.push(IndexedSegment {
                    corpus: corpus.name.clone(),
                    kind: corpus.kind,
                    acquired: corpus.acquired.clone(),
                    source: corpus.source.clone(),
                    names: SegmentNames::of(&corpus.name, corpus.acquired.as_deref(), &segment),
                    name_parts: segment
                        .manifest
                        .fields
                        .iter()
                        .map(|field| crate::ingest::person::name_part(&field.name))
                        .collect(),
                    segment,
                    text: TextIndex::of_segment(data, &entry.id),
                });
            }
        }
        Ok(Index {
            segments,
            key: data.key(),
        })
    }
}

impl Index {
    /// The data directory's fingerprint key.
    pub(crate) fn key(&self) -> [u8; 16] {
        self.key
    }

    /// Record `ordinal` of `file` in `corpus`, as stored; `None` if the corpus has no such record.
    pub fn show(&self, corpus: &str, file: &str, ordinal: u64) -> Result<Option<ShownRecord>, QueryError> {
        for indexed in self.segments.iter().filter(|indexed| indexed.corpus == corpus) {
            if let Some(number) = indexed.segment.find(file, ordinal) {
                return Ok(Some(indexed.segment.show(number)?));
            }
        }
        Ok(None)
    }
}
