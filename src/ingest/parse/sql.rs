//! SQL dumps: MySQL `INSERT INTO t [(cols)] VALUES (...),(...);` with backslash escapes and NULL,
//! column names from `CREATE TABLE` or the column list, and PostgreSQL `COPY t (cols) FROM stdin`.
//!
//! Hand-written: a dump is a stream of a few statement shapes, and general SQL parsers want whole
//! statements in memory and build an AST per tuple; this lexer reads tuples straight into a
//! batch and can stop and resume inside an `INSERT` of any size, so memory stays flat.

use super::{Width, decode};
use crate::ingest::record::RawBatch;
use std::collections::HashMap;
use std::io::{self, Read};

/// Column lists of the tables of the SQL dumps in one input set, for dumps that insert into a
/// table without naming its columns and define it elsewhere: in a schema file beside the data
/// (`mysqldump --no-data`, split dumps) or later in the same file. Read on first need, from the
/// first [`SCHEMA_BYTES`] of every SQL file of the set (statements other than `CREATE TABLE`
/// are skipped, not parsed), so dumps that define their tables first pay nothing.
pub(crate) struct Schema {
    read: Box<dyn Fn() -> HashMap<String, Vec<String>> + Send + Sync>,
    tables: std::sync::OnceLock<HashMap<String, Vec<String>>>,
}

/// How much of each SQL file is read for [`Schema`]: a whole schema file, the head of a dump.
pub(crate) const SCHEMA_BYTES: u64 = 16 << 20;

impl Schema {
    /// A schema read by `read` when first asked.
    pub fn new(read: impl Fn() -> HashMap<String, Vec<String>> + Send + Sync + 'static) -> Self {
        Schema {
            read: Box::new(read),
            tables: std::sync::OnceLock::new(),
        }
    }

    fn columns(&self, table: &str) -> Option<&Vec<String>> {
        self.tables.get_or_init(|| (self.read)()).get(table)
    }
}

/// The `CREATE TABLE` column lists of one SQL stream (up to its end), added to `into`: within
/// the stream the last definition of a name wins, across streams the first.
pub(crate) fn read_definitions<R: Read>(stream: R, into: &mut HashMap<String, Vec<String>>) -> io::Result<()> {
    let mut reader = SqlReader::new(stream, (0, Width::Utf8), 1 << 20);
    reader.tables.only_definitions = true;
    while reader.next_batch(1 << 20)?.is_some() {}
    for (table, columns) in reader.tables.defined {
        into.entry(table).or_insert(columns);
    }
    Ok(())
}

/// Tables known to a reader: defined in its stream so far, else in the input set's schema.
struct Tables<'s> {
    defined: HashMap<String, Vec<String>>,
    schema: Option<&'s Schema>,
    /// Read definitions only: data statements are skipped (see [`read_definitions`]).
    only_definitions: bool,
}

impl Tables<'_> {
    fn columns(&self, table: &str) -> Option<&Vec<String>> {
        self.defined
            .get(table)
            .or_else(|| self.schema.and_then(|schema| schema.columns(table)))
    }
}

/// A column's name as a record carries it: `table.column`, so that the columns of different
/// tables are told apart and classified each on its own (`customer.email`, `orders.email`).
fn qualified(table: &str, column: &str) -> String {
    format!("{table}.{column}")
}

/// Streams records out of a SQL dump, one batch at a time.
pub(crate) struct SqlReader<'s, R> {
    stream: R,
    /// Bytes asked of the stream per read.
    read_block: usize,
    buffer: Vec<u8>,
    /// Bytes of `buffer` already consumed.
    start: usize,
    eof: bool,
    /// File offset (stored bytes) and 1-based line of `buffer[start]`.
    offset: u64,
    line: u64,
    width: Width,
    tables: Tables<'s>,
    mode: Mode,
}

#[derive(Clone, Debug)]
enum Mode {
    Statements,
    /// Inside an INSERT's tuple list, after a complete tuple.
    Tuples(Target),
    /// Inside a COPY data block.
    Copy(Target),
}

#[derive(Clone, Debug)]
struct Target {
    table: String,
    /// Qualified column names.
    columns: Vec<String>,
    /// Columns came from a list or a CREATE TABLE, so the count is known.
    known: bool,
    /// They came from the statement's own list: a tuple of another length is malformed. A
    /// definition from elsewhere (another version of the schema) that disagrees with a tuple's
    /// length only loses its names: the tuple's values are named by position.
    listed: bool,
}

enum Step {
    /// Consumed this many bytes.
    Consumed(usize),
    /// The buffer ends inside the current statement.
    NeedMore,
}

/// A syntax problem at a byte position of the slice being lexed.
struct Malformed {
    at: usize,
    reason: String,
}

