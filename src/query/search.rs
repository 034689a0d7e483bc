//! Full-text and fielded search over the segments' tantivy indexes: `name:"rahul sharma"
//! district:pune`, phrases, and fuzzy terms `name:rahul~1` (tantivy's grammar has no fuzzy
//! operator, so `word~N` terms are taken out and made fuzzy term queries).

use super::error::QueryError;
use super::index::Index;
use super::text::segment_error;
use crate::fingerprint::IDENTIFYING_KINDS;
use crate::ingest::classify::value_candidates;
use crate::ingest::normalize::{has_indic_letters, latin_forms};
use crate::ingest::{Kind, Region};
use crate::segment::text::{RECORD_FIELD, searchable_kinds};
use crate::segment::{ShownField, text::text_field_name};
use regex::Regex;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, Query, QueryParser};
use tantivy::query_grammar::{UserInputAst, UserInputLeaf};
use tantivy::schema::Value;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{TantivyDocument, Term};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SearchHit {
    pub corpus: String,
    pub file: String,
    pub record: u64,
    pub line: u64,
    pub offset: u64,
    pub score: f32,
    /// The record's fields, `name: value`, the fields that matched first, shortened.
    pub snippet: String,
    /// The fields the query matched, with where.
    pub matched: Vec<Matched>,
}

/// A field of a hit that the query matched.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Matched {
    /// The field's name in its file.
    pub field: String,
    /// Its value as written.
    pub value: String,
    /// The matched words, as byte ranges of `value`: empty when the field matched in Latin
    /// letters only (a value in another script). Fields matched only by fuzzy terms are not
    /// listed.
    pub spans: Vec<(u32, u32)>,
}

impl Matched {
    /// `value` with its matched words marked `«…»`, for people to read.
    pub fn marked(&self) -> String {
        let mut out = String::with_capacity(self.value.len() + 8 * self.spans.len());
        let mut last = 0;
        for &(start, end) in &self.spans {
            let (start, end) = (start as usize, end as usize);
            let (Some(before), Some(word)) = (self.value.get(last..start), self.value.get(start..end)) else {
                continue;
            };
            out.push_str(before);
            out.push('«');
            out.push_str(word);
            out.push('»');
            last = end;
        }
        out.push_str(self.value.get(last..).unwrap_or_default());
        out
    }
}

/// The words a query looks for, by text field name (lower case, as the index holds them): exact
/// words, and fuzzy ones with their edit distance.
#[derive(Default)]
struct QueryWords {
    exact: HashMap<String, HashSet<String>>,
    fuzzy: FuzzyWords,
}

impl QueryWords {
    /// The exact words of `query`, by the name of the text field they are looked for in, and
    /// the fuzzy words `parse` took out of the text.
    fn of(query: &dyn Query, fuzzy: FuzzyWords) -> QueryWords {
        let schema = crate::segment::text::schema();
        let mut exact: HashMap<String, HashSet<String>> = HashMap::new();
        query.query_terms(&mut |term, _| {
            if let Some(word) = term.value().as_str() {
                exact
                    .entry(schema.get_field_name(term.field()).to_string())
                    .or_default()
                    .insert(word.to_string());
            }
        });
        QueryWords { exact, fuzzy }
    }

    /// Whether the query looks for `word` (lower case) in `field`. A fuzzy word matches as
    /// tantivy's `FuzzyTermQuery` with transpositions does: within its distance in the
    /// optimal-string-alignment metric.
    fn wants(&self, field: &str, word: &str) -> bool {
        self.exact.get(field).is_some_and(|words| words.contains(word))
            || self.fuzzy.get(field).is_some_and(|words| {
                words
                    .iter()
                    .any(|(fuzzy, distance)| strsim::osa_distance(fuzzy, word) <= usize::from(*distance))
            })
    }

    /// Byte spans of the words of `text` that the query looks for in `field`.
    fn spans(&self, tokenizer: &mut TextAnalyzer, field: &str, text: &str) -> Vec<(u32, u32)> {
        let mut spans = Vec::new();
        let mut stream = tokenizer.token_stream(text);
        while let Some(token) = stream.next() {
            if self.wants(field, &token.text) {
                spans.push((token.offset_from as u32, token.offset_to as u32));
            }
        }
        spans
    }

