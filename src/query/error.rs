//! What a query can fail with.

use crate::catalog::CatalogError;
use crate::segment::SegmentError;

/// A query's error; `service` maps each to its gRPC status.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Segment(#[from] SegmentError),
    #[error("no corpus named {0:?}")]
    NoCorpus(String),
    #[error("bad search query: {0}")]
    Search(String),
    #[error("{0}")]
    Invalid(String),
}
