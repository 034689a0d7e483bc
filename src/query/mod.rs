//! Queries over published segments: batch lookup of identifiers, and record display.

mod lookup;
mod search;

pub use lookup::{Answer, Hit, Index, IndexedSegment, Query, QueryError, lookup_batch};
pub use search::{SearchHit, TextIndex, search};