    fn has_field(&self, field: &str) -> bool {
        self.exact.contains_key(field) || self.fuzzy.contains_key(field)
    }
}

/// The fields of a record that `words` match, with where; the record's fields reordered so
/// that those come first.
fn matched_fields(fields: &mut [ShownField], words: &QueryWords) -> Vec<Matched> {
    let mut tokenizer = crate::segment::words::analyzer();
    let mut matched = Vec::new();
    for field in fields.iter() {
        let name = text_field_name(field.kind);
        if !words.has_field(name) {
            continue;
        }
        let spans = words.spans(&mut tokenizer, name, &field.raw);
        // Matched through what is indexed: the normalized value, or its romanization (a word
        // typed in Latin letters matching a name in Devanagari marks no span of the raw value).
        let indexed = spans.is_empty()
            && (!words.spans(&mut tokenizer, name, &field.normalized).is_empty()
                || latin_forms(&field.normalized)
                    .iter()
                    .any(|latin| !words.spans(&mut tokenizer, name, latin).is_empty()));
        if !spans.is_empty() || indexed {
            matched.push(Matched {
                field: field.name.clone(),
                value: field.raw.clone(),
                spans,
            });
        }
    }
    fields.sort_by_key(|field| !matched.iter().any(|found| found.field == field.name));
    matched
}

