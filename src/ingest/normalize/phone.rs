//! Phone numbers to E.164.
//!
//! Validity comes from libphonenumber's metadata (the `phonenumber` crate). Parsing through that
//! crate costs about 27 µs a number, and its regex cache sits behind one mutex that two threads
//! fight over, which is minutes for a few million phones. The common Indian writings (bare 10
//! digits; `+91`, `91`, `0`, `0091` prefixes; spaces, dashes, dots, brackets) therefore take a fast
//! path: the formatting is stripped here and the national number is checked against the crate's
//! own Indian patterns, compiled once into lock-free DFAs with the same semantics as its
//! `number_type` (general pattern, then any type's pattern, each with its possible lengths). Tests
//! hold the fast path against the library on random numbers.

use crate::ingest::kind::Validity;
use phonenumber::country::Id as Country;
use regex_automata::dfa::{Automaton, StartKind, dense, dense::DFA};
use regex_automata::{Anchored, Input};
use std::str::FromStr;
use std::sync::LazyLock;

/// A default region for numbers written without a country code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region(Country);

impl Region {
    pub const INDIA: Region = Region(Country::IN);

    fn is_india(self) -> bool {
        self.0 == Country::IN
    }
}

impl Default for Region {
    fn default() -> Self {
        Region::INDIA
    }
}

impl FromStr for Region {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Country::from_str(&s.to_ascii_uppercase())
            .map(Region)
            .map_err(|_| format!("unknown region {s:?} (expected an ISO 3166 code such as IN)"))
    }
}

/// Normalizes `raw` to E.164 into `out` (cleared first). Invalid numbers are written as their
/// digits (with a leading `+` if they had one) and flagged.
pub fn normalize_phone(raw: &str, region: Region, out: &mut String) -> Validity {
    out.clear();
    if region.is_india()
        && let Some(validity) = indian_fast_path(raw, out)
    {
        return validity;
    }
    out.clear();
    library_path(raw, region, out)
}

/// Quick shape test used by classification: could this be a phone number in `region`?
pub fn looks_like_phone(raw: &str, region: Region) -> bool {
    let mut scratch = String::new();
    recognize_phone(raw, region, &mut scratch) == Some(Validity::Valid)
}

/// Like [`normalize_phone`] (writing into `out`, cleared first), but never asks the slow library
/// about numbers that do not look like phones in `region` (in India: bare digit runs the fast
/// path does not know, which are IDs and order numbers). `None` when it is not a phone.
pub fn recognize_phone(raw: &str, region: Region, out: &mut String) -> Option<Validity> {
    out.clear();
    if region.is_india()
        && let Some(validity) = indian_fast_path(raw, out)
    {
        return Some(validity);
    }
    let digits = raw.bytes().filter(u8::is_ascii_digit).count();
    if !(7..=15).contains(&digits) || !only_phone_chars(raw) {
        return None;
    }
    // Indian numbers the fast path does not know are landlines, written with a leading 0 or a
    // country code; long bare digit runs are IDs and order numbers.
    if region.is_india() && !raw.trim_start().starts_with(['+', '0', '(']) {
        return None;
    }
    out.clear();
    Some(library_path(raw, region, out))
}

fn only_phone_chars(raw: &str) -> bool {
    raw.trim()
        .bytes()
        .all(|byte| byte.is_ascii_digit() || matches!(byte, b'+' | b' ' | b'-' | b'.' | b'(' | b')' | b'/'))
}