impl<'s, R: Read> SqlReader<'s, R> {
    pub fn new(stream: R, (base_offset, width): (u64, Width), read_block: usize) -> Self {
        SqlReader {
            stream,
            read_block: read_block.max(1),
            buffer: Vec::new(),
            start: 0,
            eof: false,
            offset: base_offset,
            line: 1,
            width,
            tables: Tables {
                defined: HashMap::new(),
                schema: None,
                only_definitions: false,
            },
            mode: Mode::Statements,
        }
    }

    /// Tables this stream does not define are looked up in `schema`.
    pub fn with_schema(mut self, schema: &'s Schema) -> Self {
        self.tables.schema = Some(schema);
        self
    }

    /// Reads about `target_bytes` of the dump into one batch; `None` at the end.
    pub fn next_batch(&mut self, target_bytes: usize) -> io::Result<Option<RawBatch>> {
        let mut batch = RawBatch {
            base_line: 1,
            base_offset: 0,
            ..RawBatch::default()
        };
        let mut consumed_total = 0;
        loop {
            if self.start == self.buffer.len() && !self.fill()? {
                break;
            }
            let marks = (
                batch.records.len(),
                batch.values.len(),
                batch.arena.len(),
                batch.rejects.len(),
            );
            match self.step(&mut batch) {
                Step::Consumed(bytes) => {
                    self.advance(bytes);
                    consumed_total += bytes;
                    if consumed_total >= target_bytes {
                        break;
                    }
                }
                Step::NeedMore => {
                    batch.records.truncate(marks.0);
                    batch.values.truncate(marks.1);
                    batch.arena.truncate(marks.2);
                    batch.rejects.truncate(marks.3);
                    if self.eof {
                        // Point at the statement itself, not at blanks or comments before it; or
                        // at the comment that never ends, whatever chunk boundaries came before.
                        let mut lexer =
                            Lexer::new(&self.buffer[self.start..], true, self.line, (self.offset, self.width));
                        let comment_open = lexer.skip_blank().is_err();
                        let reason = match self.mode {
                            Mode::Copy(_) => "COPY data not terminated by \\.",
                            _ if comment_open => "comment not terminated (/* without */)",
                            _ => "statement not terminated (unbalanced quote or missing ';')",
                        };
                        let (line, offset) = lexer.locate(lexer.position);
                        batch.reject(line, offset, reason);
                        let rest = self.buffer.len() - self.start;
                        self.advance(rest);
                        self.mode = Mode::Statements;
                        break;
                    }
                    self.fill()?;
                }
            }
        }
        if batch.records.is_empty() && batch.rejects.is_empty() && self.start == self.buffer.len() && self.eof {
            return Ok(None);
        }
        Ok(Some(batch))
    }

    /// Reads another block; false at end of stream.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        let length = self.buffer.len();
        self.buffer.resize(length + self.read_block, 0);
        let read = loop {
            match self.stream.read(&mut self.buffer[length..]) {
                Ok(read) => break read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.buffer.truncate(length);
                    return Err(error);
                }
            }
        };
        self.buffer.truncate(length + read);
        if read == 0 {
            self.eof = true;
        }
        Ok(read > 0)
    }

    fn advance(&mut self, bytes: usize) {
        let span = &self.buffer[self.start..self.start + bytes];
        self.line += memchr::memchr_iter(b'\n', span).count() as u64;
        self.offset += self.width.stored(span);
        self.start += bytes;
    }

    fn step(&mut self, batch: &mut RawBatch) -> Step {
        let input = &self.buffer[self.start..];
        let mut lexer = Lexer::new(input, self.eof, self.line, (self.offset, self.width));
        match std::mem::replace(&mut self.mode, Mode::Statements) {
            Mode::Copy(target) => {
                let step = lexer.copy_line(&target, batch);
                if matches!(step, Step::NeedMore) || !lexer.copy_ended {
                    self.mode = Mode::Copy(target);
                }
                step
            }
            Mode::Tuples(target) => match lexer.tuples(&target, batch, true) {
                Ok(TupleEnd::Statement) => Step::Consumed(lexer.position),
                Ok(TupleEnd::Partial(end)) => {
                    self.mode = Mode::Tuples(target);
                    if end == 0 { Step::NeedMore } else { Step::Consumed(end) }
                }
                Err(malformed) => {
                    let step = lexer.recover(malformed, batch);
                    if matches!(step, Step::NeedMore) {
                        self.mode = Mode::Tuples(target);
                    }
                    step
                }
            },
            Mode::Statements => {
                let (step, mode) = lexer.statement(&mut self.tables, batch);
                self.mode = mode;
                step
            }
        }
    }
}

enum TupleEnd {
    /// The statement ended (at `lexer.position`).
    Statement,
    /// The buffer ran out; whole tuples end at this position (0: none yet).
    Partial(usize),
}

struct Lexer<'a> {
    input: &'a [u8],
    position: usize,
    eof: bool,
    line: u64,
    offset: u64,
    width: Width,
    /// Line- and offset-counting cursor, so locating successive tuples is linear.
    counted_to: usize,
    counted_line: u64,
    counted_offset: u64,
    copy_ended: bool,
}

