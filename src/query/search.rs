//! Full-text and fielded search over the segments' tantivy indexes: `name:"rahul sharma"
//! district:pune`, phrases, and fuzzy terms `name:rahul~1` (tantivy's grammar has no fuzzy
//! operator, so `word~N` terms are taken out and made fuzzy term queries).

use super::lookup::{Index, QueryError};
use crate::segment::text::{RECORD_FIELD, searchable_kinds};
use crate::segment::{SegmentError, ShownField, text::text_field_name};
use regex::Regex;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{LazyLock, OnceLock};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, Query, QueryParser};
use tantivy::schema::Value;
use tantivy::tokenizer::TokenizerManager;
use tantivy::{IndexReader, TantivyDocument, Term};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SearchHit {
    pub corpus: String,
    pub file: String,
    pub record: u64,
    pub line: u64,
    pub offset: u64,
    pub score: f32,
    /// The record's fields, `name: value`, shortened.
    pub snippet: String,
}

static FUZZY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?:^|\s)(?:([A-Za-z_]+):)?([^\s"~:()]+)~([0-2])(?:\s|$)"#).expect("fuzzy pattern"));

fn bad_query(message: String) -> QueryError {
    QueryError::Search(message)
}

/// Parses `text` into a tantivy query (with `word~N` terms as fuzzy term queries).
fn parse(text: &str) -> Result<Box<dyn Query>, QueryError> {
    let schema = crate::segment::text::schema();
    let field = |name: &str| {
        schema
            .get_field(name)
            .map_err(|_| bad_query(format!("unknown field {name:?}")))
    };
    // An unfielded term searches every kind's field.
    let default_fields: Vec<tantivy::schema::Field> = searchable_kinds()
        .map(|kind| field(text_field_name(kind)))
        .collect::<Result<_, _>>()?;
    // Take `word~N` terms out of the text for fuzzy queries.
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut rest = String::new();
    let mut last = 0;
    for captures in FUZZY.captures_iter(text) {
        let whole = captures.get(0).map_or(0..0, |found| found.range());
        rest.push_str(&text[last..whole.start]);
        rest.push(' ');
        last = whole.end;
        let fields = match captures.get(1) {
            Some(name) => vec![field(name.as_str())?],
            None => default_fields.clone(),
        };
        let word = captures.get(2).map_or("", |word| word.as_str()).to_lowercase();
        let distance: u8 = captures
            .get(3)
            .and_then(|digit| digit.as_str().parse().ok())
            .unwrap_or(1);
        let alternatives: Vec<(Occur, Box<dyn Query>)> = fields
            .iter()
            .map(|field| -> (Occur, Box<dyn Query>) {
                let term = Term::from_field_text(*field, &word);
                (Occur::Should, Box::new(FuzzyTermQuery::new(term, distance, true)))
            })
            .collect();
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
    }
    rest.push_str(&text[last..]);
    if !rest.trim().is_empty() {
        let mut parser = QueryParser::new(schema.clone(), default_fields, TokenizerManager::default());
        parser.set_conjunction_by_default();
        let parsed = parser
            .parse_query(&rest)
            .map_err(|error| bad_query(format!("{error}")))?;
        clauses.insert(0, (Occur::Must, parsed));
    }
    if clauses.is_empty() {
        return Err(bad_query("empty query".into()));
    }
    Ok(Box::new(BooleanQuery::new(clauses)))
}

/// A segment's full-text index, opened on first use and kept: a server answers every search
/// from the same readers instead of reopening each index per call. It may not exist yet (it is
/// built after the segment is published); then it is looked for again next time.
#[derive(Default)]
pub struct TextIndex {
    path: PathBuf,
    opened: OnceLock<(tantivy::Index, IndexReader)>,
}

impl TextIndex {
    pub fn new(path: PathBuf) -> Self {
        TextIndex {
            path,
            opened: OnceLock::new(),
        }
    }

    fn reader(&self) -> Result<Option<&IndexReader>, QueryError> {
        if let Some((_, reader)) = self.opened.get() {
            return Ok(Some(reader));
        }
        if !self.path.exists() {
            return Ok(None);
        }
        let index = tantivy::Index::open_in_dir(&self.path).map_err(|error| segment_error(&self.path, error))?;
        let reader = index.reader().map_err(|error| segment_error(&self.path, error))?;
        // Another thread may have opened it meanwhile; either copy serves.
        let _ = self.opened.set((index, reader));
        Ok(self.opened.get().map(|(_, reader)| reader))
    }
}

/// Runs `text` over every segment of the index (of `corpora`, if any are named) that has a
/// full-text index; best `limit` hits. The query is parsed once: every segment has one schema.
pub fn search(index: &Index, text: &str, limit: usize, corpora: &[String]) -> Result<Vec<SearchHit>, QueryError> {
    if let Some(unknown) = corpora
        .iter()
        .find(|name| !index.segments.iter().any(|indexed| &indexed.corpus == *name))
    {
        return Err(QueryError::NoCorpus(unknown.clone()));
    }
    let query = parse(text)?;
    let mut hits = Vec::new();
    let record_field = crate::segment::text::schema()
        .get_field(RECORD_FIELD)
        .map_err(|_| bad_query(format!("unknown field {RECORD_FIELD:?}")))?;
    for indexed in index
        .segments
        .iter()
        .filter(|indexed| corpora.is_empty() || corpora.contains(&indexed.corpus))
    {
        let Some(reader) = indexed.text.reader()? else {
            tracing::warn!(segment = %indexed.segment.manifest.id, "no full-text index yet; skipped");
            continue;
        };
        let path = &indexed.text.path;
        let searcher = reader.searcher();
        let top = searcher
            .search(query.as_ref(), &TopDocs::with_limit(limit).order_by_score())
            .map_err(|error| segment_error(path, error))?;
        for (score, address) in top {
            let document: TantivyDocument = searcher.doc(address).map_err(|error| segment_error(path, error))?;
            let Some(record) = document.get_first(record_field).and_then(|value| value.as_u64()) else {
                continue;
            };
            let shown = indexed.segment.show(record)?;
            let snippet = snippet_of(&shown.fields);
            hits.push(SearchHit {
                corpus: indexed.corpus.clone(),
                file: shown.file,
                record: shown.record,
                line: shown.line,
                offset: shown.offset,
                score,
                snippet,
            });
        }
    }
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| (&a.corpus, &a.file, a.record).cmp(&(&b.corpus, &b.file, b.record)))
    });
    hits.truncate(limit);
    Ok(hits)
}

/// A record's fields as `name: value; …`, cut after about 160 bytes.
pub fn snippet_of(fields: &[ShownField]) -> String {
    let mut snippet = String::new();
    for field in fields {
        if snippet.len() > 160 {
            snippet.push('…');
            break;
        }
        if !snippet.is_empty() {
            snippet.push_str("; ");
        }
        snippet.push_str(&field.name);
        snippet.push_str(": ");
        snippet.push_str(&field.raw);
    }
    snippet
}

fn segment_error(path: &std::path::Path, error: tantivy::TantivyError) -> QueryError {
    QueryError::Segment(SegmentError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(error.to_string()),
    })
}
