//! Which corpora and segments exist, and in which state. One trait, two implementations: the
//! embedded file catalog here (a JSON file in the data directory, replaced atomically under a
//! lock) and, for clusters, PostgreSQL.
//!
//! Contract, for every implementation: an update is all or nothing; a segment is visible to
//! queries only once `Published`; a `Staged` segment whose builder is gone is garbage. Deleting a
//! corpus removes it from the catalog first (unpublish), then its files (garbage collection picks
//! up any a crash left behind), so no `Deleted` state is needed.

mod file;
mod postgres;

pub use file::FileCatalog;
pub use postgres::PgCatalog;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("catalog {path} is damaged: {message}")]
    Corrupt { path: String, message: String },
    /// The driver's error with its causes ("db error" alone says nothing of a refused
    /// password or connection).
    #[error("catalog {url}: {}", crate::with_causes(source))]
    Postgres {
        url: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error(
        "catalog {catalog} was built with another fingerprint key than this process's: give every process the same key (--key-file / LEAKDEX_KEY_FILE)"
    )]
    KeyMismatch { catalog: String },
    #[error("no corpus named {0:?}")]
    NoCorpus(String),
    #[error("corpus {name:?} exists with kind {existing}, not {requested}")]
    KindMismatch {
        name: String,
        existing: CorpusKind,
        requested: CorpusKind,
    },
}

/// What a corpus is to an investigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorpusKind {
    /// A leak already known.
    Leak,
    /// A snapshot of a source system, as its owner provided it.
    Reference,
    /// A sample under investigation.
    Suspect,
    /// Records planted in one distributed copy of a source system; meeting one names that copy.
    Canary,
}

impl std::fmt::Display for CorpusKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CorpusKind::Leak => "leak",
            CorpusKind::Reference => "reference",
            CorpusKind::Suspect => "suspect",
            CorpusKind::Canary => "canary",
        })
    }
}

impl std::str::FromStr for CorpusKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "leak" => Ok(CorpusKind::Leak),
            "reference" => Ok(CorpusKind::Reference),
            "suspect" => Ok(CorpusKind::Suspect),
            "canary" => Ok(CorpusKind::Canary),
            _ => Err(format!(
                "unknown corpus kind {s:?} (expected leak, reference, suspect or canary)"
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentState {
    /// Being built; invisible to queries.
    Staged,
    Published,
}

/// A source file as ingested: enough to recognize it again and to prove what was read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub records: u64,
    pub rejected: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentEntry {
    pub id: String,
    pub state: SegmentState,
    pub records: u64,
    pub files: Vec<FileEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Corpus {
    pub name: String,
    pub kind: CorpusKind,
    /// `YYYY-MM-DD`, when the data was acquired.
    pub acquired: Option<String>,
    /// Where it came from (custody notes).
    pub source: Option<String>,
    pub created: String,
    pub segments: Vec<SegmentEntry>,
}

/// A corpus as listed to people and clients: its metadata, counts, files and segments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorpusSummary {
    pub name: String,
    pub kind: CorpusKind,
    pub acquired: Option<String>,
    pub source: Option<String>,
    pub created: String,
    pub records: u64,
    pub files: Vec<FileEntry>,
    pub segments: Vec<String>,
}

impl Corpus {
    /// A new corpus created now, with no acquisition date, source or segments yet.
    pub fn new(name: impl Into<String>, kind: CorpusKind) -> Corpus {
        Corpus {
            name: name.into(),
            kind,
            acquired: None,
            source: None,
            created: crate::clock::now_rfc3339(),
            segments: Vec::new(),
        }
    }

    pub fn summary(&self) -> CorpusSummary {
        CorpusSummary {
            name: self.name.clone(),
            kind: self.kind,
            acquired: self.acquired.clone(),
            source: self.source.clone(),
            created: self.created.clone(),
            records: self.records(),
            files: self.files().cloned().collect(),
            segments: self.published().map(|segment| segment.id.clone()).collect(),
        }
    }

    pub fn published(&self) -> impl Iterator<Item = &SegmentEntry> {
        self.segments
            .iter()
            .filter(|segment| segment.state == SegmentState::Published)
    }

    pub fn records(&self) -> u64 {
        self.published().map(|segment| segment.records).sum()
    }

    /// Published files, for recognizing a file ingested before.
    pub fn files(&self) -> impl Iterator<Item = &FileEntry> {
        self.published().flat_map(|segment| segment.files.iter())
    }
}

/// The catalog seam. Implementations must be safe to use from several processes at once.
pub trait Catalog: Send + Sync {
    fn corpora(&self) -> Result<Vec<Corpus>, CatalogError>;

    fn corpus(&self, name: &str) -> Result<Option<Corpus>, CatalogError> {
        Ok(self.corpora()?.into_iter().find(|corpus| corpus.name == name))
    }

    /// Creates the corpus if new (an existing one keeps its metadata unless a field is given).
    fn ensure_corpus(&self, corpus: &Corpus) -> Result<(), CatalogError>;

    /// Records that a segment is being built for `corpus`.
    fn stage_segment(&self, corpus: &str, id: &str) -> Result<(), CatalogError>;

    /// Makes a built segment visible, with its counts and files.
    fn publish_segment(&self, corpus: &str, segment: SegmentEntry) -> Result<(), CatalogError>;

    /// Marks every segment of the corpus deleted and removes the corpus; returns the segment ids
    /// whose files may now be removed.
    fn delete_corpus(&self, name: &str) -> Result<Vec<String>, CatalogError>;

    /// Forgets segments that are staged but whose builder is gone, or deleted; returns their ids.
    fn forget_segments(&self, ids: &[String]) -> Result<(), CatalogError>;

    /// Records `check` (a keyed hash from [`crate::storage::DataDir::key_check`]) on first use;
    /// afterwards, refuses a process whose check differs: its fingerprints would match nothing
    /// the catalog's segments hold, and every lookup would answer "not found" wrongly.
    ///
    /// Errors: [`CatalogError::KeyMismatch`].
    fn check_key(&self, check: &str) -> Result<(), CatalogError>;

    /// A number that grows with every change: readers poll it (one small read) and reopen what
    /// they serve when it moves.
    fn generation(&self) -> Result<u64, CatalogError>;
}