/// Keywords that start a table constraint rather than a column in CREATE TABLE.
const CONSTRAINTS: &[&str] = &[
    "PRIMARY",
    "KEY",
    "UNIQUE",
    "INDEX",
    "CONSTRAINT",
    "FOREIGN",
    "FULLTEXT",
    "SPATIAL",
    "CHECK",
    "PERIOD",
    "EXCLUDE",
    "LIKE",
];

impl<'a> Lexer<'a> {
    fn new(input: &'a [u8], eof: bool, line: u64, (offset, width): (u64, Width)) -> Self {
        Lexer {
            input,
            position: 0,
            eof,
            line,
            offset,
            width,
            counted_to: 0,
            counted_line: line,
            counted_offset: offset,
            copy_ended: false,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.position).copied()
    }

    /// Line and file offset of a position in the slice.
    fn locate(&mut self, at: usize) -> (u64, u64) {
        let at = at.min(self.input.len());
        if at < self.counted_to {
            self.counted_to = 0;
            self.counted_line = self.line;
            self.counted_offset = self.offset;
        }
        let span = &self.input[self.counted_to..at];
        self.counted_line += memchr::memchr_iter(b'\n', span).count() as u64;
        self.counted_offset += self.width.stored(span);
        self.counted_to = at;
        (self.counted_line, self.counted_offset)
    }

    /// Skips whitespace and comments. Err(()) when a comment runs past the buffer.
    fn skip_blank(&mut self) -> Result<(), ()> {
        self.skip_blank_reading(false)
    }

    /// [`Self::skip_blank`] inside a tuple: a MySQL conditional comment there (`/*!50705
    /// 0x0102,*/`) holds values, which MySQL reads, so only its marks are passed over.
    fn skip_blank_in_tuple(&mut self) -> Result<(), ()> {
        self.skip_blank_reading(true)
    }

