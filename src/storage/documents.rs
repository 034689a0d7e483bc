//! The state every process of a deployment must see alike, kept where the deployment keeps its
//! shared state: files in the data directory by default, tables of the PostgreSQL catalog in a
//! cluster ([`SharedState`]). Three shapes:
//!
//! - **documents** (the token store): [`Documents::update`] is atomic against every other
//!   process (a lock, a transaction); [`Documents::read`] gives the document with a version
//!   that changes whenever it does, so a reader can cache it and reread only on change (a
//!   revocation reaches the next call);
//! - **journals** (the audit chain): entries appended in one order by every process, each
//!   append made from the journal's head as it is at that moment ([`Journal::append`]);
//! - **counters** (the limiter's quotas and throttles): atomic additions ([`Counters::merge`]).
//!
//! On one machine the audit log and the limiter keep their own files (`access/audit.rs`,
//! `access/limits.rs`): a file append needs what a transaction gives for free (a head caught
//! up after a crash, torn lines), so only the cluster's store implements [`Journal`] and
//! [`Counters`].

use super::{lock_file, write_private};
use std::error::Error;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

/// What a change asked of [`Documents::update`] answered instead of new bytes: the caller's
/// own error (no such token), handed back to it.
pub type Refusal = Box<dyn Error + Send + Sync>;

/// A change of a document: its bytes now (`None` when never written) to its next bytes.
pub type Change<'a> = dyn FnMut(Option<&[u8]>) -> Result<Vec<u8>, Refusal> + 'a;

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("{store}: {name}: {source}")]
    Io {
        store: String,
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{store}: {name}: {source}")]
    Backend {
        store: String,
        name: String,
        #[source]
        source: Refusal,
    },
    /// The change refused; the caller's error inside.
    #[error("{0}")]
    Refused(Refusal),
}

/// Shared documents (see the module's contract).
pub trait Documents: Debug + Send + Sync {
    /// Where they live, for messages.
    fn store(&self) -> String;

    /// Document `name` (`None` when never written) and its version.
    fn read(&self, name: &str) -> Result<(Option<Vec<u8>>, u64), DocumentError>;

    /// The version [`Documents::read`] would give now, without the document: what a reader
    /// asks on every call (a `stat`; one indexed row in PostgreSQL).
    fn version(&self, name: &str) -> Result<u64, DocumentError>;

    /// Replaces document `name` with what `change` makes of it, atomically.
    fn update(&self, name: &str, change: &mut Change<'_>) -> Result<(), DocumentError>;
}

/// What [`Journal::append`] makes from the journal's head (`None` before the first append): the
/// entries to append and the head after them.
pub type Extension<'a> = dyn FnMut(Option<&[u8]>) -> Result<(Vec<Vec<u8>>, Vec<u8>), Refusal> + 'a;

/// Append-only journals of opaque entries (see the module's contract).
pub trait Journal: Debug + Send + Sync {
    /// Appends to journal `name` what `extend` makes of its head: the entries and the new head
    /// are written together or not at all, and no other append comes between the head
    /// `extend` saw and them (appends wait for each other). `extend`'s refusal writes nothing
    /// and is handed back as [`DocumentError::Refused`].
    fn append(&self, name: &str, extend: &mut Extension<'_>) -> Result<(), DocumentError>;

    /// The journal's head, as the last append left it (`None` before the first).
    fn head(&self, name: &str) -> Result<Option<Vec<u8>>, DocumentError>;

    /// Up to `limit` entries at positions `from` and after (0-based, in append order), each with
    /// its position.
    fn entries(&self, name: &str, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, DocumentError>;
}

/// A change of one counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// Adds this to the counter.
    Add(i64),
    /// Keeps the larger of the counter and this.
    Max(i64),
}

/// Named 64-bit counters shared by every process (see the module's contract).
pub trait Counters: Debug + Send + Sync {
    /// Applies every change (counter name, change, when the counter may be forgotten in
    /// seconds since the Unix epoch) atomically and returns each counter's value after, in the
    /// order of `changes`. A new counter starts at 0; it is kept until the latest expiry any
    /// change gave it. Names are distinct.
    fn merge(&self, changes: &[(String, Merge, u64)]) -> Result<Vec<i64>, DocumentError>;
}

/// Everything a deployment shares, in one store (the cluster's catalog database).
pub trait SharedState: Documents + Journal + Counters {}

impl<T: Documents + Journal + Counters> SharedState for T {}

/// Documents as files `DATA/NAME.json` (mode 0600), changed under `DATA/NAME.lock`.
#[derive(Debug)]
pub struct LocalDocuments {
    root: PathBuf,
}

impl LocalDocuments {
    pub fn new(root: &Path) -> LocalDocuments {
        LocalDocuments {
            root: root.to_path_buf(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(format!("{name}.json"))
    }

    fn io(&self, name: &str, source: std::io::Error) -> DocumentError {
        DocumentError::Io {
            store: self.store(),
            name: name.to_string(),
            source,
        }
    }

    fn read_file(&self, name: &str) -> Result<Option<Vec<u8>>, DocumentError> {
        match std::fs::read(self.path(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(self.io(name, error)),
        }
    }
}

impl Documents for LocalDocuments {
    fn store(&self) -> String {
        self.root.display().to_string()
    }

    /// The version is a hash of the file's stamp (inode, length, time): files are replaced by
    /// a rename, so every write changes it.
    fn read(&self, name: &str) -> Result<(Option<Vec<u8>>, u64), DocumentError> {
        let version = self.version(name)?;
        Ok((self.read_file(name)?, version))
    }

    fn version(&self, name: &str) -> Result<u64, DocumentError> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        super::FileStamp::of(&self.path(name)).hash(&mut hasher);
        Ok(hasher.finish())
    }

    fn update(&self, name: &str, change: &mut Change<'_>) -> Result<(), DocumentError> {
        let _lock = lock_file(&self.root.join(format!("{name}.lock")), true).map_err(|error| self.io(name, error))?;
        let current = self.read_file(name)?;
        let next = change(current.as_deref()).map_err(DocumentError::Refused)?;
        write_private(&self.path(name), &next).map_err(|error| self.io(name, error))
    }
}