static FUZZY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?:^|\s)(?:([A-Za-z_]+):)?([^\s"~:()]+)~([0-2])(?:\s|$)"#).expect("fuzzy pattern"));

fn bad_query(message: String) -> QueryError {
    QueryError::Search(message)
}

/// Longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 2048;
/// Deepest nesting of parentheses accepted. tantivy's query grammar recurses once per level:
/// 3,000 levels overflow a thread's stack and abort the process, so depth is checked before
/// the text reaches it.
pub const MAX_DEPTH: usize = 16;
/// Most words, phrases and other leaves in one query.
pub const MAX_CLAUSES: usize = 64;
/// Most fuzzy terms in one query: each walks a Levenshtein automaton over a whole term
/// dictionary (1,000 of them cost 13 s of CPU).
pub const MAX_FUZZY: usize = 4;
/// What one fuzzy term is charged, in lookups, against the caller's limits.
pub const FUZZY_COST: u64 = 25;

/// What a query may use. [`SearchScope::Restricted`] is for roles that do not see record
/// contents: words and phrases only. Ranges (`name:[a TO m]`, bisected, rebuild a redacted
/// value), sets, regular expressions, prefixes and `*` are refused, as is any clause on the
/// `record` field (which pins a query to one record), and fuzzy terms are allowed only on
/// fields that do not identify a person on their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchScope {
    Full,
    Restricted,
}

/// Kinds a restricted query may search fuzzily.
const FUZZY_FOR_RESTRICTED: [Kind; 5] = [Kind::Name, Kind::Address, Kind::District, Kind::Locality, Kind::State];

/// The text of a search as it will be run (give it to [`check_query`] and [`search`]).
///
/// - In `plain` mode, the words of `text` and nothing else: each whitespace-separated word is
///   looked for as written (as a phrase of its tokens: `d'mello`, `12/4`), all of them in one
///   record; quotes, brackets, operators and `field:` prefixes are text, never syntax.
/// - Otherwise `text` itself when the fielded syntax reads it. Else the shapes of names and IDs
///   that trip that syntax are forgiven: a word with an apostrophe (`name:d'mello`, `st.
///   mary's`, read by tantivy as the start of a quoted phrase) is looked for joined and as a
///   phrase (see [`quote_apostrophes`]); an unbalanced double
///   quote is closed at the end; `AND`/`OR` with nothing before them, and `AND`/`OR`/`NOT` with
///   nothing after them, are dropped. (Dots after initials, hyphens and slashes inside words the
///   syntax reads already.)
///
/// In either mode, a word or phrase written in an Indic script is also looked for in Latin
/// letters (`सुनीता` → `sunita`, see [`latin_forms`]), as the text index holds such values both
/// ways; so `sunita sharma` finds `सुनीता शर्मा` and the reverse.
///
/// Errors: [`QueryError::Search`] for text that still cannot be read, with the byte position of
/// the first problem in `text` and what tantivy's lenient parser expected there; for plain text
/// with no word.
pub fn readable(text: &str, plain: bool) -> Result<String, QueryError> {
    if plain {
        // Brackets are text here; only the length is bounded before the words are read.
        check_length(text)?;
        let words = plain_words(text);
        if words.is_empty() {
            return Err(bad_query("the query has no word to look for".into()));
        }
        return Ok(words);
    }
    // Before any parser sees it: tantivy's grammar recurses once per bracket.
    check_bounds(text)?;
    // An apostrophe inside a word is part of a name even where the grammar could read it (as
    // the end of one single-quoted phrase and the start of the next, in `mary's d'souza`).
    let named = inner_apostrophes(text);
    if grammar_reads(&named) {
        return Ok(across_scripts(&named));
    }
    let forgiven = forgive(&named);
    if grammar_reads(&forgiven) {
        return Ok(across_scripts(&forgiven));
    }
    // Positions are the user's: each fuzzy term is blanked byte for byte.
    let blanked = FUZZY.replace_all(text, |found: &regex::Captures| " ".repeat(found[0].len()));
    let (_, errors) = tantivy::query_grammar::parse_query_lenient(&blanked);
    Err(bad_query(match errors.first() {
        Some(error) => format!(
            "the query cannot be read at byte {}: {} (put a value with special characters in double quotes, or search in plain mode)",
            error.pos, error.message
        ),
        None => "the query cannot be read (search in plain mode to look for its words as written)".into(),
    }))
}

/// `text` (which the grammar reads) with each word or phrase in an Indic script also looked for
/// in Latin letters, as the text index holds it too: `name:सुनीता` → `name:(सुनीता OR "sunita")`.
/// Unchanged if that would not read.
fn across_scripts(text: &str) -> String {
    if !has_indic_letters(text) {
        return text.to_string();
    }
    let rewritten = tokens(text)
        .iter()
        .map(|token| {
            // Fuzzy, boost and slop suffixes belong to the word as written: left alone.
            if token.contains(['~', '^']) {
                return token.clone();
            }
            let (prefix, core, close) = parts(token);
            let forms: Vec<String> = latin_forms(&core.replace('"', " "))
                .into_iter()
                .filter(|latin| !latin.trim().is_empty())
                .map(|latin| format!(" OR \"{latin}\""))
                .collect();
            match forms.is_empty() {
                true => token.clone(),
                false => format!("{prefix}({core}{}){close}", forms.concat()),
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    if grammar_reads(&rewritten) {
        rewritten
    } else {
        text.to_string()
    }
}

/// Whether tantivy's query grammar reads `text` (its `word~N` terms taken out, as [`parse`]
/// takes them).
fn grammar_reads(text: &str) -> bool {
    let rest = FUZZY.replace_all(text, " ");
    rest.trim().is_empty() || tantivy::query_grammar::parse_query(&rest).is_ok()
}

/// The whitespace-separated tokens of `text`; a double-quoted part stays whole within its
/// token, and an unbalanced quote is closed at the end.
fn tokens(text: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for character in text.chars() {
        match character {
            '"' => {
                quoted = !quoted;
                current.push('"');
            }
            blank if blank.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            other => current.push(other),
        }
    }
    if quoted {
        current.push('"');
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// A token as (what comes before its word: signs, brackets, a `field:` prefix, more brackets;
/// the word or phrase; closing brackets): `-name:(d'mello)` → (`-name:(`, `d'mello`, `)`).
fn parts(token: &str) -> (&str, &str, &str) {
    let lead = token.len() - token.trim_start_matches(['(', '+', '-']).len();
    let after_lead = &token[lead..];
    let field = match after_lead.split_once(':') {
        Some((name, _))
            if !name.is_empty()
                && name
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric() || character == '_') =>
        {
            name.len() + 1
        }
        _ => 0,
    };
    let after_field = &after_lead[field..];
    let brackets = after_field.len() - after_field.trim_start_matches('(').len();
    let prefix = lead + field + brackets;
    let value = &token[prefix..];
    let end = value.trim_end_matches(')').len();
    (&token[..prefix], &value[..end], &value[end..])
}

/// `text` with each word that has an apostrophe between two letters or digits (`d'mello`,
/// `mary's`) in both its readings ([`quote_apostrophes`]); `text` itself when it has none.
fn inner_apostrophes(text: &str) -> String {
    let inner = |token: &str| {
        let characters: Vec<char> = token.chars().collect();
        !token.contains('"')
            && characters
                .windows(3)
                .any(|window| window[0].is_alphanumeric() && window[1] == '\'' && window[2].is_alphanumeric())
    };
    let tokens = tokens(text);
    if !tokens.iter().any(|token| inner(token)) {
        return text.to_string();
    }
    tokens
        .iter()
        .map(|token| match inner(token) {
            true => quote_apostrophes(token),
            false => token.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` with the shapes [`readable`] forgives made readable.
fn forgive(text: &str) -> String {
    let mut tokens = tokens(text);
    while tokens.first().is_some_and(|token| token == "AND" || token == "OR") {
        tokens.remove(0);
    }
    while tokens
        .last()
        .is_some_and(|token| matches!(token.as_str(), "AND" | "OR" | "NOT"))
    {
        tokens.pop();
    }
    tokens
        .iter()
        .map(|token| quote_apostrophes(token))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A token with an apostrophe outside quotes, as either of its two readings: the word joined
/// (`dmello`, as names are normalized when indexed) or its parts as a phrase (`"d'mello"`, as
/// free text is tokenized): `name:(d'mello` → `name:(("dmello" OR "d'mello")`. The field
/// prefix and brackets stay outside.
fn quote_apostrophes(token: &str) -> String {
    if !token.contains('\'') || token.contains('"') {
        return token.to_string();
    }
    let (prefix, core, close) = parts(token);
    format!("{prefix}{}{close}", both_readings(core))
}

/// `word` (with an apostrophe, no double quote) joined and as written, each a phrase:
/// `("dmello" OR "d'mello")`.
fn both_readings(word: &str) -> String {
    let joined: String = word
        .chars()
        .filter(|character| !matches!(character, '\'' | '’'))
        .collect();
    format!("(\"{joined}\" OR \"{word}\")")
}

/// The words of `text`, each quoted as a phrase, a word with an apostrophe in both its
/// readings (see [`readable`], [`quote_apostrophes`]).
fn plain_words(text: &str) -> String {
    text.split_whitespace()
        .map(|word| word.replace(['"', '\\', '(', ')', '[', ']', '{', '}'], ""))
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .map(|word| {
            let forms: Vec<String> = latin_forms(&word)
                .into_iter()
                .filter(|latin| !latin.is_empty())
                .map(|latin| format!(" OR \"{latin}\""))
                .collect();
            match (word.contains('\''), forms.is_empty()) {
                (true, _) => both_readings(&word),
                (false, false) => format!("(\"{word}\"{})", forms.concat()),
                (false, true) => format!("\"{word}\""),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks `text` against [`MAX_QUERY_BYTES`].
fn check_length(text: &str) -> Result<(), QueryError> {
    if text.len() > MAX_QUERY_BYTES {
        return Err(bad_query(format!(
            "the query is {} bytes; at most {MAX_QUERY_BYTES}",
            text.len()
        )));
    }
    Ok(())
}

/// Checks `text` against [`MAX_QUERY_BYTES`] and [`MAX_DEPTH`].
fn check_bounds(text: &str) -> Result<(), QueryError> {
    check_length(text)?;
    // Inside quotes too: an unterminated quote must not hide brackets from this count.
    let mut depth = 0usize;
    for (position, character) in text.char_indices() {
        match character {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(bad_query(format!(
                        "brackets nest more than {MAX_DEPTH} deep at byte {position}"
                    )));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Checks `text` against the bounds and against what `scope` allows, without running it.
/// Returns the query's cost in lookups: one per leaf, [`FUZZY_COST`] per fuzzy term.
///
/// Errors: [`QueryError::Search`] naming the bound or feature, and the byte position for
/// nesting.
pub fn check_query(text: &str, scope: SearchScope) -> Result<u64, QueryError> {
    check_bounds(text)?;
    let mut fuzzy = 0usize;
    let mut rest = String::with_capacity(text.len());
    let mut last = 0;
    for captures in FUZZY.captures_iter(text) {
        fuzzy += 1;
        if fuzzy > MAX_FUZZY {
            return Err(bad_query(format!("more than {MAX_FUZZY} fuzzy terms")));
        }
        let whole = captures.get(0).map_or(0..0, |found| found.range());
        rest.push_str(&text[last..whole.start]);
        rest.push(' ');
        last = whole.end;
        if scope == SearchScope::Restricted {
            let allowed = captures.get(1).is_some_and(|field| {
                FUZZY_FOR_RESTRICTED
                    .iter()
                    .any(|kind| text_field_name(*kind) == field.as_str())
            });
            if !allowed {
                return Err(bad_query(format!(
                    "fuzzy terms are allowed to this role only on {}",
                    FUZZY_FOR_RESTRICTED.map(text_field_name).join(", ")
                )));
            }
        }
    }
    rest.push_str(&text[last..]);
    let mut leaves = Leaves::default();
    // Text the grammar cannot read is reported by the parser that runs it, with its message.
    if !rest.trim().is_empty()
        && let Ok(ast) = tantivy::query_grammar::parse_query(&rest)
    {
        check_ast(&ast, scope, &mut leaves)?;
    }
    // An identifier finds one person: beside it, any other clause is a guess at that person's
    // record, confirmed by whether the record comes back (a lookup answers the identifier alone).
    if scope == SearchScope::Restricted && leaves.identifying > 0 && leaves.count + fuzzy > 1 {
        return Err(bad_query(
            "a query that names an identifier (phone, email, ID) and anything else is not available to roles that do not see record contents: look the identifier up instead".into(),
        ));
    }
    let leaves = leaves.count;
    if leaves + fuzzy > MAX_CLAUSES {
        return Err(bad_query(format!(
            "{} words and phrases; at most {MAX_CLAUSES}",
            leaves + fuzzy
        )));
    }
    Ok((leaves as u64).max(1) + fuzzy as u64 * FUZZY_COST)
}

/// What [`check_ast`] counts.
#[derive(Default)]
struct Leaves {
    count: usize,
    /// Leaves on an identifying field, or unfielded words that read as an identifier.
    identifying: usize,
}

fn check_ast(ast: &UserInputAst, scope: SearchScope, leaves: &mut Leaves) -> Result<(), QueryError> {
    match ast {
        UserInputAst::Clause(clauses) => clauses
            .iter()
            .try_for_each(|(_, clause)| check_ast(clause, scope, leaves)),
        // A boost changes only the ranking, and the ranking of guesses is an oracle.
        UserInputAst::Boost(..) if scope == SearchScope::Restricted => Err(bad_query(
            "boosts are not available to roles that do not see record contents".into(),
        )),
        UserInputAst::Boost(inner, _) => check_ast(inner, scope, leaves),
        UserInputAst::Leaf(leaf) => {
            leaves.count += 1;
            // tantivy answers `field:*` from fast fields, which the text index has none of.
            if let UserInputLeaf::Exists { field } = leaf.as_ref() {
                return Err(bad_query(format!(
                    "`{field}:*` (any value) cannot be searched: name a word, or search `*` for every record"
                )));
            }
            if scope == SearchScope::Full {
                return Ok(());
            }
            if let UserInputLeaf::Literal(literal) = leaf.as_ref() {
                let identifying = match literal.field_name.as_deref() {
                    Some(field) => IDENTIFYING_KINDS.iter().any(|kind| text_field_name(*kind) == field),
                    None => {
                        let candidates = value_candidates(&literal.phrase, Region::INDIA);
                        IDENTIFYING_KINDS.iter().any(|kind| candidates & kind.bit() != 0)
                    }
                };
                leaves.identifying += usize::from(identifying);
            }
            let refused = match leaf.as_ref() {
                UserInputLeaf::Literal(literal) if literal.field_name.as_deref() == Some(RECORD_FIELD) => {
                    Some("a query pinned to a record number")
                }
                UserInputLeaf::Literal(literal) if literal.prefix => Some("a prefix query"),
                UserInputLeaf::Literal(_) => None,
                UserInputLeaf::Range { .. } => Some("a range query"),
                UserInputLeaf::Set { .. } => Some("a set query"),
                UserInputLeaf::Regex { .. } => Some("a regular expression"),
                UserInputLeaf::Exists { .. } | UserInputLeaf::All => Some("a query for every value"),
            };
            match refused {
                Some(feature) => Err(bad_query(format!(
                    "{feature} is not available to roles that do not see record contents"
                ))),
                None => Ok(()),
            }
        }
    }
}

/// Fuzzy words of a query by text field name: (lower-case word, edit distance).
type FuzzyWords = HashMap<String, Vec<(String, u8)>>;

/// Parses `text` into a tantivy query (with `word~N` terms as fuzzy term queries), and the
/// fuzzy words it looks for.
fn parse(text: &str) -> Result<(Box<dyn Query>, FuzzyWords), QueryError> {
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
    let mut fuzzy_words = FuzzyWords::new();
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
                fuzzy_words
                    .entry(schema.get_field_name(*field).to_string())
                    .or_default()
                    .push((word.clone(), distance));
                let term = Term::from_field_text(*field, &word);
                (Occur::Should, Box::new(FuzzyTermQuery::new(term, distance, true)))
            })
            .collect();
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
    }
    rest.push_str(&text[last..]);
    if !rest.trim().is_empty() {
        let mut parser = QueryParser::new(schema.clone(), default_fields, crate::segment::words::tokenizers());
        parser.set_conjunction_by_default();
        let parsed = parser
            .parse_query(&rest)
            .map_err(|error| bad_query(format!("{error}")))?;
        clauses.insert(0, (Occur::Must, parsed));
    }
    if clauses.is_empty() {
        return Err(bad_query("empty query".into()));
    }
    Ok((Box::new(BooleanQuery::new(clauses)), fuzzy_words))
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
    check_query(text, SearchScope::Full)?;
    let (query, fuzzy_words) = parse(text)?;
    let words = QueryWords::of(query.as_ref(), fuzzy_words);
    let record_field = crate::segment::text::schema()
        .get_field(RECORD_FIELD)
        .map_err(|_| bad_query(format!("unknown field {RECORD_FIELD:?}")))?;
    // The best `limit` of every segment, then the best `limit` of those; only they are read.
    let mut candidates: Vec<(f32, usize, tantivy::DocAddress)> = Vec::new();
    let mut searchers = Vec::with_capacity(index.segments.len());
    for (position, indexed) in index.segments.iter().enumerate() {
        if !(corpora.is_empty() || corpora.contains(&indexed.corpus)) {
            searchers.push(None);
            continue;
        }
        let Some(reader) = indexed.text.reader()? else {
            tracing::warn!(segment = %indexed.segment.manifest.id, "no full-text index yet; skipped");
            searchers.push(None);
            continue;
        };
        let searcher = reader.searcher();
        let top = searcher
            .search(query.as_ref(), &TopDocs::with_limit(limit).order_by_score())
            .map_err(|error| segment_error(&indexed.text.path, error))?;
        candidates.extend(top.into_iter().map(|(score, address)| (score, position, address)));
        searchers.push(Some(searcher));
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| (a.1, a.2).cmp(&(b.1, b.2))));
    candidates.truncate(limit);
    let mut hits = Vec::with_capacity(candidates.len());
    for (score, position, address) in candidates {
        let indexed = &index.segments[position];
        let Some(searcher) = &searchers[position] else {
            continue;
        };
        let path = &indexed.text.path;
        let document: TantivyDocument = searcher.doc(address).map_err(|error| segment_error(path, error))?;
        let Some(record) = document.get_first(record_field).and_then(|value| value.as_u64()) else {
            continue;
        };
        let mut shown = indexed.segment.show(record)?;
        let matched = matched_fields(&mut shown.fields, &words);
        let snippet = snippet_of(&shown.fields);
        hits.push(SearchHit {
            corpus: indexed.corpus.clone(),
            file: shown.file,
            record: shown.record,
            line: shown.line,
            offset: shown.offset,
            score,
            snippet,
            matched,
        });
    }
    // Equal scores: in corpus, file and record order.
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| (&a.corpus, &a.file, a.record).cmp(&(&b.corpus, &b.file, b.record)))
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> String {
        readable(text, false).unwrap()
    }

    #[test]
    fn queries_the_syntax_reads_are_left_as_they_are() {
        for query in [
            r#"name:"rahul sharma" district:pune"#,
            "R. K. Sharma",
            "mary-ann",
            "address:12/4",
            "name:rahul~1 district:pune",
            "name:(sunita OR lynette) -district:goa",
        ] {
            assert_eq!(read(query), query);
        }
    }

    #[test]
    fn apostrophes_unbalanced_quotes_and_dangling_operators_are_forgiven() {
        assert_eq!(read("name:d'mello"), r#"name:("dmello" OR "d'mello")"#);
        assert_eq!(read("st. mary's road"), r#"st. ("marys" OR "mary's") road"#);
        assert_eq!(
            read("name:(d'souza OR sunita)"),
            r#"name:(("dsouza" OR "d'souza") OR sunita)"#
        );
        assert_eq!(read(r#"name:"sunita sharma"#), r#"name:"sunita sharma""#);
        assert_eq!(
            read("st. mary's d'souza road"),
            r#"st. ("marys" OR "mary's") ("dsouza" OR "d'souza") road"#,
            "two apostrophes are no single-quoted phrase"
        );
        assert_eq!(read("-name:d'mello"), r#"-name:("dmello" OR "d'mello")"#);
        assert_eq!(read("sunita AND"), "sunita");
        assert_eq!(read("AND sunita OR NOT"), "sunita");
        for query in ["name:d'mello", "st. mary's road", r#"name:"sunita"#, "sunita AND"] {
            assert!(grammar_reads(&read(query)), "{query}");
        }
    }

    #[test]
    fn what_cannot_be_read_is_named_with_its_position() {
        let QueryError::Search(message) = readable("name:(sunita", false).unwrap_err() else {
            panic!("not a search error");
        };
        assert!(
            message.contains("at byte 12") && message.contains("expected ')'"),
            "{message}"
        );
        let QueryError::Search(message) = readable("name:[a TO", false).unwrap_err() else {
            panic!("not a search error");
        };
        assert!(message.contains("at byte 10"), "{message}");
    }

    #[test]
    fn words_in_indic_scripts_are_looked_for_in_latin_letters_too() {
        assert_eq!(read("name:सुनीता"), r#"name:(सुनीता OR "sunita")"#);
        assert_eq!(
            read(r#"name:"सुनीता शर्मा" district:jaipur"#),
            r#"name:("सुनीता शर्मा" OR "sunita sharma") district:jaipur"#
        );
        assert_eq!(readable("राहुल", true).unwrap(), r#"("राहुल" OR "rahul")"#);
        assert_eq!(read("name:सुनीता~1"), "name:सुनीता~1", "a fuzzy term stays as written");
        assert_eq!(read("(name:सुनीता)"), r#"(name:(सुनीता OR "sunita"))"#);
    }

    #[test]
    fn bounds_are_checked_before_any_parser_sees_the_text() {
        let deep = format!("{}rahul{}", "(".repeat(5000), ")".repeat(5000));
        for plain in [false, true] {
            let QueryError::Search(message) = readable(&deep, plain).unwrap_err() else {
                panic!("not a search error");
            };
            assert!(message.contains("bytes") || message.contains("deep"), "{message}");
        }
        let nested = format!("{}rahul", "(".repeat(100));
        assert!(readable(&nested, false).is_err());
        assert_eq!(
            readable(&nested, true).unwrap(),
            r#""rahul""#,
            "brackets are text in plain mode"
        );
    }

    #[test]
    fn a_field_with_any_value_is_refused_as_a_query() {
        let QueryError::Search(message) = check_query("name:*", SearchScope::Full).unwrap_err() else {
            panic!("not a search error");
        };
        assert!(message.contains("`name:*`"), "{message}");
    }

    #[test]
    fn plain_mode_reads_words_and_nothing_else() {
        assert_eq!(
            readable(r#"name:(sunita OR "sharma d'mello"#, true).unwrap(),
            r#""name:sunita" "OR" "sharma" ("dmello" OR "d'mello")"#
        );
        assert!(grammar_reads(&readable(r#"a:b ( ) [ } ~2 ^3 * "x\"#, true).unwrap()));
        assert!(readable(r#"( ) " \ :"#, true).is_err());
    }
}