/// Strips formatting and recognizes the Indian writings of a mobile number. `None` when the
/// writing is not one it knows (landlines, foreign numbers, letters, extensions).
fn indian_fast_path(raw: &str, out: &mut String) -> Option<Validity> {
    let mut digits = [0u8; 16];
    let mut count = 0;
    let mut plus = false;
    for byte in raw.trim().bytes() {
        match byte {
            b'0'..=b'9' => {
                if count == digits.len() {
                    return None;
                }
                digits[count] = byte;
                count += 1;
            }
            b'+' if count == 0 && !plus => plus = true,
            b' ' | b'-' | b'.' | b'(' | b')' | b'\t' => {}
            _ => return None,
        }
    }
    let digits = &digits[..count];
    let national = if plus {
        match digits {
            [b'9', b'1', rest @ ..] if rest.len() == 10 => rest,
            _ => return None,
        }
    } else {
        match digits.len() {
            10 => digits,
            11 if digits[0] == b'0' => &digits[1..],
            12 if digits.starts_with(b"91") => &digits[2..],
            13 if digits.starts_with(b"091") => &digits[3..],
            14 if digits.starts_with(b"0091") => &digits[4..],
            _ => return None,
        }
    };
    if !(b'6'..=b'9').contains(&national[0]) {
        return None;
    }
    // Digits are ASCII, so this cannot fail.
    let national = std::str::from_utf8(national).unwrap_or_default();
    let valid = match INDIA.as_ref() {
        Some(plan) => plan.is_valid(national),
        None => library_valid(national.as_bytes()),
    };
    // One allocation, not one per push.
    out.reserve(3 + national.len());
    out.push_str("+91");
    out.push_str(national);
    Some(if valid { Validity::Valid } else { Validity::Invalid })
}

/// India's numbering plan from the crate's metadata, compiled to fully built DFAs.
///
/// A DFA answers a 10-digit number in ten table steps with no search cache, so threads share it
/// without the pool or lock a `Regex` needs, and without the lazy DFA's cache management: the
/// `regex` crate's matching was 11% of a lookup batch's CPU. Built once, ASCII-only (the input is
/// digits): about 50 ms and 23 KB for India.
struct NumberingPlan {
    general: DFA<Vec<u32>>,
    /// Every number type whose possible lengths include 10 digits, as one alternation.
    ten_digit_types: DFA<Vec<u32>>,
}

impl NumberingPlan {
    fn for_region(id: &str) -> Option<NumberingPlan> {
        let metadata = phonenumber::metadata::DATABASE.by_id(id)?;
        let descriptors = metadata.descriptors();
        // The metadata's patterns are laid out with whitespace, which the crate ignores; it
        // accepts a match starting at the first digit (`find` at 0): an anchored search.
        let compact = |pattern: &str| pattern.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let compile = |pattern: &str| {
            dense::Builder::new()
                .configure(dense::DFA::config().start_kind(StartKind::Anchored))
                .syntax(regex_automata::util::syntax::Config::new().unicode(false).utf8(false))
                .build(&format!("(?:{})", compact(pattern)))
                .ok()
        };
        let general = descriptors.general();
        if !general.possible_length().is_empty() && !general.possible_length().contains(&10) {
            return None;
        }
        let types = [
            descriptors.premium_rate(),
            descriptors.toll_free(),
            descriptors.shared_cost(),
            descriptors.voip(),
            descriptors.personal_number(),
            descriptors.pager(),
            descriptors.uan(),
            descriptors.voicemail(),
            descriptors.fixed_line(),
            descriptors.mobile(),
        ];
        let alternatives: Vec<String> = types
            .into_iter()
            .flatten()
            .filter(|descriptor| descriptor.possible_length().is_empty() || descriptor.possible_length().contains(&10))
            .map(|descriptor| format!("(?:{})", descriptor.national_number().as_str()))
            .collect();
        Some(NumberingPlan {
            general: compile(general.national_number().as_str())?,
            ten_digit_types: compile(&alternatives.join("|"))?,
        })
    }

    /// Validity of a 10-digit national number.
    fn is_valid(&self, national: &str) -> bool {
        debug_assert_eq!(national.len(), 10);
        let matches = |dfa: &DFA<Vec<u32>>| {
            let input = Input::new(national).anchored(Anchored::Yes).earliest(true);
            matches!(dfa.try_search_fwd(&input), Ok(Some(_)))
        };
        matches(&self.general) && matches(&self.ten_digit_types)
    }
}

static INDIA: LazyLock<Option<NumberingPlan>> = LazyLock::new(|| NumberingPlan::for_region("IN"));

fn library_valid(national: &[u8]) -> bool {
    let text = std::str::from_utf8(national).unwrap_or_default();
    phonenumber::parse(Some(Country::IN), format!("+91{text}"))
        .map(|number| phonenumber::is_valid(&number))
        .unwrap_or(false)
}

