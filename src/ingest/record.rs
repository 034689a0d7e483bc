//! Records as they leave the ingest front end: typed, normalized fields, each record traceable to
//! its file, ordinal, line and byte offset.
//!
//! Batches keep all their strings in one arena so that a million fields cost a handful of
//! allocations, not a million.

use crate::ingest::kind::{Kind, Validity};
use serde::Serialize;
use std::ops::Range;

/// A record's position in its source file (in the decompressed, decoded stream).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    /// 1-based: data rows after a header, JSON lines, SQL tuples.
    pub ordinal: u64,
    /// 1-based line where the record starts.
    pub line: u64,
    /// Byte offset where the record starts.
    pub offset: u64,
}

/// A record that could not be read, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reject {
    pub line: u64,
    pub offset: u64,
    pub reason: String,
}

/// One value of a raw record, before normalization.
#[derive(Clone, Debug)]
pub(crate) struct RawValue {
    pub column: u32,
    /// Set by parsers that classify each value themselves (free text, combo lists).
    pub kind: Option<Kind>,
    pub text: Range<u32>,
}

#[derive(Clone, Debug)]
pub(crate) struct RawRecord {
    /// Relative to the chunk: line 1 is the chunk's first line.
    pub line: u64,
    pub offset: u64,
    pub values: Range<u32>,
    pub latin1: bool,
}

/// What a parser makes of one chunk: records with unnormalized values.
#[derive(Debug, Default)]
pub(crate) struct RawBatch {
    pub columns: Vec<String>,
    pub records: Vec<RawRecord>,
    pub values: Vec<RawValue>,
    pub arena: String,
    pub rejects: Vec<Reject>,
    /// Chunk's first line and byte offset in the file, added to every record's location.
    pub base_line: u64,
    pub base_offset: u64,
}

impl RawBatch {
    /// Index of a column name, adding it when new.
    pub fn column(&mut self, name: &str) -> u32 {
        match self.columns.iter().position(|column| column == name) {
            Some(index) => index as u32,
            None => {
                self.columns.push(name.to_string());
                (self.columns.len() - 1) as u32
            }
        }
    }

    /// [`Self::column`], trying position `hint` first: a batch of one table's rows holds its
    /// columns in the table's order, so a SQL value's column is found with one comparison, not
    /// a search over names that share their `table.` prefix.
    pub fn column_at(&mut self, hint: usize, name: &str) -> u32 {
        match self.columns.get(hint) {
            Some(column) if column == name => hint as u32,
            _ => self.column(name),
        }
    }

    /// Appends a value to the record under construction (records are closed by `finish_record`).
    #[inline]
    pub fn push_value(&mut self, column: u32, kind: Option<Kind>, text: &str) {
        let start = self.arena.len() as u32;
        self.arena.push_str(text);
        self.values.push(RawValue {
            column,
            kind,
            text: start..self.arena.len() as u32,
        });
    }

    /// Closes a record whose values are those pushed since `first_value`.
    pub fn finish_record(&mut self, first_value: usize, line: u64, offset: u64, latin1: bool) {
        self.records.push(RawRecord {
            line,
            offset,
            values: first_value as u32..self.values.len() as u32,
            latin1,
        });
    }

    /// Drops the values pushed since `first_value` (a record that turned out malformed).
    pub fn discard_values(&mut self, first_value: usize) {
        if let Some(value) = self.values.get(first_value) {
            self.arena.truncate(value.text.start as usize);
        }
        self.values.truncate(first_value);
    }

    pub fn reject(&mut self, line: u64, offset: u64, reason: impl Into<String>) {
        self.rejects.push(Reject {
            line,
            offset,
            reason: reason.into(),
        });
    }

    pub fn value_text(&self, value: &RawValue) -> &str {
        &self.arena[value.text.start as usize..value.text.end as usize]
    }
}

/// A normalized field of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSlot {
    pub(crate) column: u32,
    pub(crate) kind: Kind,
    pub(crate) validity: Validity,
    pub(crate) raw: Range<u32>,
    pub(crate) normalized: Range<u32>,
}

#[derive(Clone, Debug)]
pub(crate) struct RecordSlot {
    pub location: Location,
    pub fields: Range<u32>,
    pub latin1: bool,
}

/// A batch of normalized records from one file, in file order.
#[derive(Debug, Default)]
pub struct RecordBatch {
    pub(crate) columns: Vec<String>,
    pub(crate) records: Vec<RecordSlot>,
    pub(crate) fields: Vec<FieldSlot>,
    pub(crate) arena: String,
    pub(crate) rejects: Vec<Reject>,
}

impl RecordBatch {
    /// Numbers the records from `first_ordinal` on, in order.
    pub(crate) fn renumber(&mut self, first_ordinal: u64) {
        for (position, record) in self.records.iter_mut().enumerate() {
            record.location.ordinal = first_ordinal + position as u64;
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Field names of this batch, indexed by [`Field::column`].
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Records that could not be read, with where and why.
    pub fn rejects(&self) -> &[Reject] {
        &self.rejects
    }

    /// The records, in file order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = RecordView<'_>> {
        self.records.iter().map(move |slot| RecordView { batch: self, slot })
    }
}

/// One record of a batch.
#[derive(Clone, Copy)]
pub struct RecordView<'a> {
    batch: &'a RecordBatch,
    slot: &'a RecordSlot,
}

impl<'a> RecordView<'a> {
    pub fn location(&self) -> Location {
        self.slot.location
    }

    /// Whether some text of this record is not as the file wrote it: bytes that were not
    /// UTF-8, decoded as Windows-1252, or a lone UTF-16 surrogate in JSON, replaced by U+FFFD.
    pub fn decoded_latin1(&self) -> bool {
        self.slot.latin1
    }

    pub fn fields(&self) -> impl ExactSizeIterator<Item = Field<'a>> + use<'a> {
        let batch = self.batch;
        batch.fields[self.slot.fields.start as usize..self.slot.fields.end as usize]
            .iter()
            .map(move |slot| Field {
                column: slot.column as usize,
                name: &batch.columns[slot.column as usize],
                kind: slot.kind,
                validity: slot.validity,
                raw: &batch.arena[slot.raw.start as usize..slot.raw.end as usize],
                normalized: &batch.arena[slot.normalized.start as usize..slot.normalized.end as usize],
            })
    }
}

/// A field: its name in the source, its kind, its value as written and normalized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Field<'a> {
    /// Index of the field's name in [`RecordBatch::columns`].
    pub column: usize,
    pub name: &'a str,
    pub kind: Kind,
    pub validity: Validity,
    pub raw: &'a str,
    pub normalized: &'a str,
}
