//! Queries over published segments: batch lookup of identifiers, record display, full-text
//! search, record matching and attribution of a suspect set.

mod error;
mod index;
mod lookup;
pub mod r#match;
pub mod names;
pub mod provenance;
pub mod range;
mod search;
mod text;

pub use error::QueryError;
pub use index::{Index, IndexedSegment};
pub use lookup::{
    Answer, Found, Hit, Hits, Local, Probed, Prober, Query, lookup_batch, lookup_batch_with, normalize_query,
    probe_segment, probe_segments,
};
pub use search::{Matched, SearchHit, SearchScope, check_query, readable, search, snippet_of};
pub use text::TextIndex;