    fn skip_blank_reading(&mut self, conditional: bool) -> Result<(), ()> {
        loop {
            while self.peek().is_some_and(|byte| byte.is_ascii_whitespace()) {
                self.position += 1;
            }
            let rest = &self.input[self.position..];
            // Most calls end here: what follows opens no comment.
            if !matches!(rest.first(), Some(b'/' | b'*' | b'-' | b'#')) {
                return Ok(());
            }
            if conditional && rest.starts_with(b"/*!") {
                self.position += 3;
                while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
                    self.position += 1;
                }
            } else if conditional && rest.starts_with(b"*/") {
                self.position += 2;
            } else if rest.starts_with(b"--") || rest.starts_with(b"#") {
                match memchr::memchr(b'\n', rest) {
                    Some(newline) => self.position += newline + 1,
                    None if self.eof => self.position = self.input.len(),
                    None => return Err(()),
                }
            } else if rest.starts_with(b"/*") {
                match memchr::memmem::find(&rest[2..], b"*/") {
                    Some(end) => self.position += end + 4,
                    None => return Err(()),
                }
            } else if !self.eof && matches!(rest, b"-" | b"/") {
                // The buffer ends in the first half of what may open a comment.
                return Err(());
            } else {
                return Ok(());
            }
        }
    }

    fn word(&mut self) -> String {
        let begin = self.position;
        while self
            .peek()
            .is_some_and(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$')
        {
            self.position += 1;
        }
        String::from_utf8_lossy(&self.input[begin..self.position]).to_ascii_uppercase()
    }

    fn keyword(&mut self, expected: &str) -> bool {
        let saved = self.position;
        if self.skip_blank().is_ok() && self.word() == expected {
            return true;
        }
        self.position = saved;
        false
    }

    /// A possibly quoted, possibly dotted identifier; returns its last part.
    fn identifier(&mut self) -> Option<String> {
        let mut last = None;
        loop {
            let close = match self.peek()? {
                b'`' => b'`',
                b'"' => b'"',
                b'[' => b']',
                byte if byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80 => 0,
                _ => return last,
            };
            if close == 0 {
                let begin = self.position;
                while self
                    .peek()
                    .is_some_and(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80)
                {
                    self.position += 1;
                }
                last = Some(decode(&self.input[begin..self.position]).0.into_owned());
            } else {
                let begin = self.position + 1;
                let end = begin + memchr::memchr(close, &self.input[begin..])?;
                last = Some(decode(&self.input[begin..end]).0.into_owned());
                self.position = end + 1;
            }
            if self.peek() == Some(b'.') {
                self.position += 1;
            } else {
                return last;
            }
        }
    }

    /// `(a, b, c)` of identifiers.
    fn column_list(&mut self) -> Option<Vec<String>> {
        let mut columns = Vec::new();
        self.position += 1;
        loop {
            self.skip_blank().ok()?;
            columns.push(self.identifier()?);
            self.skip_blank().ok()?;
            match self.peek()? {
                b',' => self.position += 1,
                b')' => {
                    self.position += 1;
                    return Some(columns);
                }
                _ => return None,
            }
        }
    }

    /// The columns a statement fills: its own `(a, b)` list, else the table's CREATE TABLE, else
    /// unknown (named `col1`, `col2`, … as values come).
    fn target(
        &mut self,
        tables: &Tables<'_>,
        table: &str,
        at: usize,
        statement: &str,
    ) -> Result<Target, Option<Malformed>> {
        let (columns, known, listed) = if self.peek() == Some(b'(') {
            let reason = format!("unreadable column list in {statement}");
            (self.column_list().ok_or(Some(Malformed { at, reason }))?, true, true)
        } else {
            match tables.columns(table) {
                Some(columns) => (columns.clone(), true, false),
                None => (Vec::new(), false, false),
            }
        };
        Ok(Target {
            table: table.to_string(),
            columns: columns.iter().map(|column| qualified(table, column)).collect(),
            known,
            listed,
        })
    }

    /// Skips to just after the `;` ending the statement, honouring quotes and comments.
    fn skip_statement(&mut self) -> Result<(), ()> {
        loop {
            let rest = &self.input[self.position..];
            let Some(found) = rest
                .iter()
                .position(|&byte| matches!(byte, b';' | b'\'' | b'"' | b'`' | b'-' | b'#' | b'/'))
            else {
                return Err(());
            };
            self.position += found;
            match self.input[self.position] {
                b';' => {
                    self.position += 1;
                    return Ok(());
                }
                quote @ (b'\'' | b'"' | b'`') => {
                    self.position += 1;
                    self.skip_quoted(quote)?;
                }
                b'-' | b'#' | b'/' => {
                    let before = self.position;
                    self.skip_blank()?;
                    if self.position == before {
                        self.position += 1;
                    }
                }
                _ => unreachable!("matched above"),
            }
        }
    }

    /// Skips a quoted string whose opening quote is consumed. Backslash escapes in `'` and `"`.
    fn skip_quoted(&mut self, quote: u8) -> Result<(), ()> {
        loop {
            let rest = &self.input[self.position..];
            let found = if quote == b'`' {
                memchr::memchr(quote, rest)
            } else {
                memchr::memchr2(quote, b'\\', rest)
            };
            let Some(found) = found else { return Err(()) };
            self.position += found;
            if self.input[self.position] == b'\\' {
                self.position += 2;
                if self.position > self.input.len() {
                    return Err(());
                }
                continue;
            }
            self.position += 1;
            if self.peek() == Some(quote) {
                self.position += 1;
                continue;
            }
            if self.position == self.input.len() && !self.eof {
                return Err(());
            }
            return Ok(());
        }
    }

    fn statement(&mut self, tables: &mut Tables<'_>, batch: &mut RawBatch) -> (Step, Mode) {
        if self.skip_blank().is_err() {
            return (Step::NeedMore, Mode::Statements);
        }
        if self.position == self.input.len() {
            return (Step::Consumed(self.position), Mode::Statements);
        }
        // psql meta-commands (\connect, \restrict) are lines without a ';'.
        if self.peek() == Some(b'\\') {
            return match memchr::memchr(b'\n', &self.input[self.position..]) {
                Some(newline) => (Step::Consumed(self.position + newline + 1), Mode::Statements),
                None if self.eof => (Step::Consumed(self.input.len()), Mode::Statements),
                None => (Step::NeedMore, Mode::Statements),
            };
        }
        let statement_start = self.position;
        let verb = self.word();
        let result = match verb.as_str() {
            "INSERT" | "REPLACE" | "COPY" if tables.only_definitions => {
                self.skip_statement().map(|()| Mode::Statements).map_err(|()| None)
            }
            "INSERT" | "REPLACE" => self.insert(tables, batch),
            "CREATE" => self.create_table(tables).map(|()| Mode::Statements),
            "COPY" => self.copy_header(tables),
            _ => self.skip_statement().map(|()| Mode::Statements).map_err(|()| None),
        };
        match result {
            Ok(Mode::Tuples(target)) => (Step::Consumed(self.position), Mode::Tuples(target)),
            Ok(mode) => (Step::Consumed(self.position), mode),
            Err(None) => (Step::NeedMore, Mode::Statements),
            Err(Some(malformed)) => {
                let malformed = Malformed {
                    at: malformed.at.max(statement_start),
                    ..malformed
                };
                (self.recover(malformed, batch), Mode::Statements)
            }
        }
    }

    /// Rejects at the malformed position and skips the rest of the statement.
    fn recover(&mut self, malformed: Malformed, batch: &mut RawBatch) -> Step {
        let (line, offset) = self.locate(malformed.at);
        self.position = malformed.at.max(self.position);
        if self.skip_statement().is_err() {
            if !self.eof {
                return Step::NeedMore;
            }
            self.position = self.input.len();
        }
        batch.reject(line, offset, malformed.reason);
        Step::Consumed(self.position)
    }

    /// After `INSERT`: modifiers, table, optional columns, VALUES, then the tuples.
    fn insert(&mut self, tables: &Tables<'_>, batch: &mut RawBatch) -> Result<Mode, Option<Malformed>> {
        for modifier in ["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO"] {
            self.keyword(modifier);
        }
        self.skip_blank().map_err(|()| None)?;
        let at = self.position;
        let malformed = |reason: &str| {
            Some(Malformed {
                at,
                reason: reason.to_string(),
            })
        };
        let table = self
            .identifier()
            .ok_or_else(|| malformed("INSERT without a table name"))?;
        self.skip_blank().map_err(|()| None)?;
        let target = self.target(tables, &table, at, "INSERT")?;
        if !self.keyword("VALUES") && !self.keyword("VALUE") {
            // INSERT ... SELECT holds no data of its own.
            self.skip_statement().map_err(|()| None)?;
            return Ok(Mode::Statements);
        }
        match self.tuples(&target, batch, false) {
            Ok(TupleEnd::Statement) => Ok(Mode::Statements),
            Ok(TupleEnd::Partial(0)) => Err(None),
            Ok(TupleEnd::Partial(end)) => {
                self.position = end;
                Ok(Mode::Tuples(target))
            }
            Err(malformed) => Err(Some(malformed)),
        }
    }

    /// Tuples separated by commas, up to the `;`. Each tuple is one record.
    fn tuples(&mut self, target: &Target, batch: &mut RawBatch, after_tuple: bool) -> Result<TupleEnd, Malformed> {
        let mut complete_end = 0;
        let mut first = !after_tuple;
        loop {
            if self.skip_blank().is_err() {
                return Ok(TupleEnd::Partial(complete_end));
            }
            match self.peek() {
                None => return Ok(TupleEnd::Partial(complete_end)),
                Some(b',') if !first => {
                    self.position += 1;
                    if self.skip_blank().is_err() {
                        return Ok(TupleEnd::Partial(complete_end));
                    }
                }
                Some(b';') if !first => {
                    self.position += 1;
                    return Ok(TupleEnd::Statement);
                }
                Some(b'(') => {}
                Some(_) if !first => {
                    // ON DUPLICATE KEY UPDATE ..., RETURNING ...: the rest holds no records.
                    let word_start = self.position;
                    if self.word().is_empty() {
                        return Err(Malformed {
                            at: word_start,
                            reason: format!("unexpected {:?} after a tuple", char::from(self.input[word_start])),
                        });
                    }
                    return match self.skip_statement() {
                        Ok(()) => Ok(TupleEnd::Statement),
                        Err(()) => Ok(TupleEnd::Partial(complete_end)),
                    };
                }
                Some(byte) => {
                    return Err(Malformed {
                        at: self.position,
                        reason: format!("expected '(' to open a tuple, found {:?}", char::from(byte)),
                    });
                }
            }
            if self.peek().is_none() {
                return Ok(TupleEnd::Partial(complete_end));
            }
            if self.peek() != Some(b'(') {
                return Err(Malformed {
                    at: self.position,
                    reason: "expected '(' to open a tuple".into(),
                });
            }
            first = false;
            let tuple_start = self.position;
            let first_value = batch.values.len();
            match self.tuple(target, batch) {
                Ok(Some(latin1)) => {
                    let (line, offset) = self.locate(tuple_start);
                    batch.finish_record(first_value, line, offset, latin1);
                    complete_end = self.position;
                }
                Ok(None) => {
                    batch.discard_values(first_value);
                    return Ok(TupleEnd::Partial(complete_end));
                }
                Err(reason) => {
                    batch.discard_values(first_value);
                    // A definition from elsewhere that disagrees: the values by position.
                    if target.known && !target.listed {
                        self.position = tuple_start;
                        let positional = Target {
                            columns: Vec::new(),
                            known: false,
                            ..target.clone()
                        };
                        match self.tuple(&positional, batch) {
                            Ok(Some(latin1)) => {
                                let (line, offset) = self.locate(tuple_start);
                                batch.finish_record(first_value, line, offset, latin1);
                                complete_end = self.position;
                                continue;
                            }
                            Ok(None) => {
                                batch.discard_values(first_value);
                                return Ok(TupleEnd::Partial(complete_end));
                            }
                            Err(_) => batch.discard_values(first_value),
                        }
                    }
                    // One malformed tuple is rejected, not the rest of its statement: reading
                    // goes on after its end. A tuple read to its `)` (a count that disagrees)
                    // ends there; else its end is searched from where lexing stopped, so quotes
                    // already read are not taken for anything else.
                    let complete = self.position > tuple_start && self.input[self.position - 1] == b')';
                    let end = match complete {
                        true => Some(self.position),
                        false => self.tuple_end_after(self.position.max(tuple_start)),
                    };
                    match end {
                        Some(next) => {
                            let (line, offset) = self.locate(tuple_start);
                            batch.reject(line, offset, reason);
                            self.position = next;
                            complete_end = next;
                        }
                        None if !self.eof => return Ok(TupleEnd::Partial(complete_end)),
                        None => {
                            return Err(Malformed {
                                at: tuple_start,
                                reason,
                            });
                        }
                    }
                }
            }
        }
    }

    /// Where a tuple that cannot be read most likely ends: at the `,` or `;` after the first `)`
    /// from `start` that is followed by `, (` or `;` (blanks between allowed). Quotes are not
    /// honoured: such a tuple is often malformed by a quote. `None` when the buffer shows none.
    fn tuple_end_after(&self, start: usize) -> Option<usize> {
        let after_blanks = |from: usize| {
            let rest = self.input.get(from..).unwrap_or_default();
            from + rest.iter().take_while(|byte| byte.is_ascii_whitespace()).count()
        };
        let mut at = start;
        while let Some(found) = memchr::memchr(b')', &self.input[at..]) {
            let close = at + found;
            let next = after_blanks(close + 1);
            match self.input.get(next) {
                Some(b';') => return Some(next),
                Some(b',') if self.input.get(after_blanks(next + 1)) == Some(&b'(') => return Some(next),
                None => return None,
                _ => {}
            }
            at = close + 1;
        }
        None
    }

    /// One `( v, v, ... )`. Ok(None): the buffer ended inside it. Ok(Some(latin1)): read.
    fn tuple(&mut self, target: &Target, batch: &mut RawBatch) -> Result<Option<bool>, String> {
        self.position += 1;
        let mut index = 0usize;
        let mut latin1 = false;
        let mut text = Vec::new();
        loop {
            if self.skip_blank_in_tuple().is_err() {
                return Ok(None);
            }
            let Some(byte) = self.peek() else { return Ok(None) };
            text.clear();
            let is_null = match byte {
                b'\'' | b'"' => {
                    self.position += 1;
                    if !self.string(byte, &mut text) {
                        return Ok(None);
                    }
                    false
                }
                b'_' | b'X' | b'x' | b'B' | b'b' | b'N' | b'n' if self.prefixed_string() => {
                    let quote = self.input[self.position];
                    self.position += 1;
                    if !self.string(quote, &mut text) {
                        return Ok(None);
                    }
                    false
                }
                b')' if index == 0 => {
                    self.position += 1;
                    return Ok(Some(latin1));
                }
                _ => {
                    let begin = self.position;
                    let mut depth = 0usize;
                    loop {
                        match self.peek() {
                            None => return Ok(None),
                            Some(b'(') => depth += 1,
                            Some(b')') if depth > 0 => depth -= 1,
                            Some(b',' | b')') => break,
                            // The end of a conditional comment around the value.
                            Some(b'*') if self.input.get(self.position + 1) == Some(&b'/') => break,
                            Some(b'\'' | b'"') => return Err("quote inside an unquoted value".into()),
                            _ => {}
                        }
                        self.position += 1;
                    }
                    let bare = self.input[begin..self.position].trim_ascii();
                    if bare.is_empty() {
                        return Err("empty value in tuple".into());
                    }
                    text.extend_from_slice(bare);
                    bare.eq_ignore_ascii_case(b"NULL")
                }
            };
            if !is_null && !text.iter().all(u8::is_ascii_whitespace) {
                let (value, fallback) = decode(&text);
                latin1 |= fallback;
                let column = match target.columns.get(index) {
                    Some(name) => batch.column_at(index, name),
                    None if target.known => {
                        return Err(format!("expected {} values, found more", target.columns.len()));
                    }
                    None => batch.column(&qualified(&target.table, &format!("col{}", index + 1))),
                };
                batch.push_value(column, None, &value);
            }
            index += 1;
            if self.skip_blank_in_tuple().is_err() {
                return Ok(None);
            }
            match self.peek() {
                None => return Ok(None),
                Some(b',') => self.position += 1,
                Some(b')') => {
                    self.position += 1;
                    if target.known && index != target.columns.len() {
                        return Err(format!("expected {} values, found {index}", target.columns.len()));
                    }
                    return Ok(Some(latin1));
                }
                Some(other) => return Err(format!("unexpected {:?} in tuple", char::from(other))),
            }
        }
    }

    /// `_utf8mb4'..'`, `_binary '..'`, `X'..'`, `b'..'`, `N'..'`: moves to the quote if so.
    fn prefixed_string(&mut self) -> bool {
        let begin = self.position;
        let mut end = begin;
        while self
            .input
            .get(end)
            .is_some_and(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
        {
            end += 1;
        }
        let word = &self.input[begin..end];
        let charset = word.first() == Some(&b'_') && word.len() > 1;
        let single = matches!(word, b"X" | b"x" | b"B" | b"b" | b"N" | b"n");
        if !(charset || single) {
            return false;
        }
        let mut quote_at = end;
        while charset && self.input.get(quote_at) == Some(&b' ') {
            quote_at += 1;
        }
        if self.input.get(quote_at) == Some(&b'\'') {
            self.position = quote_at;
            return true;
        }
        false
    }

    /// Reads a string body (opening quote consumed) into `text`, unescaping. False if the buffer
    /// ends first.
    fn string(&mut self, quote: u8, text: &mut Vec<u8>) -> bool {
        loop {
            let rest = &self.input[self.position..];
            let Some(found) = memchr::memchr2(quote, b'\\', rest) else {
                return false;
            };
            text.extend_from_slice(&rest[..found]);
            self.position += found;
            if self.input[self.position] == b'\\' {
                let Some(&escaped) = self.input.get(self.position + 1) else {
                    return false;
                };
                text.push(match escaped {
                    b'0' => 0,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 8,
                    b'Z' => 26,
                    other => other,
                });
                self.position += 2;
                continue;
            }
            match self.input.get(self.position + 1) {
                Some(&next) if next == quote => {
                    text.push(quote);
                    self.position += 2;
                }
                None if !self.eof => return false,
                _ => {
                    self.position += 1;
                    return true;
                }
            }
        }
    }

    /// After `CREATE`: remembers the columns of a `TABLE`; other CREATEs are skipped.
    fn create_table(&mut self, tables: &mut Tables<'_>) -> Result<(), Option<Malformed>> {
        self.keyword("TEMPORARY");
        self.keyword("UNLOGGED");
        if !self.keyword("TABLE") {
            return self.skip_statement().map_err(|()| None);
        }
        if self.keyword("IF") {
            self.keyword("NOT");
            self.keyword("EXISTS");
        }
        self.skip_blank().map_err(|()| None)?;
        let at = self.position;
        let table = self.identifier().ok_or(Some(Malformed {
            at,
            reason: "CREATE TABLE without a name".into(),
        }))?;
        self.skip_blank().map_err(|()| None)?;
        if self.peek() != Some(b'(') {
            return self.skip_statement().map_err(|()| None);
        }
        self.position += 1;
        let mut columns = Vec::new();
        loop {
            self.skip_blank().map_err(|()| None)?;
            let definition_start = self.position;
            let word = self.word();
            if CONSTRAINTS.contains(&word.as_str()) {
                self.skip_definition().map_err(|()| None)?;
            } else {
                self.position = definition_start;
                match self.identifier() {
                    Some(column) => columns.push(column),
                    None if self.position >= self.input.len() => return Err(None),
                    None => {
                        return Err(Some(Malformed {
                            at: definition_start,
                            reason: "unreadable column definition in CREATE TABLE".into(),
                        }));
                    }
                }
                self.skip_definition().map_err(|()| None)?;
            }
            match self.peek() {
                Some(b',') => self.position += 1,
                Some(b')') => {
                    self.position += 1;
                    break;
                }
                _ => return Err(None),
            }
        }
        self.skip_statement().map_err(|()| None)?;
        tables.defined.insert(table, columns);
        Ok(())
    }

    /// Skips a column or constraint definition up to its `,` or the closing `)`.
    fn skip_definition(&mut self) -> Result<(), ()> {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return Err(()),
                Some(b'(') => depth += 1,
                Some(b')') if depth == 0 => return Ok(()),
                Some(b')') => depth -= 1,
                Some(b',') if depth == 0 => return Ok(()),
                Some(quote @ (b'\'' | b'"' | b'`')) => {
                    self.position += 1;
                    self.skip_quoted(quote)?;
                    continue;
                }
                _ => {}
            }
            self.position += 1;
        }
    }

    /// After `COPY`: table, columns, `FROM stdin;`, then data lines.
    fn copy_header(&mut self, tables: &Tables<'_>) -> Result<Mode, Option<Malformed>> {
        self.skip_blank().map_err(|()| None)?;
        let at = self.position;
        let table = self.identifier().ok_or(Some(Malformed {
            at,
            reason: "COPY without a table name".into(),
        }))?;
        self.skip_blank().map_err(|()| None)?;
        let target = self.target(tables, &table, at, "COPY")?;
        let from_stdin = self.keyword("FROM") && self.keyword("STDIN");
        self.skip_statement().map_err(|()| None)?;
        // The data starts on the next line.
        if let Some(newline) = memchr::memchr(b'\n', &self.input[self.position..]) {
            if self.input[self.position..self.position + newline]
                .iter()
                .all(u8::is_ascii_whitespace)
            {
                self.position += newline + 1;
            }
        } else if !self.eof {
            return Err(None);
        }
        Ok(if from_stdin {
            Mode::Copy(target)
        } else {
            Mode::Statements
        })
    }

    /// One line of COPY text data: tab-separated, `\N` for NULL, backslash escapes; `\.` ends.
    fn copy_line(&mut self, target: &Target, batch: &mut RawBatch) -> Step {
        let rest = &self.input[self.position..];
        let end = match memchr::memchr(b'\n', rest) {
            Some(newline) => newline,
            None if self.eof && !rest.is_empty() => rest.len(),
            None => return Step::NeedMore,
        };
        let line = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]);
        let consumed = (end + 1).min(rest.len());
        if line == b"\\." {
            self.copy_ended = true;
            return Step::Consumed(consumed);
        }
        let fields: Vec<&[u8]> = line.split(|&byte| byte == b'\t').collect();
        let named = fields.len() == target.columns.len() || !target.known;
        if !named && target.listed {
            batch.reject(
                self.line,
                self.offset,
                format!("expected {} COPY fields, found {}", target.columns.len(), fields.len()),
            );
            return Step::Consumed(consumed);
        }
        let first_value = batch.values.len();
        let mut latin1 = false;
        let mut text = Vec::new();
        for (index, field) in fields.iter().enumerate() {
            if *field == b"\\N" || field.is_empty() {
                continue;
            }
            text.clear();
            unescape_copy(field, &mut text);
            let (value, fallback) = decode(&text);
            latin1 |= fallback;
            // A definition from elsewhere that disagrees names nothing: the fields by position.
            let column = match target.columns.get(index).filter(|_| named) {
                Some(name) => batch.column_at(index, name),
                None => batch.column(&qualified(&target.table, &format!("col{}", index + 1))),
            };
            batch.push_value(column, None, &value);
        }
        batch.finish_record(first_value, self.line, self.offset, latin1);
        Step::Consumed(consumed)
    }
}

