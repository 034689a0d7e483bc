//! Queries over published segments: batch lookup of identifiers, record display, full-text
//! search, record matching and attribution of a suspect set.

mod lookup;
pub mod r#match;
pub mod names;
pub mod provenance;
pub mod range;
mod search;

pub use lookup::{
    Answer, Hit, Hits, Index, IndexedSegment, Query, QueryError, lookup_batch, lookup_batch_with, normalize_query,
};
pub use search::{Matched, SearchHit, SearchScope, TextIndex, check_query, readable, search, snippet_of};
