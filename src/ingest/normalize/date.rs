//! Dates of birth in any common writing to ISO 8601 (`YYYY-MM-DD`).
//!
//! Hand-written because the ordering rule is ours: Indian records write day before month, so an
//! ambiguous `05/06/1990` is 5 June; a first number above 12 can only be a day and a second above
//! 12 can only be a day written US-style. General date crates assume one fixed pattern per call.

use crate::ingest::kind::Validity;

/// The latest plausible birth year: this year (read from the clock once per process).
pub fn latest_year() -> u32 {
    static YEAR: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *YEAR.get_or_init(|| u32::try_from(time::OffsetDateTime::now_utc().year()).unwrap_or(u32::MAX))
}
const EARLIEST_YEAR: u32 = 1900;

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

/// Normalizes a date of birth into `out`. A bare year is written as `YYYY` and flagged partial.
pub fn normalize_date(raw: &str, out: &mut String) -> Validity {
    out.clear();
    let trimmed = raw.trim();
    if let Some(date) = parse_date(trimmed) {
        use std::fmt::Write;
        let _ = write!(out, "{:04}-{:02}-{:02}", date.year, date.month, date.day);
        return Validity::Valid;
    }
    if let Some(year) = parse_year(trimmed) {
        use std::fmt::Write;
        let _ = write!(out, "{year:04}");
        return Validity::Partial;
    }
    if let Some(date) = excel_serial(trimmed) {
        use std::fmt::Write;
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        );
        return Validity::Valid;
    }
    out.push_str(trimmed);
    Validity::Invalid
}

/// A date of birth saved by a spreadsheet as its serial day number (Excel's and LibreOffice's
/// 1900 date system: day 1 is 1900-01-01, counted from 1899-12-30 because Excel keeps Lotus
/// 1-2-3's leap day 1900-02-29). Five digits only, from 10000 (1927-05-18) to today's serial:
/// in a date-of-birth column nothing else is written that way.
fn excel_serial(text: &str) -> Option<time::Date> {
    if text.len() != 5 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let days: i64 = text.parse().ok()?;
    let epoch = time::Date::from_calendar_date(1899, time::Month::December, 30).ok()?;
    // No one is born in the future: today's serial is the last one read as a date.
    let today = (time::OffsetDateTime::now_utc().date() - epoch).whole_days();
    if !(10_000..=today).contains(&days) {
        return None;
    }
    epoch.checked_add(time::Duration::days(days))
}

/// Whether `text` is a real date written exactly `YYYY-MM-DD` (acquisition dates and the like).
pub fn is_iso_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10 && bytes[4] == b'-' && bytes[7] == b'-' && parse_date(text).is_some()
}

/// A plausible birth year written alone.
pub fn parse_year(raw: &str) -> Option<u32> {
    let trimmed = raw.trim();
    if trimmed.len() != 4 || !trimmed.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let year: u32 = trimmed.parse().ok()?;
    (EARLIEST_YEAR..=latest_year()).contains(&year).then_some(year)
}

#[derive(Clone, Copy, Debug)]
enum Token<'a> {
    Number(&'a str),
    Month(u32),
}

/// Parses the date part of `raw`; a trailing time (`T10:00:00Z`, ` 00:00:00`) is ignored.
pub fn parse_date(raw: &str) -> Option<Date> {
    let mut tokens: Vec<Token<'_>> = Vec::with_capacity(4);
    for piece in raw.split(['-', '/', '.', ' ', ',', '\\', '_']) {
        if piece.is_empty() {
            continue;
        }
        if tokens.len() == 3 {
            // Anything after three date parts must be a time.
            if piece.bytes().all(|b| b.is_ascii_digit() || b == b':') || is_time_suffix(piece) {
                continue;
            }
            return None;
        }
        // ISO datetime: "1990-01-12T10:00:00Z" splits into "12T10:00:00Z".
        let piece = match piece.find(['T', 't']) {
            Some(at) if tokens.len() == 2 && at > 0 && piece[..at].bytes().all(|b| b.is_ascii_digit()) => &piece[..at],
            _ => piece,
        };
        if piece.bytes().all(|byte| byte.is_ascii_digit()) {
            tokens.push(Token::Number(piece));
        } else if let Some(month) = month_number(piece) {
            tokens.push(Token::Month(month));
        } else if is_ordinal_day(piece) {
            tokens.push(Token::Number(piece.trim_end_matches(|c: char| c.is_ascii_alphabetic())));
        } else {
            return None;
        }
    }
    let date = match tokens.as_slice() {
        [Token::Number(compact)] if compact.len() == 8 => compact_date(compact)?,
        [Token::Number(a), Token::Number(b), Token::Number(c)] => numeric_date(a, b, c)?,
        [Token::Number(year), Token::Month(month), Token::Number(day)] if year.len() == 4 => Date {
            year: full_year(year)?,
            month: *month,
            day: day.parse().ok()?,
        },
        [Token::Number(day), Token::Month(month), Token::Number(year)]
        | [Token::Month(month), Token::Number(day), Token::Number(year)] => Date {
            year: full_year(year)?,
            month: *month,
            day: day.parse().ok()?,
        },
        _ => return None,
    };
    is_real(date).then_some(date)
}

fn is_time_suffix(piece: &str) -> bool {
    matches!(
        piece.to_ascii_lowercase().as_str(),
        "am" | "pm" | "utc" | "ist" | "z" | "gmt"
    )
}

