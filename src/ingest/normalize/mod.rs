//! Canonical values for every identifier kind, with a validity flag. Invalid values are kept
//! (trimmed) and flagged, never dropped: an investigator may still want to see them.

mod date;
mod phone;
mod romanize;
mod skeleton;

pub use date::{Date, is_iso_date, latest_year, normalize_date, parse_date, parse_year};
pub use phone::{Region, looks_like_phone, normalize_phone, recognize_phone};
pub use romanize::{has_indic_letters, is_indic_sign, latin_forms, romanized, spoken_variant};
pub use skeleton::name_skeleton;

use crate::ingest::kind::{Kind, Validity};
use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// `raw` with every Unicode decimal digit (Devanagari `९`, full-width `９`, Arabic-Indic `٩`,
/// any script of category Nd) written as its ASCII digit, and full-width ASCII forms (`＋`,
/// U+FF01–FF5E) and the ideographic space as their ASCII selves. Borrowed, after one scan, when
/// `raw` is ASCII.
pub fn fold_digits(raw: &str) -> Cow<'_, str> {
    if raw.is_ascii() {
        return Cow::Borrowed(raw);
    }
    fold_non_ascii(raw)
}

/// [`fold_digits`] of a value with non-ASCII characters: kept out of line, so the ASCII path
/// stays small where it is inlined into every normalization.
#[cold]
#[inline(never)]
fn fold_non_ascii(raw: &str) -> Cow<'_, str> {
    use dec_from_char::DecimalExtended;
    let full_width = |character: char| matches!(character, '\u{ff01}'..='\u{ff5e}' | '\u{3000}');
    // Names and addresses in other scripts are common and hold no digits: they are scanned with
    // std's numeric table and left alone, not run through the digit map.
    if !raw
        .chars()
        .any(|character| !character.is_ascii() && (character.is_numeric() || full_width(character)))
    {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(
        raw.chars()
            .map(|character| match character {
                '\u{ff01}'..='\u{ff5e}' => char::from_u32(character as u32 - 0xfee0).unwrap_or(character),
                '\u{3000}' => ' ',
                _ if character.is_numeric() => character.normalize_decimal().unwrap_or(character),
                _ => character,
            })
            .collect(),
    )
}

/// `raw` without the zero fraction a spreadsheet or pandas gives an integer column
/// (`9812345670.0`, `500001.0`); any other value as it is. A non-zero fraction is kept: such a
/// value is not an identifier.
pub fn strip_zero_fraction(raw: &str) -> &str {
    let trimmed = raw.trim();
    // Most values do not end in 0: they are let go before any search for the point.
    if !trimmed.ends_with('0') {
        return raw;
    }
    let Some(point) = memchr::memchr(b'.', trimmed.as_bytes()) else {
        return raw;
    };
    let (integer, fraction) = (&trimmed[..point], &trimmed[point + 1..]);
    let digits = integer.strip_prefix('+').unwrap_or(integer);
    let plain = !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit());
    if plain && !fraction.is_empty() && fraction.bytes().all(|byte| byte == b'0') {
        integer
    } else {
        raw
    }
}

