//! Format detection from a file's first bytes (its name is only a tie-breaker).

use crate::ingest::classify::{kind_from_header, value_candidates};
use crate::ingest::kind::Kind;
use crate::ingest::normalize::Region;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;
use unicode_normalization::char::is_combining_mark;

/// How a file's records are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// CSV and its relatives: comma, tab, pipe or semicolon separated, RFC 4180 quoting.
    Delimited {
        delimiter: u8,
    },
    JsonLines,
    /// A JSON document: an array of objects, objects one after another over many lines, or an
    /// object wrapping an array of records (`{"data": [...]}`).
    Json,
    /// MySQL `INSERT` dumps and PostgreSQL `COPY ... FROM stdin` dumps.
    Sql,
    /// `identifier:secret` lines (also `;` and `|`).
    Combo,
    /// Anything else: identifiers are extracted by pattern, one record per non-blank line.
    Text,
}

impl Format {
    /// Short name: `csv`, `tsv`, `psv`, `ssv`, `jsonl`, `json`, `sql`, `combo`, `text`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Delimited { delimiter: b'\t' } => "tsv",
            Format::Delimited { delimiter: b'|' } => "psv",
            Format::Delimited { delimiter: b';' } => "ssv",
            Format::Delimited { .. } => "csv",
            Format::JsonLines => "jsonl",
            Format::Json => "json",
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
            "jsonl" | "ndjson" => Format::JsonLines,
            "json" => Format::Json,
            "sql" => Format::Sql,
            "combo" => Format::Combo,
            "text" | "txt" => Format::Text,
            _ => {
                return Err(format!(
                    "unknown format {s:?} (expected csv, tsv, psv, ssv, jsonl, json, sql, combo or text)"
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
        // A whole file of one line that wraps its records (`{"data": [{…}, {…}]}`) is a
        // document, not one record that merges everyone.
        let whole_line = lines.len() == 1 && sample.len() < SAMPLE_BYTES;
        if whole_line && !crate::ingest::parse::top_level_records(sample, true) {
            return Format::Json;
        }
        return Format::JsonLines;
    }
    if crate::ingest::parse::looks_like_json_document(sample) {
        return Format::Json;
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
    if identifier.is_empty() || secret.is_empty() {
        return None;
    }
    plausible_login(identifier, false).then_some((identifier, secret))
}

/// Whether `login` reads as a login: an email or a phone, or (unless `strong`) a plain user
/// name of three or more letters, digits, dots, dashes and underscores that is not a bare
/// port or short number.
fn plausible_login(login: &[u8], strong: bool) -> bool {
    if login.is_empty() || login.len() > 128 {
        return false;
    }
    let Ok(text) = std::str::from_utf8(login) else {
        return false;
    };
    let kinds = value_candidates(text, Region::INDIA);
    if kinds & (Kind::Email.bit() | Kind::Phone.bit()) != 0 {
        return true;
    }
    let digits_only = login.iter().all(u8::is_ascii_digit);
    !strong
        && text.len() >= 3
        // A port or a time (`8443`, `1200`) is no login; a numeric account number is.
        && !(digits_only && text.len() <= 5)
        && login
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(byte))
}

/// Splits a stealer-log line `URL:login:secret` into its parts: `https://host:8443/path:login:pass`,
/// `android://key@package/:login:pass`, or a bare host `accounts.example.org:login:pass` (then
/// the login must be an email or a phone). The login is the first part after the URL that reads
/// as one (a port or a path does not); the secret is the rest, colons and all.
pub(crate) fn ulp_split(line: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    // A scheme ends at the first colon, followed by `//` (one search, not a substring search
    // per line: this runs on every line of a combo list).
    let first_colon = memchr::memchr(b':', line)?;
    let scheme_end = Some(first_colon).filter(|&end| {
        end > 0
            && line[end + 1..].starts_with(b"//")
            && line[..end]
                .iter()
                .all(|byte| byte.is_ascii_alphanumeric() || b"+.-".contains(byte))
    });
    let mut from = scheme_end.map_or(0, |end| end + 3);
    while let Some(relative) = memchr::memchr(b':', &line[from..]) {
        let at = from + relative;
        let url = &line[..at];
        let rest = &line[at + 1..];
        let login_end = memchr::memchr(b':', rest)?;
        let (login, secret) = (&rest[..login_end], &rest[login_end + 1..]);
        let host_alone = scheme_end.is_none() && is_host(url);
        if (scheme_end.is_some() || host_alone) && !secret.is_empty() && plausible_login(login, host_alone) {
            return Some((url, login, secret));
        }
        // Without a scheme only the first colon can end the host.
        scheme_end?;
        from = at + 1;
    }
    None
}

/// A host name: labels of letters, digits and dashes joined by dots, the last one letters.
fn is_host(text: &[u8]) -> bool {
    let mut labels = text.split(|byte| *byte == b'.');
    let last = labels.next_back().unwrap_or_default();
    text.contains(&b'.')
        && last.len() >= 2
        && last.iter().all(u8::is_ascii_alphabetic)
        && labels
            .all(|label| !label.is_empty() && label.iter().all(|byte| byte.is_ascii_alphanumeric() || *byte == b'-'))
}

/// Lines at the top of a file that come before its content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Preamble {
    /// Bytes of those lines, with their line ends.
    pub bytes: usize,
    pub lines: u64,
    /// The delimiter Excel's `sep=X` hint names, if the file has one.
    pub delimiter: Option<u8>,
}

/// A line without its line end and surrounding blanks.
fn trimmed(line: &[u8]) -> &[u8] {
    line.trim_ascii()
}

/// Blank lines and Excel's `sep=X` hint at the top of `sample`.
pub fn preamble(sample: &[u8]) -> Preamble {
    let mut found = Preamble::default();
    while let Some(end) = memchr::memchr(b'\n', &sample[found.bytes..]) {
        let raw = &sample[found.bytes..found.bytes + end];
        // The hint's delimiter may be a tab or a space: only the line end is taken off it.
        let hint = raw.strip_suffix(b"\r").unwrap_or(raw);
        match (trimmed(raw), hint) {
            ([], _) => {}
            (_, [s, e, p, b'=', delimiter])
                if found.delimiter.is_none() && [*s, *e, *p].eq_ignore_ascii_case(b"sep") =>
            {
                found.delimiter = Some(*delimiter);
            }
            _ => break,
        }
        found.bytes += end + 1;
        found.lines += 1;
    }
    found
}

impl Preamble {
    /// This preamble and the title lines after it, for a table delimited by `delimiter`: up to
    /// five lines without the delimiter (`Customer export`) or blank, each followed by a line
    /// that has it.
    pub fn with_titles(self, sample: &[u8], delimiter: u8) -> Preamble {
        let mut found = self;
        for _ in 0..5 {
            let rest = &sample[found.bytes..];
            let Some(end) = memchr::memchr(b'\n', rest) else {
                break;
            };
            let line = trimmed(&rest[..end]);
            let next = rest[end + 1..]
                .split(|byte| *byte == b'\n')
                .map(trimmed)
                .find(|line| !line.is_empty());
            // A line with a quote may be the start of a quoted cell that spans lines.
            let title = memchr::memchr(delimiter, line).is_none()
                && memchr::memchr(b'"', line).is_none()
                && next.is_some_and(|next| memchr::memchr(delimiter, next).is_some());
            if !line.is_empty() && !title {
                break;
            }
            found.bytes += end + 1;
            found.lines += 1;
        }
        found
    }
}

/// Whether the first record of a delimited file is a header, decided from the columns as CSV
/// sniffers do (Python's `csv.Sniffer.has_header`, DuckDB's sniffer): its cells read as labels
/// (letters of any script, with the punctuation labels carry: `Name, as on card`, `Father's
/// Name`, `E-mail:`, `नाम`) and none is itself an identifier, and either a label is a known
/// synonym or a column's values have a type (phones, dates, numbers…) its first cell lacks.
pub fn detect_header(first: &[String], rest: &[Vec<String>]) -> bool {
    let label_shaped = |cell: &str| {
        let cell = cell.trim();
        let mut digits_in_a_row = 0;
        let mut letters = 0;
        for character in cell.chars() {
            digits_in_a_row = if character.is_ascii_digit() {
                digits_in_a_row + 1
            } else {
                0
            };
            letters += usize::from(character.is_alphabetic());
            let allowed = character.is_alphanumeric()
                || is_combining_mark(character)
                || character.is_whitespace()
                || "_-./#(),:;'&?*%+\u{2019}".contains(character);
            if !allowed || digits_in_a_row >= 4 {
                return false;
            }
        }
        letters > 0 && cell.chars().count() <= 64
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
    // A synonym counts in a label without digits: `House 12, Station Area` is an address.
    if first
        .iter()
        .any(|cell| !cell.bytes().any(|byte| byte.is_ascii_digit()) && kind_from_header(cell).is_some())
    {
        return true;
    }
    if rest.is_empty() {
        return false;
    }
    if code_names(first, rest) {
        return true;
    }
    // Digits, signs and separators only (not `NaN` or `inf`, which a float parser takes).
    let is_number = |cell: &str| {
        let cell = cell.trim();
        cell.bytes().any(|byte| byte.is_ascii_digit())
            && cell
                .bytes()
                .all(|byte| byte.is_ascii_digit() || b"+-.,".contains(&byte))
    };
    // A column whose values all have a type (a kind other than a name, or a number) under a
    // first cell that has none.
    (0..first.len()).any(|column| {
        let values: Vec<&String> = rest
            .iter()
            .filter_map(|row| row.get(column))
            .filter(|cell| !cell.trim().is_empty())
            .collect();
        let typed = !values.is_empty()
            && values.iter().all(|cell| {
                let kinds = value_candidates(cell, Region::INDIA);
                (kinds != 0 && kinds & !Kind::Name.bit() != 0) || is_number(cell)
            });
        typed && first_kinds[column] & !Kind::Name.bit() == 0 && !is_number(&first[column])
    })
}

/// Column names as programs write them over values that are not (`customer,document,order_ref`
/// above `Asha Rao,AADHAAR: 7672…,ORD-0001`), where no column has a type to tell a header by:
/// every first cell a code identifier, one at least compound (`order_ref`, `customerId`), none
/// repeated in its column below, and some value below that is no identifier.
fn code_names(first: &[String], rest: &[Vec<String>]) -> bool {
    let identifier = |cell: &str| {
        cell.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && cell.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let compound = |cell: &str| {
        cell.contains('_')
            || (cell.chars().skip(1).any(|c| c.is_ascii_uppercase()) && cell.chars().any(|c| c.is_ascii_lowercase()))
    };
    if !first.iter().all(|cell| identifier(cell.trim())) || !first.iter().any(|cell| compound(cell.trim())) {
        return false;
    }
    let repeated = rest
        .iter()
        .any(|row| row.iter().zip(first).any(|(value, name)| value.trim() == name.trim()));
    let other_below = rest
        .iter()
        .flatten()
        .any(|value| !value.trim().is_empty() && !identifier(value.trim()));
    !repeated && other_below
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_as_programs_write_them_are_a_header() {
        let rows = |text: &str| -> Vec<Vec<String>> {
            text.lines()
                .map(|line| line.split(',').map(str::to_string).collect())
                .collect()
        };
        let table = rows("customer,document,order_ref\nAsha Rao,AADHAAR 7672,ORD-0001\nRavi K,none,ORD-0002");
        assert!(detect_header(&table[0], &table[1..]));
        let camel = rows("fullName,city\nAsha Rao,Pune\nRavi K,Delhi");
        assert!(detect_header(&camel[0], &camel[1..]));
        // Data that is itself code-like, or a first row repeated below, is no header.
        let codes = rows("user_1,abc\nuser_2,abd\nuser_3,abe");
        assert!(!detect_header(&codes[0], &codes[1..]));
        let repeated = rows("ravi_k,Pune\nravi_k,Delhi\nAsha Rao,Goa");
        assert!(!detect_header(&repeated[0], &repeated[1..]));
    }

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
    fn headers_with_punctuation_other_scripts_or_over_numbers_are_headers() {
        let rows = |text: &str| -> Vec<Vec<String>> {
            csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(text.as_bytes())
                .records()
                .map(|record| record.unwrap().iter().map(str::to_string).collect())
                .collect()
        };
        let data = "\"Sharma, Rohit\",9812345670,rohit.s@example.in\n\"Verma, Anil\",9812345671,anil.v@example.in\n";
        for header in [
            "\"Name, as on card\",Mobile,Email",
            "\"Customer, Name\",Mobile,Email",
            "Name,Father's Name,Mobile",
            "Name:,Mobile No.:,E-mail:",
            "Name,Mobile,Name & Address",
            "नाम,जन्म तिथि,मोबाइल",
            "a,b,c",
        ] {
            let table = rows(&format!("{header}\n{data}"));
            assert!(detect_header(&table[0], &table[1..]), "{header}");
        }
        let numbers = rows("a,b,c\n1,2.5,3\n4,5,6\n");
        assert!(detect_header(&numbers[0], &numbers[1..]));
        // A first row of data with a synonym inside an address, or over a column of `nan`.
        let address = rows("Rohit D'Souza,\"House 12, Station Area\",Pune\nAnil Verma,\"Flat 3, MG Road\",Nashik\n");
        assert!(!detect_header(&address[0], &address[1..]));
        let missing = rows("Rohit Sharma,Pune\nAnil Verma,nan\nKavya Reddy,NaN\n");
        assert!(!detect_header(&missing[0], &missing[1..]));
        // Rows of data are not headers, whatever their script.
        let names = rows("Rohit Sharma,Pune\nAnil Verma,Nashik\n");
        assert!(!detect_header(&names[0], &names[1..]));
        let table = rows(data);
        assert!(!detect_header(&table[0], &table[1..]));
        let devanagari = rows("रोहित शर्मा,पुणे\nअनिल वर्मा,नासिक\n");
        assert!(!detect_header(&devanagari[0], &devanagari[1..]));
    }

    #[test]
    fn lines_before_a_table_are_passed_over() {
        let hinted = b"sep=;\r\nName;Mobile\r\nRohit;9812345670\r\n";
        let found = preamble(hinted);
        assert_eq!((found.bytes, found.lines, found.delimiter), (7, 1, Some(b';')));
        assert_eq!(found.with_titles(hinted, b';'), found);
        let titled = b"\n\nCustomer export\n\nname,mobile\nRohit,9812345670\n";
        let found = preamble(titled).with_titles(titled, b',');
        assert_eq!((found.bytes, found.lines, found.delimiter), (19, 4, None));
        assert!(titled[found.bytes..].starts_with(b"name,mobile"));
        // A quoted header cell spanning lines is no title; a tab hint is a hint.
        let wrapped = b"\"Customer\nName\",Mobile\nRohit,9812345670\n";
        assert_eq!(preamble(wrapped).with_titles(wrapped, b','), Preamble::default());
        let tab = b"sep=\t\nname\tmobile\nRohit\t9812345670\n";
        assert_eq!(preamble(tab).delimiter, Some(b'\t'));
        // A table from its first line loses nothing.
        let plain = b"name,mobile\nRohit,9812345670\n";
        assert_eq!(preamble(plain).with_titles(plain, b','), Preamble::default());
    }

    #[test]
    fn stealer_log_lines_split_after_their_url() {
        let split = |line: &str| {
            ulp_split(line.as_bytes())
                .map(|(url, login, secret)| [url, login, secret].map(|part| String::from_utf8_lossy(part).into_owned()))
        };
        assert_eq!(
            split("https://accounts.example.com/login:rohit.s@example.in:Passw0rd!"),
            Some([
                "https://accounts.example.com/login".into(),
                "rohit.s@example.in".into(),
                "Passw0rd!".into()
            ])
        );
        assert_eq!(
            split("https://bank.example.co.in:8443/auth:9812345670:Secret#12"),
            Some([
                "https://bank.example.co.in:8443/auth".into(),
                "9812345670".into(),
                "Secret#12".into()
            ])
        );
        assert_eq!(
            split("android://AbC@com.example.app/:kavya_r:pa:ss"),
            Some([
                "android://AbC@com.example.app/".into(),
                "kavya_r".into(),
                "pa:ss".into()
            ])
        );
        assert_eq!(
            split("accounts.example.org:user77@example.in:hunter2"),
            Some([
                "accounts.example.org".into(),
                "user77@example.in".into(),
                "hunter2".into()
            ])
        );
        // Plain combos are not URLs.
        for combo in [
            "a@b.in:secret",
            "rahul99:hunter2",
            "c@d.com:pa:ss",
            "rahul.sharma:pass:word",
        ] {
            assert_eq!(split(combo), None, "{combo}");
        }
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