fn is_ordinal_day(piece: &str) -> bool {
    let digits = piece.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &piece[digits.len()..];
    !digits.is_empty()
        && digits.len() <= 2
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(suffix.to_ascii_lowercase().as_str(), "st" | "nd" | "rd" | "th")
}

fn month_number(piece: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if piece.len() < 3 || !piece.is_ascii() {
        return None;
    }
    let lower = piece.to_ascii_lowercase();
    let month = MONTHS.iter().position(|name| lower.starts_with(name))?;
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    (lower.len() == 3 || lower == "sept" || FULL[month] == lower).then_some(month as u32 + 1)
}

fn compact_date(digits: &str) -> Option<Date> {
    let number = |range: std::ops::Range<usize>| digits[range].parse::<u32>().ok();
    let year_first = Date {
        year: number(0..4)?,
        month: number(4..6)?,
        day: number(6..8)?,
    };
    if (EARLIEST_YEAR..=latest_year()).contains(&year_first.year) && is_real(year_first) {
        return Some(year_first);
    }
    Some(Date {
        day: number(0..2)?,
        month: number(2..4)?,
        year: number(4..8)?,
    })
}

fn numeric_date(a: &str, b: &str, c: &str) -> Option<Date> {
    if a.len() == 4 {
        return Some(Date {
            year: full_year(a)?,
            month: b.parse().ok()?,
            day: c.parse().ok()?,
        });
    }
    if a.len() > 2 || b.len() > 2 {
        return None;
    }
    let first: u32 = a.parse().ok()?;
    let second: u32 = b.parse().ok()?;
    let year = full_year(c)?;
    // Day first unless only month-first makes a date.
    let (day, month) = if second > 12 && first <= 12 {
        (second, first)
    } else {
        (first, second)
    };
    Some(Date { year, month, day })
}

fn full_year(digits: &str) -> Option<u32> {
    let value: u32 = digits.parse().ok()?;
    match digits.len() {
        4 => Some(value),
        // Two-digit years: a birth year cannot be in the future.
        2 if value <= latest_year() % 100 => Some(2000 + value),
        2 => Some(1900 + value),
        _ => None,
    }
}

fn is_real(date: Date) -> bool {
    if !(EARLIEST_YEAR..=latest_year()).contains(&date.year) || !(1..=12).contains(&date.month) {
        return false;
    }
    let leap = date.year.is_multiple_of(4) && (!date.year.is_multiple_of(100) || date.year.is_multiple_of(400));
    let days = match date.month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (1..=days).contains(&date.day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(raw: &str) -> (String, Validity) {
        let mut out = String::new();
        let validity = normalize_date(raw, &mut out);
        (out, validity)
    }

    #[test]
    fn common_writings() {
        for raw in [
            "1990-03-12",
            "12/03/1990",
            "12-03-1990",
            "12.03.1990",
            "1990/03/12",
            "12 Mar 1990",
            "12-Mar-1990",
            "12-MAR-90",
            "March 12, 1990",
            "12th March 1990",
            "19900312",
            "12031990",
            "1990-03-12T00:00:00Z",
            "1990-03-12 00:00:00",
            "12/03/1990 10:30 AM",
            "03/25/1990",
        ] {
            let expected = if raw == "03/25/1990" {
                "1990-03-25"
            } else {
                "1990-03-12"
            };
            assert_eq!(iso(raw), (expected.to_string(), Validity::Valid), "{raw}");
        }
    }

    #[test]
    fn day_first_when_ambiguous() {
        assert_eq!(iso("05/06/1990").0, "1990-06-05");
    }

    #[test]
    fn two_digit_years() {
        assert_eq!(iso("01-01-05").0, "2005-01-01");
        assert_eq!(iso("01-01-75").0, "1975-01-01");
    }

    #[test]
    fn impossible_dates_are_flagged() {
        assert_eq!(iso("31/02/1990"), ("31/02/1990".to_string(), Validity::Invalid));
        assert_eq!(iso("1990-13-01").1, Validity::Invalid);
        assert_eq!(iso("12/03/2090").1, Validity::Invalid);
        assert_eq!(iso("next tuesday").1, Validity::Invalid);
        assert_eq!(iso("29/02/2000").1, Validity::Valid);
        assert_eq!(iso("29/02/1900").1, Validity::Invalid);
    }

    #[test]
    fn bare_year_is_partial() {
        assert_eq!(iso("1987"), ("1987".to_string(), Validity::Partial));
        assert_eq!(parse_year("1850"), None);
    }

    #[test]
    fn spreadsheet_serial_days_are_dates_of_birth() {
        let mut out = String::new();
        assert_eq!(normalize_date("32944", &mut out), Validity::Valid);
        assert_eq!(out, "1990-03-12");
        assert_eq!(normalize_date("31232", &mut out), Validity::Valid);
        assert_eq!(out, "1985-07-04");
        // Day 1 is 1900-01-01 in Excel's system; short and long numbers are not serials.
        assert_eq!(
            excel_serial("36526").map(|date| date.to_string()),
            Some("2000-01-01".into())
        );
        assert_eq!(normalize_date("9999", &mut out), Validity::Invalid);
        assert_eq!(normalize_date("123456", &mut out), Validity::Invalid);
    }
}