/// Writes the canonical form of `raw`, read as `kind`, into `out` (cleared first). Digits of
/// any script are read as digits first ([`fold_digits`]), and numeric kinds drop a spreadsheet's
/// zero fraction ([`strip_zero_fraction`]).
pub fn normalize(kind: Kind, raw: &str, region: Region, out: &mut String) -> Validity {
    out.clear();
    // Names, addresses, emails and secrets are kept in their own script.
    let folded = match kind {
        Kind::Name
        | Kind::Address
        | Kind::District
        | Kind::Locality
        | Kind::State
        | Kind::Other
        | Kind::Email
        | Kind::Username
        | Kind::Password
        | Kind::PasswordHash
        | Kind::Gender => Cow::Borrowed(raw),
        _ => fold_digits(raw),
    };
    let raw = match kind {
        Kind::Phone | Kind::NationalId | Kind::Pincode | Kind::BirthYear | Kind::DateOfBirth => {
            strip_zero_fraction(&folded)
        }
        _ => folded.as_ref(),
    };
    match kind {
        Kind::Phone => normalize_phone(raw, region, out),
        Kind::Email => normalize_email(raw, out),
        Kind::NationalId => normalize_national_id(raw, out),
        Kind::Pan => upper_shape(raw, out, is_pan),
        Kind::Passport => upper_shape(raw, out, is_passport),
        Kind::VoterId => upper_shape(raw, out, is_voter_id),
        Kind::DrivingLicence => upper_shape(raw, out, is_driving_licence),
        Kind::Name => normalize_name(raw, out),
        Kind::DateOfBirth => normalize_date(raw, out),
        Kind::BirthYear => normalize_birth_year(raw, out),
        Kind::Pincode => normalize_pincode(raw, out),
        Kind::StreetNumber => {
            folded_words(raw, out);
            if out.bytes().any(|byte| byte.is_ascii_digit()) {
                Validity::Valid
            } else {
                Validity::Invalid
            }
        }
        Kind::Gender => normalize_gender(raw, out),
        Kind::Ip => normalize_ip(raw, out),
        Kind::PasswordHash => normalize_hash(raw, out),
        Kind::Username => {
            out.push_str(&raw.trim().to_lowercase());
            non_empty(out)
        }
        // Secrets are evidence as written: no trimming inside, no case change.
        Kind::Password => {
            out.push_str(raw.trim_matches(['\r', '\n']));
            non_empty(out)
        }
        Kind::Address | Kind::District | Kind::Locality | Kind::State | Kind::Other => {
            folded_words(raw, out);
            non_empty(out)
        }
    }
}

fn non_empty(out: &str) -> Validity {
    if out.is_empty() {
        Validity::Invalid
    } else {
        Validity::Valid
    }
}

/// NFKC, lower case, whitespace collapsed to single spaces.
fn folded_words(raw: &str, out: &mut String) {
    let composed: Cow<'_, str> = nfkc(raw);
    for word in composed.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        push_lowercase(word, out);
    }
}

/// NFKC; ASCII text is its own normal form, so most values skip the tables.
fn nfkc(raw: &str) -> Cow<'_, str> {
    if raw.is_ascii() {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(raw.nfkc().collect())
    }
}

fn push_lowercase(text: &str, out: &mut String) {
    if text.is_ascii() {
        out.extend(text.bytes().map(|byte| char::from(byte.to_ascii_lowercase())));
    } else {
        out.extend(text.chars().flat_map(char::to_lowercase));
    }
}

/// Emails trimmed (also of `<>` and `mailto:`) and lower-cased.
pub fn normalize_email(raw: &str, out: &mut String) -> Validity {
    let trimmed = raw.trim().trim_matches(['<', '>', '"', '\'']);
    let trimmed = trimmed.strip_prefix("mailto:").unwrap_or(trimmed);
    push_lowercase(trimmed, out);
    if is_email(out) {
        Validity::Valid
    } else {
        Validity::Invalid
    }
}

/// A pragmatic shape check: one `@`, a sensible local part, a dotted domain with a letter TLD.
/// Letters of any script and either case pass. Runs on every login of a combo list and every
/// value with an `@`: ASCII is checked by byte, and the domain without collecting its labels.
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local.chars().all(|c| match u8::try_from(c) {
            Ok(byte) if byte.is_ascii() => byte.is_ascii_alphanumeric() || b"._%+-!#$&'*/=?^`{|}~".contains(&byte),
            _ => c.is_alphanumeric(),
        });
    if !local_ok {
        return false;
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric()))
    };
    let mut labels = 0;
    let mut last = "";
    for label in domain.split('.') {
        if !label_ok(label) {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && last.len() >= 2 && last.chars().all(char::is_alphabetic)
}

/// Aadhaar numbers as 12 digits; a masked number (`XXXX XXXX 1234`) as `XXXXXXXX1234`, partial.
pub fn normalize_aadhaar(raw: &str, out: &mut String) -> Validity {
    // Written straight into `out`: no copy per value.
    out.extend(raw.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '\u{a0}')));
    if let Some(last_four) = masked_aadhaar_tail(out) {
        let last_four = last_four.to_string();
        out.clear();
        out.push_str("XXXXXXXX");
        out.push_str(&last_four);
        return Validity::Partial;
    }
    let end = out.trim_end().len();
    out.truncate(end);
    let start = out.len() - out.trim_start().len();
    out.drain(..start);
    if is_aadhaar(out) {
        Validity::Valid
    } else {
        Validity::Invalid
    }
}

