//! Small documents that every process of a deployment must see alike — the token store today —
//! kept where the deployment keeps its shared state: files in the data directory by default
//! ([`LocalDocuments`]), rows of the PostgreSQL catalog in a cluster.
//!
//! Contract: [`Documents::update`] is atomic against every other process (a lock, a
//! transaction); [`Documents::read`] gives the document with a version that changes whenever it
//! does, so a reader can cache it and reread only on change (a revocation reaches the next call).

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
