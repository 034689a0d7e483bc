//! Format detection from a file's first bytes (its name is only a tie-breaker).

use crate::ingest::classify::{kind_from_header, value_candidates};
use crate::ingest::kind::Kind;
use crate::ingest::normalize::Region;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// How a file's records are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// CSV and its relatives: comma, tab, pipe or semicolon separated, RFC 4180 quoting.
    Delimited {
        delimiter: u8,
    },
    JsonLines,
    /// MySQL `INSERT` dumps and PostgreSQL `COPY ... FROM stdin` dumps.
    Sql,
    /// `identifier:secret` lines (also `;` and `|`).
    Combo,
    /// Anything else: identifiers are extracted by pattern, one record per non-blank line.
    Text,
}

impl Format {
    /// Short name: `csv`, `tsv`, `psv`, `ssv`, `jsonl`, `sql`, `combo`, `text`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Delimited { delimiter: b'\t' } => "tsv",
            Format::Delimited { delimiter: b'|' } => "psv",
            Format::Delimited { delimiter: b';' } => "ssv",
            Format::Delimited { .. } => "csv",
            Format::JsonLines => "jsonl",
            Format::Sql => "sql",
            Format::Combo => "combo",
            Format::Text => "text",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "csv" => Format::Delimited { delimiter: b',' },
            "tsv" => Format::Delimited { delimiter: b'\t' },
            "psv" => Format::Delimited { delimiter: b'|' },
            "ssv" => Format::Delimited { delimiter: b';' },
            "jsonl" | "json" | "ndjson" => Format::JsonLines,
            "sql" => Format::Sql,
            "combo" => Format::Combo,
            "text" | "txt" => Format::Text,
            _ => {
                return Err(format!(
                    "unknown format {s:?} (expected csv, tsv, psv, ssv, jsonl, sql, combo or text)"
                ));
            }
        })
    }
}

/// How many bytes of a file are looked at to decide its format.
pub const SAMPLE_BYTES: usize = 64 * 1024;

/// Decides the format of a file from its first bytes (already decoded to UTF-8 where needed).
pub fn sniff(sample: &[u8], name: &str) -> Format {
    let lines = sample_lines(sample);
    if lines.is_empty() {
        return Format::Text;
    }
    if looks_like_json_lines(&lines) {
        return Format::JsonLines;
    }
    if looks_like_sql(sample, name) {
        return Format::Sql;
    }
    let delimited = best_delimiter(sample);
    if let Some((delimiter, fields)) = delimited
        && fields >= 3
    {
        return Format::Delimited { delimiter };
    }
    if looks_like_combo(&lines) {
        return Format::Combo;
    }
    match delimited {
        Some((delimiter, _)) => Format::Delimited { delimiter },
        None => Format::Text,
    }
}

/// Up to 200 non-blank lines of the sample; the last line is dropped when the sample was cut.
fn sample_lines(sample: &[u8]) -> Vec<&[u8]> {
    let complete = if sample.len() >= SAMPLE_BYTES {
        memchr::memrchr(b'\n', sample).map_or(sample, |end| &sample[..end])
    } else {
        sample
    };
    complete
        .split(|&byte| byte == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .take(200)
        .collect()
}

fn looks_like_json_lines(lines: &[&[u8]]) -> bool {
    let objects = lines
        .iter()
        .filter(|line| {
            let trimmed = line.trim_ascii();
            trimmed.starts_with(b"{") && serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok()
        })
        .count();
    objects * 10 >= lines.len() * 8
}

fn looks_like_sql(sample: &[u8], name: &str) -> bool {
    let text = String::from_utf8_lossy(&sample[..sample.len().min(SAMPLE_BYTES)]).to_ascii_lowercase();
    let statement_starts = [
        "insert into",
        "create table",
        "copy ",
        "insert ignore into",
        "replace into",
    ];
    let has_statement = text.lines().any(|line| {
        let line = line.trim_start();
        statement_starts.iter().any(|start| line.starts_with(start))
    });
    let dump_header = text.trim_start().starts_with("-- mysql dump")
        || text.trim_start().starts_with("-- postgresql database dump")
        || text.contains("\nset ")
        || text.contains("/*!40101");
    has_statement || (dump_header && name.to_ascii_lowercase().contains(".sql"))
}

/// The delimiter whose field count is most consistent over the sample's records, with that
/// count. Quoting is honoured, so quoted delimiters and newlines do not mislead it.
fn best_delimiter(sample: &[u8]) -> Option<(u8, usize)> {
    let complete = if sample.len() >= SAMPLE_BYTES {
        memchr::memrchr(b'\n', sample).map_or(sample, |end| &sample[..=end])
    } else {
        sample
    };
    let mut best: Option<(u8, usize, f32)> = None;
    for delimiter in [b',', b'\t', b'|', b';'] {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(complete);
        let counts: Vec<usize> = reader
            .byte_records()
            .take(200)
            .filter_map(Result::ok)
            .map(|record| record.len())
            .collect();
        if counts.len() < 2 && counts.first().is_none_or(|&count| count < 2) {
            continue;
        }
        let mut histogram = std::collections::HashMap::new();
        for &count in &counts {
            *histogram.entry(count).or_insert(0usize) += 1;
        }
        let Some((&mode, &frequency)) = histogram.iter().max_by_key(|&(&count, &frequency)| (frequency, count)) else {
            continue;
        };
        let consistency = frequency as f32 / counts.len() as f32;
        if mode < 2 || consistency < 0.7 {
            continue;
        }
        let better = best.is_none_or(|(_, best_mode, best_consistency)| {
            (consistency, mode) > (best_consistency, best_mode) && consistency >= best_consistency
        });
        if better {
            best = Some((delimiter, mode, consistency));
        }
    }
    best.map(|(delimiter, mode, _)| (delimiter, mode))
}

/// Most lines are `identifier SEP secret` with an email, phone or plain username on the left.
fn looks_like_combo(lines: &[&[u8]]) -> bool {
    let combos = lines.iter().filter(|line| combo_split(line).is_some()).count();
    combos * 10 >= lines.len() * 9
}

/// Splits a combo line at its first separator when the left side is a plausible login.
pub(crate) fn combo_split(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = line.iter().position(|&byte| matches!(byte, b':' | b';' | b'|'))?;
    let (identifier, secret) = (&line[..at], &line[at + 1..]);
    if identifier.is_empty() || secret.is_empty() || identifier.len() > 128 {
        return None;
    }
    let text = std::str::from_utf8(identifier).ok()?;
    let kinds = value_candidates(text, Region::INDIA);
    let login = kinds & (Kind::Email.bit() | Kind::Phone.bit()) != 0
        || (text.len() >= 3
            && text
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte)));
    login.then_some((identifier, secret))
}