/// A national identity number: an Aadhaar number as [`normalize_aadhaar`] reads it (twelve
/// digits, or masked), else another scheme's number (a social security, national insurance or
/// citizen number: 5 to 20 letters and digits, at least four of them digits, written without
/// separators and in upper case). A column is read as national IDs only when its name or the
/// shape of its values says so (see `classify`), so the second reading does not take row numbers
/// for IDs.
pub fn normalize_national_id(raw: &str, out: &mut String) -> Validity {
    let validity = normalize_aadhaar(raw, out);
    if validity != Validity::Invalid
        || out.len() == 12 && out.bytes().all(|byte| byte.is_ascii_digit())
        || !is_other_national_id(out)
    {
        return validity;
    }
    out.make_ascii_uppercase();
    Validity::Valid
}

/// 5 to 20 ASCII letters and digits (after separators are dropped), four or more of them digits.
fn is_other_national_id(compact: &str) -> bool {
    (5..=20).contains(&compact.len())
        && compact.bytes().all(|byte| byte.is_ascii_alphanumeric())
        && compact.bytes().filter(u8::is_ascii_digit).count() >= 4
}

/// The last four digits of a masked Aadhaar written without separators.
pub fn masked_aadhaar_tail(compact: &str) -> Option<&str> {
    if compact.len() != 12 || !compact.is_ascii() {
        return None;
    }
    let (mask, tail) = compact.split_at(8);
    let masked = mask.bytes().all(|b| matches!(b, b'X' | b'x' | b'*' | b'#'));
    (masked && tail.bytes().all(|b| b.is_ascii_digit())).then_some(tail)
}

/// 12 digits, not starting with 0 or 1, with a valid Verhoeff check digit.
pub fn is_aadhaar(digits: &str) -> bool {
    digits.len() == 12
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with(['0', '1'])
        && verhoeff_valid(digits)
}

const VERHOEFF_D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
const VERHOEFF_INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

/// Whether an ASCII digit string ends with its Verhoeff check digit.
pub fn verhoeff_valid(digits: &str) -> bool {
    let check = digits.bytes().rev().enumerate().fold(0u8, |check, (position, digit)| {
        VERHOEFF_D[usize::from(check)][usize::from(VERHOEFF_P[position % 8][usize::from(digit - b'0')])]
    });
    check == 0
}

/// The Verhoeff check digit to append to an ASCII digit string.
pub fn verhoeff_check_digit(digits: &str) -> u8 {
    let check = digits.bytes().rev().enumerate().fold(0u8, |check, (position, digit)| {
        VERHOEFF_D[usize::from(check)][usize::from(VERHOEFF_P[(position + 1) % 8][usize::from(digit - b'0')])]
    });
    VERHOEFF_INV[usize::from(check)]
}

fn upper_shape(raw: &str, out: &mut String, shape: fn(&str) -> bool) -> Validity {
    out.extend(
        raw.chars()
            .filter(|c| !matches!(c, ' ' | '-' | '/' | '.' | '\u{a0}'))
            .flat_map(char::to_uppercase),
    );
    if shape(out) { Validity::Valid } else { Validity::Invalid }
}

fn shape(value: &str, pattern: &[fn(u8) -> bool]) -> bool {
    value.len() == pattern.len() && value.bytes().zip(pattern).all(|(byte, test)| test(byte))
}

fn alpha(byte: u8) -> bool {
    byte.is_ascii_uppercase()
}

