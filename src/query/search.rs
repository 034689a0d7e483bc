//! Full-text and fielded search over the segments' tantivy indexes: `name:"rahul sharma"
//! district:pune`, phrases, and fuzzy terms `name:rahul~1` (tantivy's grammar has no fuzzy
//! operator, so `word~N` terms are taken out and made fuzzy term queries).

use super::lookup::{Index, QueryError};
use crate::segment::text::{RECORD_FIELD, searchable_kinds};
use crate::segment::{SegmentError, text::text_field_name};
use crate::storage::DataDir;
use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, Query, QueryParser};
use tantivy::schema::Value;
use tantivy::{TantivyDocument, Term};

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

/// Runs `text` over every segment of the index that has a full-text index; best `limit` hits.
pub fn search(data: &DataDir, index: &Index, text: &str, limit: usize) -> Result<Vec<SearchHit>, QueryError> {
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
    let mut fuzzy_terms = Vec::new();
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
        fuzzy_terms.push((fields, word, distance));
    }
    rest.push_str(&text[last..]);
    let mut hits = Vec::new();
    for indexed in &index.segments {
        let path = data.text_path(&indexed.segment.manifest.id);
        if !path.exists() {
            tracing::warn!(segment = %indexed.segment.manifest.id, "no full-text index yet; skipped");
            continue;
        }
        let tantivy_index = tantivy::Index::open_in_dir(&path).map_err(|error| segment_error(&path, error))?;
        let mut parser = QueryParser::for_index(&tantivy_index, default_fields.clone());
        parser.set_conjunction_by_default();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if !rest.trim().is_empty() {
            let parsed = parser
                .parse_query(&rest)
                .map_err(|error| bad_query(format!("{error}")))?;
            clauses.push((Occur::Must, parsed));
        }
        for (fields, word, distance) in &fuzzy_terms {
            let alternatives: Vec<(Occur, Box<dyn Query>)> = fields
                .iter()
                .map(|field| -> (Occur, Box<dyn Query>) {
                    let term = Term::from_field_text(*field, word);
                    (Occur::Should, Box::new(FuzzyTermQuery::new(term, *distance, true)))
                })
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
        }
        if clauses.is_empty() {
            return Err(bad_query("empty query".into()));
        }
        let query = BooleanQuery::new(clauses);
        let reader = tantivy_index.reader().map_err(|error| segment_error(&path, error))?;
        let searcher = reader.searcher();
        let top = searcher
            .search(&query, &TopDocs::with_limit(limit).order_by_score())
            .map_err(|error| segment_error(&path, error))?;
        let record_field = field(RECORD_FIELD)?;
        for (score, address) in top {
            let document: TantivyDocument = searcher.doc(address).map_err(|error| segment_error(&path, error))?;
            let Some(record) = document.get_first(record_field).and_then(|value| value.as_u64()) else {
                continue;
            };
            let shown = indexed.segment.show(record)?;
            let mut snippet = String::new();
            for field in &shown.fields {
                if snippet.len() > 160 {
                    snippet.push('…');
                    break;
                }
                if !snippet.is_empty() {
                    snippet.push_str("; ");
                }
                snippet.push_str(&format!("{}: {}", field.name, field.raw));
            }
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

fn segment_error(path: &std::path::Path, error: tantivy::TantivyError) -> QueryError {
    QueryError::Segment(SegmentError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(error.to_string()),
    })
}