/// Whether the first record of a delimited file is a header: its cells are label-shaped, and
/// either a name is a known synonym or a column's first value differs in kind from the rest.
pub fn detect_header(first: &[String], rest: &[Vec<String>]) -> bool {
    let label_shaped = |cell: &str| {
        let cell = cell.trim();
        !cell.is_empty()
            && cell.chars().count() <= 48
            && cell
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '#')
            && cell.chars().all(|c| c.is_alphanumeric() || " _-./#()".contains(c))
    };
    if first.is_empty() || !first.iter().all(|cell| label_shaped(cell)) {
        return false;
    }
    let first_kinds: Vec<u32> = first.iter().map(|cell| value_candidates(cell, Region::INDIA)).collect();
    let strong =
        Kind::Email.bit() | Kind::Phone.bit() | Kind::NationalId.bit() | Kind::Pan.bit() | Kind::DateOfBirth.bit();
    if first_kinds.iter().any(|kinds| kinds & strong != 0) {
        return false;
    }
    if first.iter().any(|cell| kind_from_header(cell).is_some()) {
        return true;
    }
    if rest.is_empty() {
        return false;
    }
    // A column whose values all have a shape (phones, dates, numbers) under a plain label.
    (0..first.len()).any(|column| {
        let typed = rest.iter().filter_map(|row| row.get(column)).all(|cell| {
            let kinds = value_candidates(cell, Region::INDIA);
            kinds != 0 && kinds & !Kind::Name.bit() != 0
        });
        typed && first_kinds[column] & !Kind::Name.bit() == 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(
            sniff(b"name,phone\nRahul,9812345678\nPriya,9876543210\n", "x"),
            Format::Delimited { delimiter: b',' }
        );
        assert_eq!(
            sniff(b"a\tb\tc\n1\t2\t3\n", "x"),
            Format::Delimited { delimiter: b'\t' }
        );
        assert_eq!(sniff(b"a|b|c\n1|2|3\n", "x"), Format::Delimited { delimiter: b'|' });
        assert_eq!(sniff(b"a;b;c\n1;2;3\n", "x"), Format::Delimited { delimiter: b';' });
        assert_eq!(sniff(b"{\"a\":1}\n{\"a\":{\"b\":2}}\n", "x"), Format::JsonLines);
        assert_eq!(sniff(b"-- dump\nINSERT INTO t VALUES (1,'a');\n", "x"), Format::Sql);
        assert_eq!(
            sniff(b"COPY public.users (id, name) FROM stdin;\n1\tA\n\\.\n", "x"),
            Format::Sql
        );
        assert_eq!(
            sniff(b"a@b.in:secret\nc@d.com:pa:ss\nrahul99:hunter2\n", "x"),
            Format::Combo
        );
        assert_eq!(
            sniff(b"Leaked by someone.\nCall 9812345678 for more\n", "x"),
            Format::Text
        );
    }

    #[test]
    fn quoted_delimiters_do_not_mislead() {
        let sample = b"name,address,phone\n\"Sharma, Rahul\",\"1, MG Road\nPune\",9812345678\nPriya,Delhi,9876543210\n";
        assert_eq!(sniff(sample, "x"), Format::Delimited { delimiter: b',' });
    }

    #[test]
    fn header_detection() {
        let rows = |rows: &[&[&str]]| -> Vec<Vec<String>> {
            rows.iter()
                .map(|row| row.iter().map(|cell| cell.to_string()).collect())
                .collect()
        };
        let data = rows(&[&["Rahul", "9812345678"], &["Priya", "9876543210"]]);
        assert!(detect_header(&["name".into(), "mobile".into()], &data));
        assert!(detect_header(&["who".into(), "reach".into()], &data));
        assert!(!detect_header(&data[0], &data[1..]));
        assert!(!detect_header(
            &["Rahul".into(), "Pune".into()],
            &rows(&[&["Priya", "Delhi"]])
        ));
    }
}