fn library_path(raw: &str, region: Region, out: &mut String) -> Validity {
    let trimmed = raw.trim();
    if let Ok(number) = phonenumber::parse(Some(region.0), trimmed) {
        if phonenumber::is_valid(&number) {
            out.push_str(&number.format().mode(phonenumber::Mode::E164).to_string());
            return Validity::Valid;
        }
        // The crate reads a bare national number that happens to start with the country code as
        // an international one (9185133742 -> +9185133742); retry it as national.
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        if !trimmed.starts_with('+')
            && let Ok(retry) = phonenumber::parse(Some(region.0), format!("0{digits}"))
            && phonenumber::is_valid(&retry)
        {
            out.push_str(&retry.format().mode(phonenumber::Mode::E164).to_string());
            return Validity::Valid;
        }
    }
    if trimmed.starts_with('+') {
        out.push('+');
    }
    out.extend(trimmed.chars().filter(char::is_ascii_digit));
    if out.is_empty() || out == "+" {
        out.clear();
        out.push_str(trimmed);
    }
    Validity::Invalid
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    fn norm(raw: &str) -> (String, Validity) {
        let mut out = String::new();
        let validity = normalize_phone(raw, Region::INDIA, &mut out);
        (out, validity)
    }

    #[test]
    fn common_indian_writings() {
        for raw in [
            "9812345678",
            "+91 98123 45678",
            "098123-45678",
            "(+91) 98123-45678",
            "919812345678",
            "+91-9812345678",
            "0091 98123 45678",
            "98123.45678",
            " 98123 45678 ",
            "+919812345678",
        ] {
            assert_eq!(norm(raw), ("+919812345678".to_string(), Validity::Valid), "{raw}");
        }
    }

    #[test]
    fn bare_number_starting_with_91_is_national() {
        // The phonenumber crate alone turns this into +9185133742.
        assert_eq!(norm("9185133742").0, "+919185133742");
        assert_eq!(norm("9198765432").0, "+919198765432");
    }

    #[test]
    fn landlines_and_foreign_numbers_use_the_library() {
        assert_eq!(norm("011 2345 6789"), ("+911123456789".to_string(), Validity::Valid));
        assert_eq!(norm("+1 650-253-0000"), ("+16502530000".to_string(), Validity::Valid));
        assert_eq!(norm("+44 20 7946 0958"), ("+442079460958".to_string(), Validity::Valid));
    }

    #[test]
    fn invalid_numbers_are_kept_and_flagged() {
        assert_eq!(norm("12345"), ("12345".to_string(), Validity::Invalid));
        assert_eq!(norm("not a phone"), ("not a phone".to_string(), Validity::Invalid));
        assert_eq!(norm("+91 98123"), ("+9198123".to_string(), Validity::Invalid));
    }

    #[test]
    fn other_default_region() {
        let mut out = String::new();
        let region: Region = "us".parse().unwrap();
        assert_eq!(normalize_phone("(650) 253-0000", region, &mut out), Validity::Valid);
        assert_eq!(out, "+16502530000");
        assert!("XX".parse::<Region>().is_err());
    }

    #[test]
    fn fast_path_agrees_with_library() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut fast = String::new();
        for _ in 0..20_000 {
            let national: String = std::iter::once(char::from(b'6' + rng.random_range(0..4u8)))
                .chain((0..9).map(|_| char::from(b'0' + rng.random_range(0..10u8))))
                .collect();
            let writing = match rng.random_range(0..4) {
                0 => national.clone(),
                1 => format!("+91 {national}"),
                2 => format!("0{national}"),
                _ => format!("91{national}"),
            };
            fast.clear();
            let fast_validity = indian_fast_path(&writing, &mut fast).expect("fast path");
            // With the country code written out: the crate misreads bare numbers starting 91.
            let library = phonenumber::parse(Some(Country::IN), format!("+91{national}")).unwrap();
            let library_validity = if phonenumber::is_valid(&library) {
                Validity::Valid
            } else {
                Validity::Invalid
            };
            assert_eq!(fast_validity, library_validity, "{writing}");
            if fast_validity == Validity::Valid {
                let e164 = library.format().mode(phonenumber::Mode::E164).to_string();
                assert_eq!(fast, e164, "{writing}");
            }
        }
    }
}