fn unescape_copy(field: &[u8], out: &mut Vec<u8>) {
    let mut index = 0;
    while index < field.len() {
        let byte = field[index];
        if byte != b'\\' || index + 1 == field.len() {
            out.push(byte);
            index += 1;
            continue;
        }
        let escaped = field[index + 1];
        index += 2;
        out.push(match escaped {
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'b' => 8,
            b'f' => 12,
            b'v' => 11,
            b'0'..=b'7' => {
                let mut value = u32::from(escaped - b'0');
                for _ in 0..2 {
                    match field.get(index) {
                        Some(&digit @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(digit - b'0');
                            index += 1;
                        }
                        _ => break,
                    }
                }
                value as u8
            }
            other => other,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Records = Vec<(u64, u64, Vec<(String, String)>)>;
    type Rejects = Vec<(u64, u64, String)>;

    /// Records (line, offset, values) and rejects of a dump read `block` bytes at a time.
    fn read(dump: &[u8], block: usize) -> (Records, Rejects) {
        let mut reader = SqlReader::new(dump, (0, Width::Utf8), block);
        let mut records = Vec::new();
        let mut rejects = Vec::new();
        while let Some(batch) = reader.next_batch(block).unwrap() {
            for record in &batch.records {
                let values = batch.values[record.values.start as usize..record.values.end as usize]
                    .iter()
                    .map(|value| {
                        (
                            batch.columns[value.column as usize].clone(),
                            batch.value_text(value).to_string(),
                        )
                    })
                    .collect();
                records.push((record.line, record.offset, values));
            }
            rejects.extend(
                batch
                    .rejects
                    .iter()
                    .map(|reject| (reject.line, reject.offset, reject.reason.clone())),
            );
        }
        (records, rejects)
    }

    #[test]
    fn read_size_never_changes_the_result() {
        let dumps: [&[u8]; 5] = [
            b"CREATE TABLE t (a int);\n/* note */\n/* cut",
            b"\t;INSERT INTO t VALUES (),(\"\"\t,;,;\"\"\"\"\"\"\"\"\"\"|\"",
            b"\\\"\"\"\xe9\"\\.\n\xe9,,CREATE TABLE t (a int, b text);\n/*",
            b"CREATE TABLE t (a int, b text);\nINSERT INTO t VALUES (1,'x'),(2,'y\\'z');\nINSERT INTO t VALUES (3,'unterminated",
            b"COPY t (a, b) FROM stdin;\n1\tx\n2\ty\n\\.\nINSERT INTO t (a) VALUES (5);",
        ];
        for dump in dumps {
            let whole = read(dump, 1 << 20);
            for block in [1, 2, 3, 7] {
                assert_eq!(
                    read(dump, block),
                    whole,
                    "{:?} block {block}",
                    String::from_utf8_lossy(dump)
                );
            }
        }
    }

    #[test]
    fn an_unterminated_comment_is_reported_where_it_opens() {
        let dump = b"CREATE TABLE t (a int);\n/* note */\n/* cut";
        for block in [1, 5, 1 << 20] {
            let (_, rejects) = read(dump, block);
            assert_eq!(
                rejects,
                [(3, 35, "comment not terminated (/* without */)".to_string())],
                "block {block}"
            );
        }
    }

    #[test]
    fn tuples_resume_across_reads() {
        let (records, rejects) = read(b"INSERT INTO t (a,b) VALUES (1,'x'),\n(2,NULL),(3,'a\\nb');", 4);
        assert!(rejects.is_empty(), "{rejects:?}");
        let values: Vec<_> = records
            .iter()
            .map(|(line, offset, values)| (*line, *offset, values.len()))
            .collect();
        assert_eq!(values, [(1, 27, 2), (2, 36, 1), (2, 45, 2)]);
        assert_eq!(records[2].2[1], ("t.b".to_string(), "a\nb".to_string()));
    }
}