fn digit(byte: u8) -> bool {
    byte.is_ascii_digit()
}

/// PAN: `AAAPA1234A`, the fourth letter being the holder type.
pub fn is_pan(value: &str) -> bool {
    fn holder(byte: u8) -> bool {
        b"ABCEFGHJKLPT".contains(&byte)
    }
    shape(
        value,
        &[alpha, alpha, alpha, holder, alpha, digit, digit, digit, digit, alpha],
    )
}

/// Indian passport: one letter, seven digits.
pub fn is_passport(value: &str) -> bool {
    shape(value, &[alpha, digit, digit, digit, digit, digit, digit, digit])
}

/// Voter ID (EPIC): three letters, seven digits.
pub fn is_voter_id(value: &str) -> bool {
    shape(
        value,
        &[alpha, alpha, alpha, digit, digit, digit, digit, digit, digit, digit],
    )
}

/// Codes of Indian states and union territories as they open a driving licence number.
const STATE_CODES: &[&str] = &[
    "AN", "AP", "AR", "AS", "BR", "CG", "CH", "DD", "DL", "DN", "GA", "GJ", "HP", "HR", "JH", "JK", "KA", "KL", "LA",
    "LD", "MH", "ML", "MN", "MP", "MZ", "NL", "OD", "OR", "PB", "PY", "RJ", "SK", "TN", "TR", "TS", "UA", "UK", "UP",
    "WB",
];

/// Driving licence in the national format: state code, two-digit RTO, issue year, seven-digit
/// serial (`MH1220110012345`), sometimes with a series letter after the RTO.
pub fn is_driving_licence(value: &str) -> bool {
    let bytes = value.as_bytes();
    let state = value.get(..2).unwrap_or_default();
    if bytes.len() < 15 || !STATE_CODES.contains(&state) || !bytes[2..4].iter().all(|&b| digit(b)) {
        return false;
    }
    let rest = if bytes[4].is_ascii_uppercase() {
        &bytes[5..]
    } else {
        &bytes[4..]
    };
    rest.len() == 11 && rest.iter().all(|&b| digit(b)) && (rest.starts_with(b"19") || rest.starts_with(b"20"))
}

const HONORIFICS: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mst", "master", "shri", "sri", "shree", "smt", "shrimati", "kumari", "km", "kum", "dr",
    "prof", "sh", "late", "md", "sir", "madam", "capt", "col", "adv",
];

/// Names: NFKC, case-folded, honorifics removed, punctuation dropped, whitespace collapsed.
pub fn normalize_name(raw: &str, out: &mut String) -> Validity {
    let mut cleaned = String::with_capacity(raw.len());
    // Combining marks (Devanagari virama and vowel signs) belong to the letter before them.
    for c in nfkc(raw).chars() {
        if c == '\'' {
            continue;
        }
        if c.is_ascii() {
            cleaned.push(if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                ' '
            });
        } else if c.is_alphanumeric() || is_combining_mark(c) {
            cleaned.extend(c.to_lowercase());
        } else {
            cleaned.push(' ');
        }
    }
    let mut words = cleaned.split_whitespace().peekable();
    while words.peek().is_some_and(|word| HONORIFICS.contains(word)) {
        words.next();
    }
    if words.peek().is_none() {
        // A lone honorific-looking word is a name ("Sri" can be one); keep it.
        words = cleaned.split_whitespace().peekable();
    }
    for word in words {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.chars().any(char::is_alphabetic) {
        Validity::Valid
    } else {
        Validity::Invalid
    }
}

fn normalize_birth_year(raw: &str, out: &mut String) -> Validity {
    if let Some(year) = parse_year(raw) {
        out.push_str(&year.to_string());
        return Validity::Valid;
    }
    // A full date in a birth-year column still gives the year.
    if let Some(date) = parse_date(raw.trim()) {
        out.push_str(&date.year.to_string());
        return Validity::Valid;
    }
    out.push_str(raw.trim());
    Validity::Invalid
}

