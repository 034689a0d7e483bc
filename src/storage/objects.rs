//! Object storage: where published segment files live. The local data directory by default,
//! an S3-compatible bucket in a cluster ([`S3Objects`](super::S3Objects), through the
//! `object_store` crate).
//!
//! # Contract
//!
//! Every implementation keeps it, and `tests/storage.rs` checks each against it (one suite, as
//! tantivy's `Directory` tests and Quickwit's storage test suite run against every backend):
//!
//! - **Paths** are relative and `/`-separated: no empty part, no part that starts with a dot (so
//!   no `.` or `..`, and no clash with a backend's temporary files), no backslash, at most
//!   1,024 bytes. Anything else is [`ObjectError::InvalidPath`], before the backend is touched.
//! - **Writes are whole**: after [`ObjectStorage::put`] or [`ObjectStorage::put_file`] returns,
//!   readers see the whole object; before, they see none of it (or the previous one), never a
//!   part. A segment's files are written once and then published through the catalog, which is
//!   what makes a segment visible; writing the same path again replaces the object whole.
//! - **Reads** are of whole objects or byte ranges; a range that ends past the object is
//!   [`ObjectError::OutOfRange`], an absent object [`ObjectError::NotFound`].
//! - **Listing** is recursive under a folder (`""` for all), sorted by path, with sizes.
//! - **Deleting** an absent object succeeds, as S3's `DELETE` does: a cleanup run twice is not
//!   an error.
//!
//! The calls block. The S3 implementation runs its requests on a runtime of its own, so it may
//! be called from any thread; from async code, call it inside `spawn_blocking`.

use bytes::Bytes;
use std::fmt::Debug;
use std::io;
use std::ops::Range;
use std::path::Path;

/// Longest object path accepted (S3 allows 1,024 bytes of key, prefix included).
pub const MAX_PATH_BYTES: usize = 1024;

/// Errors of object storage; each names the store (`uri`) and the object.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("{path:?} is not an object path: {why}")]
    InvalidPath { path: String, why: &'static str },
    #[error("{uri}: no object {path}")]
    NotFound { uri: String, path: String },
    #[error("{uri}: {path}: bytes {start}..{end} asked of an object of {size} bytes")]
    OutOfRange {
        uri: String,
        path: String,
        start: u64,
        end: u64,
        size: u64,
    },
    #[error("{uri}: {path}: {source}")]
    Io {
        uri: String,
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{uri}: {path}: {}", crate::with_causes(source))]
    Backend {
        uri: String,
        path: String,
        #[source]
        source: object_store::Error,
    },
    #[error("{uri}: {why}")]
    Config { uri: String, why: String },
}

/// An object and its size in bytes, as [`ObjectStorage::list`] gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    pub path: String,
    pub size: u64,
}

/// Object storage (see the module's contract).
pub trait ObjectStorage: Debug + Send + Sync {
    /// Where the objects live, for messages: `file:///srv/leakdex`, `s3://bucket/prefix`.
    fn uri(&self) -> String;

    /// Writes `bytes` as the object at `path`, whole.
    fn put(&self, path: &str, bytes: Bytes) -> Result<(), ObjectError>;

    /// Writes the local file `file` as the object at `path`, whole, without holding it in
    /// memory (large files go up in parts).
    fn put_file(&self, path: &str, file: &Path) -> Result<(), ObjectError>;

    /// The whole object.
    fn get(&self, path: &str) -> Result<Bytes, ObjectError>;

    /// Bytes `range` of the object (start inclusive, end exclusive).
    fn get_range(&self, path: &str, range: Range<u64>) -> Result<Bytes, ObjectError>;

    /// Copies the whole object into the local file `to` (replaced whole: written beside it, then
    /// renamed), without holding it in memory; returns its size in bytes.
    fn download(&self, path: &str, to: &Path) -> Result<u64, ObjectError>;

    /// The object's size in bytes.
    fn size(&self, path: &str) -> Result<u64, ObjectError>;

    /// Every object under the folder `prefix` (`""`: all), sorted by path.
    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, ObjectError>;

    /// Deletes the object; an absent one is not an error.
    fn delete(&self, path: &str) -> Result<(), ObjectError>;
}

/// Checks an object path against the contract's rules.
pub fn check_path(path: &str) -> Result<(), ObjectError> {
    let invalid = |why| {
        Err(ObjectError::InvalidPath {
            path: path.chars().take(200).collect(),
            why,
        })
    };
    if path.is_empty() {
        return invalid("empty");
    }
    if path.len() > MAX_PATH_BYTES {
        return invalid("longer than 1,024 bytes");
    }
    if path.contains('\\') {
        return invalid("holds a backslash");
    }
    if path.chars().any(char::is_control) {
        return invalid("holds a control character");
    }
    for part in path.split('/') {
        if part.is_empty() {
            return invalid("has an empty part (a leading, trailing or doubled `/`)");
        }
        if part.starts_with('.') {
            return invalid("has a part that starts with a dot");
        }
    }
    Ok(())
}

/// Checks a folder given to [`ObjectStorage::list`]: `""`, or a path (a trailing `/` allowed).
pub fn check_prefix(prefix: &str) -> Result<&str, ObjectError> {
    let folder = prefix.strip_suffix('/').unwrap_or(prefix);
    if !folder.is_empty() {
        check_path(folder)?;
    }
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_could_escape_or_clash_are_refused() {
        for good in ["a", "segments/0001/hash.idx", "text/x/meta.json", "a b/c"] {
            assert!(check_path(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/abs",
            "a//b",
            "a/",
            "../etc/passwd",
            "a/../b",
            "./a",
            "a/.tmp",
            "a\\b",
            "a\nb",
        ] {
            assert!(
                matches!(check_path(bad), Err(ObjectError::InvalidPath { .. })),
                "{bad:?}"
            );
        }
        assert!(check_path(&"a".repeat(MAX_PATH_BYTES + 1)).is_err());
        assert_eq!(check_prefix("segments/").unwrap(), "segments");
        assert_eq!(check_prefix("").unwrap(), "");
        assert!(check_prefix("../").is_err());
    }
}
