//! Queries over published segments: batch lookup of identifiers, and record display.

mod lookup;

pub use lookup::{Answer, Hit, Index, IndexedSegment, Query, QueryError, lookup_batch};