/// An Indian PIN as six digits (six digits starting with 0 are a broken PIN); another country's
/// postal code (3 to 10 letters and digits, at
/// least one a digit, with one inner space or hyphen at most: `2135`, `SW1A 1AA`,
/// `94103-1234`) in upper case without its separator.
fn normalize_pincode(raw: &str, out: &mut String) -> Validity {
    let trimmed = raw.trim();
    out.extend(trimmed.chars().filter(|c| !c.is_whitespace() && *c != '-'));
    // Six digits are read as an Indian PIN, which never starts with 0.
    if out.len() == 6 && out.bytes().all(|byte| byte.is_ascii_digit()) {
        return if is_pincode(out) {
            Validity::Valid
        } else {
            Validity::Invalid
        };
    }
    let separators = trimmed.chars().filter(|c| c.is_whitespace() || *c == '-').count();
    let postal = separators <= 1
        && (3..=10).contains(&out.len())
        && out.bytes().all(|byte| byte.is_ascii_alphanumeric())
        && out.bytes().any(|byte| byte.is_ascii_digit());
    if postal {
        out.make_ascii_uppercase();
        Validity::Valid
    } else {
        Validity::Invalid
    }
}

/// Six digits, not starting with 0.
pub fn is_pincode(value: &str) -> bool {
    value.len() == 6 && value.bytes().all(|b| b.is_ascii_digit()) && !value.starts_with('0')
}

/// `m`, `f` or `o` from the usual writings.
pub fn gender_code(raw: &str) -> Option<&'static str> {
    const CODES: [(&str, &[&str]); 3] = [
        ("m", &["m", "male", "man", "boy", "purush"]),
        ("f", &["f", "female", "woman", "girl", "mahila"]),
        ("o", &["o", "other", "others", "t", "tg", "transgender", "third gender"]),
    ];
    // Compared without a lower-cased copy: this runs on every value of a gender column.
    let value = raw.trim();
    CODES
        .iter()
        .find(|(_, words)| words.iter().any(|word| word.eq_ignore_ascii_case(value)))
        .map(|(code, _)| *code)
}

fn normalize_gender(raw: &str, out: &mut String) -> Validity {
    match gender_code(raw) {
        Some(code) => {
            out.push_str(code);
            Validity::Valid
        }
        None => {
            out.push_str(raw.trim());
            Validity::Invalid
        }
    }
}

fn normalize_ip(raw: &str, out: &mut String) -> Validity {
    match raw.trim().parse::<std::net::IpAddr>() {
        Ok(ip) => {
            out.push_str(&ip.to_string());
            Validity::Valid
        }
        Err(_) => {
            out.push_str(raw.trim());
            Validity::Invalid
        }
    }
}

/// Whether a value looks like a password hash: hex digests (MD5, SHA-1, SHA-256, SHA-512) or
/// modular crypt strings (bcrypt, sha512-crypt, argon2, …).
pub fn is_password_hash(value: &str) -> bool {
    let value = value.trim();
    let hex = matches!(value.len(), 32 | 40 | 64 | 128) && value.bytes().all(|b| b.is_ascii_hexdigit());
    let crypt = [
        "$2a$", "$2b$", "$2y$", "$1$", "$5$", "$6$", "$argon2", "$pbkdf2", "{SSHA}", "{SHA}",
    ]
    .iter()
    .any(|prefix| value.starts_with(prefix))
        && value.len() >= 20
        && !value.contains(char::is_whitespace);
    hex || crypt
}

