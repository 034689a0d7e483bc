//! Errors of the ingest front end. Per-record problems are not errors: they are counted as
//! rejects with their location, and the file goes on.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: bad zip archive: {message}")]
    Zip { path: String, message: String },
    #[error("{0}")]
    InvalidOption(String),
}

impl Error {
    pub(crate) fn io(path: &str, source: io::Error) -> Self {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }
}
