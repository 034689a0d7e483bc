//! The one place errors become gRPC statuses: each error of the library below says which code
//! it is (a caller's mistake, something missing, the deployment's systems out of reach, or a
//! bug).

use crate::catalog::CatalogError;
use crate::query::QueryError;
use crate::segment::SegmentError;
use tonic::Status;

/// The status of a query's error.
pub(super) fn status(error: QueryError) -> Status {
    match error {
        QueryError::NoCorpus(name) => Status::not_found(format!("no corpus named {name:?}")),
        QueryError::Search(message) => Status::invalid_argument(format!("bad search query: {message}")),
        QueryError::Invalid(message) => Status::invalid_argument(message),
        QueryError::Catalog(CatalogError::NoCorpus(name))
        | QueryError::Segment(SegmentError::Catalog(CatalogError::NoCorpus(name))) => {
            Status::not_found(format!("no corpus named {name:?}"))
        }
        QueryError::Segment(SegmentError::Corrupt { path, message }) => {
            Status::data_loss(format!("segment {path} is corrupt: {message}"))
        }
        QueryError::Segment(other @ SegmentError::OtherFormat { .. }) => Status::failed_precondition(other.to_string()),
        // The deployment's shared systems (the catalog's database, object storage) out of
        // reach: the call may succeed when retried.
        other @ (QueryError::Catalog(CatalogError::Postgres { .. })
        | QueryError::Segment(
            SegmentError::Catalog(CatalogError::Postgres { .. }) | SegmentError::Storage(_),
        )) => Status::unavailable(other.to_string()),
        other => Status::internal(other.to_string()),
    }
}

/// The status of a catalog's error.
pub(super) fn catalog_status(error: CatalogError) -> Status {
    status(QueryError::Catalog(error))
}