fn normalize_hash(raw: &str, out: &mut String) -> Validity {
    let trimmed = raw.trim();
    if trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        out.push_str(&trimmed.to_ascii_lowercase());
    } else {
        out.push_str(trimmed);
    }
    if is_password_hash(trimmed) {
        Validity::Valid
    } else {
        Validity::Invalid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_of_every_script_and_spreadsheet_fractions_are_read_as_numbers() {
        assert_eq!(fold_digits("+९१ ९८१२३ ४५६७८"), "+91 98123 45678");
        assert_eq!(fold_digits("＋９１\u{3000}９７１１２"), "+91 97112");
        assert_eq!(fold_digits("٢٣٤٥ ৬৭৮৯ 0124"), "2345 6789 0124");
        assert!(matches!(fold_digits("9812345678"), Cow::Borrowed(_)));
        assert_eq!(fold_digits("नाम"), "नाम");
        assert_eq!(strip_zero_fraction("9812345670.0"), "9812345670");
        assert_eq!(strip_zero_fraction(" 500001.000 "), "500001");
        assert_eq!(strip_zero_fraction("+919812345670.0"), "+919812345670");
        for kept in ["9812345670.5", "12.03.1985", "1.0.0", ".0", "abc.0", "98123 45670.0"] {
            assert_eq!(strip_zero_fraction(kept), kept);
        }
        let mut out = String::new();
        assert_eq!(
            normalize(Kind::Phone, "९८७६५ ४३२१०", Region::INDIA, &mut out),
            Validity::Valid
        );
        assert_eq!(out, "+919876543210");
        assert_eq!(
            normalize(Kind::Pincode, "500001.0", Region::INDIA, &mut out),
            Validity::Valid
        );
        assert_eq!(out, "500001");
    }

    fn norm(kind: Kind, raw: &str) -> (String, Validity) {
        let mut out = String::new();
        let validity = normalize(kind, raw, Region::INDIA, &mut out);
        (out, validity)
    }

    #[test]
    fn emails() {
        assert_eq!(
            norm(Kind::Email, "  Rahul.Sharma@GMail.COM "),
            ("rahul.sharma@gmail.com".into(), Validity::Valid)
        );
        assert_eq!(norm(Kind::Email, "<mailto:A@b.in>").0, "a@b.in");
        assert_eq!(norm(Kind::Email, "rahul@localhost").1, Validity::Invalid);
        assert_eq!(norm(Kind::Email, "no at sign").1, Validity::Invalid);
    }

    #[test]
    fn verhoeff_known_values() {
        // Wikipedia's worked example: 236 has check digit 3.
        assert_eq!(verhoeff_check_digit("236"), 3);
        assert!(verhoeff_valid("2363"));
        assert!(!verhoeff_valid("2364"));
        // Check digits whose inverse is not its own (the inverse table's upper half).
        assert_eq!(verhoeff_check_digit("20000128486"), 6);
        for base in ["1", "12", "123", "99999", "84736251", "20000104729"] {
            let digit = verhoeff_check_digit(base);
            assert!(verhoeff_valid(&format!("{base}{digit}")), "{base}{digit}");
        }
        let base = "23456789012";
        let full = format!("{base}{}", verhoeff_check_digit(base));
        assert!(is_aadhaar(&full));
        // Any single-digit change is caught.
        for position in 0..12 {
            let mut bytes = full.clone().into_bytes();
            bytes[position] = b'0' + (bytes[position] - b'0' + 1) % 10;
            assert!(!verhoeff_valid(std::str::from_utf8(&bytes).unwrap()), "{position}");
        }
    }

    #[test]
    fn aadhaar_writings() {
        let base = "49876543210";
        let full = format!("{base}{}", verhoeff_check_digit(base));
        let spaced = format!("{} {} {}", &full[..4], &full[4..8], &full[8..]);
        assert_eq!(norm(Kind::NationalId, &spaced), (full.clone(), Validity::Valid));
        assert_eq!(norm(Kind::NationalId, &full.replace(' ', "-")).1, Validity::Valid);
        assert_eq!(norm(Kind::NationalId, "123456789012").1, Validity::Invalid);
        for masked in ["XXXX XXXX 1234", "xxxxxxxx1234", "********1234", "XXXX-XXXX-1234"] {
            assert_eq!(
                norm(Kind::NationalId, masked),
                ("XXXXXXXX1234".into(), Validity::Partial),
                "{masked}"
            );
        }
    }

    #[test]
    fn document_numbers() {
        assert_eq!(norm(Kind::Pan, "abcpd 1234 e"), ("ABCPD1234E".into(), Validity::Valid));
        assert_eq!(
            norm(Kind::Pan, "ABCDE1234F").1,
            Validity::Invalid,
            "D is no holder type"
        );
        assert_eq!(norm(Kind::Passport, "j8369854"), ("J8369854".into(), Validity::Valid));
        assert_eq!(norm(Kind::Passport, "J83698").1, Validity::Invalid);
        assert_eq!(
            norm(Kind::VoterId, "abc1234567"),
            ("ABC1234567".into(), Validity::Valid)
        );
        assert_eq!(
            norm(Kind::DrivingLicence, "MH-12 2011 0012345"),
            ("MH1220110012345".into(), Validity::Valid)
        );
        assert_eq!(norm(Kind::DrivingLicence, "MH12").1, Validity::Invalid);
        assert!(!is_driving_licence("OD100005000"), "an order number");
        assert!(!is_driving_licence("XX1220110012345"), "no such state");
    }

    #[test]
    fn names() {
        assert_eq!(
            norm(Kind::Name, "  Shri  RAHUL   Kumar  Sharma "),
            ("rahul kumar sharma".into(), Validity::Valid)
        );
        assert_eq!(norm(Kind::Name, "Dr. R. K. Sharma").0, "r k sharma");
        assert_eq!(norm(Kind::Name, "Smt. Priya D'Souza").0, "priya dsouza");
        // NFKC folds full-width letters.
        assert_eq!(norm(Kind::Name, "ＲＡＨＵＬ").0, "rahul");
        assert_eq!(norm(Kind::Name, "राहुल  शर्मा").0, "राहुल शर्मा");
        assert_eq!(norm(Kind::Name, "Sri").0, "sri");
        assert_eq!(norm(Kind::Name, "12345").1, Validity::Invalid);
    }

    #[test]
    fn small_kinds() {
        assert_eq!(norm(Kind::Pincode, "411 001"), ("411001".into(), Validity::Valid));
        assert_eq!(norm(Kind::Pincode, "011001").1, Validity::Invalid);
        // Other countries' codes, by the column's name.
        assert_eq!(norm(Kind::Pincode, "2135"), ("2135".into(), Validity::Valid));
        assert_eq!(norm(Kind::Pincode, "sw1a 1aa"), ("SW1A1AA".into(), Validity::Valid));
        assert_eq!(norm(Kind::Pincode, "94103-1234"), ("941031234".into(), Validity::Valid));
        assert_eq!(norm(Kind::Pincode, "unknown").1, Validity::Invalid);
        assert_eq!(norm(Kind::NationalId, "530-42-18"), ("5304218".into(), Validity::Valid));
        assert_eq!(
            norm(Kind::NationalId, "AB 12 34 56 C"),
            ("AB123456C".into(), Validity::Valid)
        );
        assert_eq!(norm(Kind::NationalId, "1234").1, Validity::Invalid);
        assert_eq!(norm(Kind::StreetNumber, " 12A "), ("12a".into(), Validity::Valid));
        assert_eq!(norm(Kind::Gender, "Female"), ("f".into(), Validity::Valid));
        assert_eq!(norm(Kind::BirthYear, "1987"), ("1987".into(), Validity::Valid));
        assert_eq!(norm(Kind::BirthYear, "12/03/1987"), ("1987".into(), Validity::Valid));
        assert_eq!(norm(Kind::Ip, " 10.0.0.1 "), ("10.0.0.1".into(), Validity::Valid));
        assert_eq!(norm(Kind::Ip, "2001:DB8::1").0, "2001:db8::1");
        assert_eq!(
            norm(Kind::PasswordHash, "5F4DCC3B5AA765D61D8327DEB882CF99").0,
            "5f4dcc3b5aa765d61d8327deb882cf99"
        );
        assert!(is_password_hash("$2y$10$abcdefghijklmnopqrstuv"));
        assert_eq!(norm(Kind::Password, "  pa:ss word  ").0, "  pa:ss word  ");
        assert_eq!(
            norm(Kind::Address, "Flat 3,  MG   Road\nPune").0,
            "flat 3, mg road pune"
        );
    }
}
