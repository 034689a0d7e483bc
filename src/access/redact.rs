//! Redaction: what a role that may not see record contents gets instead of each value. One policy
//! for every response path (lookup, search, show, match, provenance, reports).
//!
//! A value is redacted by what it is, not by its column's label: a kind shown as it is (state,
//! gender, district, birth year) is shown only when the value is plainly of that kind, and a
//! field name that is itself an identifier (a JSON dump keyed by phone number) is redacted too.

use crate::fingerprint::IDENTIFYING_KINDS;
use crate::ingest::Kind;
use crate::ingest::classify::value_candidates;
use crate::ingest::normalize::{Region, gender_code, parse_year};
use crate::query::provenance::Report;
use crate::segment::ShownRecord;
use crate::segment::blocking::pincode_in;

/// Keeps the first `keep_start` and last `keep_end` characters, masks the others with `X`.
fn mask(value: &str, keep_start: usize, keep_end: usize) -> String {
    let count = value.chars().count();
    value
        .chars()
        .enumerate()
        .map(|(position, c)| {
            if position < keep_start || position + keep_end >= count || !c.is_alphanumeric() {
                c
            } else {
                'X'
            }
        })
        .collect()
}

/// The redacted form of a normalized value of `kind`.
pub fn redact(kind: Kind, value: &str) -> String {
    match kind {
        // +91 XXXXXXXX78: the country code and the last two digits. Showing five digits (as
        // wave 1 did) left 100,000 completions, which a caller with lookups tried in 43 s.
        Kind::Phone => match value.strip_prefix("+91") {
            Some(national) if national.len() == 10 => format!("+91 {}", mask(national, 0, 2)),
            _ => mask(value, 0, 2),
        },
        // XXXX XXXX 1234
        Kind::NationalId => {
            let tail: String = value
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("XXXX XXXX {tail}")
        }
        // r***@example.com
        Kind::Email => match value.split_once('@') {
            Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
            None => "***".to_string(),
        },
        // Initials: R. S.
        Kind::Name => value
            .split_whitespace()
            .filter_map(|word| word.chars().next())
            .map(|initial| format!("{}.", initial.to_uppercase()))
            .collect::<Vec<_>>()
            .join(" "),
        Kind::Address => locality(value).unwrap_or_else(|| REDACTED.to_string()),
        Kind::Pincode => shown_if(
            value.len() == 6 && value.bytes().all(|byte| byte.is_ascii_digit()),
            &mask(value, 3, 0),
        ),
        // The year of a date read as one; anything else in the column is not shown.
        Kind::DateOfBirth => parse_year(value)
            .or_else(|| crate::ingest::normalize::parse_date(value).map(|date| date.year))
            .map_or_else(|| REDACTED.to_string(), |year| format!("{year:04}")),
        Kind::BirthYear => shown_if(parse_year(value).is_some(), value),
        Kind::Gender => shown_if(gender_code(value).is_some(), value),
        Kind::State => shown_if(is_state(value), value),
        Kind::District | Kind::Locality => match revealed(value) {
            _ if looks_like_place(value) => value.to_string(),
            Some(Kind::Name) => redact(Kind::Name, value),
            _ => REDACTED.to_string(),
        },
        Kind::Pan | Kind::Passport | Kind::VoterId | Kind::DrivingLicence => mask(value, 0, 3),
        Kind::Username => format!("{}***", value.chars().next().unwrap_or('*')),
        // The first octet of an IPv4 address; nothing of anything else.
        Kind::Ip => match value.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(address)) => format!("{}.x.x.x", address.octets()[0]),
            _ => REDACTED.to_string(),
        },
        Kind::Password | Kind::PasswordHash | Kind::StreetNumber | Kind::Other => REDACTED.to_string(),
    }
}

const REDACTED: &str = "[redacted]";

fn shown_if(plain: bool, value: &str) -> String {
    if plain { value.to_string() } else { REDACTED.to_string() }
}

/// The identifying kind a piece of text reads as, if any.
fn revealed(text: &str) -> Option<Kind> {
    let candidates = value_candidates(text, Region::INDIA);
    // What identifies a person alone, and names: neither may show where a label does not
    // expect it.
    IDENTIFYING_KINDS
        .into_iter()
        .chain([Kind::Name])
        .find(|kind| candidates & kind.bit() != 0)
}

/// A field's (or a file's) name as shown: a part of it that is itself an identifier
/// (`+919811122334.name`, `users[rahul@example.com]`) is redacted as the kind it reads as. Parts
/// are what brackets, slashes and quotes delimit, then, if a part is no identifier whole, its
/// dot-separated steps (so an email's dots stay inside it). Whatever the delimiters, any email
/// left and any run of five or more digits (`contacts_9811122334`; not a year) is masked too.
pub fn redact_field_name(name: &str) -> String {
    mask_embedded(&redact_parts(name))
}

static EMBEDDED_EMAIL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"[^\s@\[\]/"'(){}:,;]+@[^\s@\[\]/"'(){}:,;]+"#).expect("email pattern")
});

/// Masks emails and runs of five or more digits (any script) inside `text`, keeping a run's
/// last two digits.
fn mask_embedded(text: &str) -> String {
    let emails = EMBEDDED_EMAIL.replace_all(text, |found: &regex::Captures<'_>| {
        let email = &found[0];
        if email.contains("***@") {
            email.to_string()
        } else {
            redact(Kind::Email, email)
        }
    });
    let characters: Vec<char> = emails.chars().collect();
    let mut shown = String::with_capacity(emails.len());
    let mut start = 0;
    while start < characters.len() {
        let end = characters[start..]
            .iter()
            .position(|character| !character.is_numeric())
            .map_or(characters.len(), |length| start + length);
        if end == start {
            shown.push(characters[start]);
            start += 1;
            continue;
        }
        for (position, digit) in characters[start..end].iter().enumerate() {
            let masked = end - start >= 5 && position + 2 < end - start;
            shown.push(if masked { 'X' } else { *digit });
        }
        start = end;
    }
    shown
}

fn redact_parts(name: &str) -> String {
    const DELIMITERS: [char; 5] = ['[', ']', '/', '"', '\''];
    let redact_part = |part: &str| revealed(part).map(|kind| redact(kind, part));
    let mut shown = String::with_capacity(name.len());
    let mut rest = name;
    loop {
        let end = rest.find(DELIMITERS).unwrap_or(rest.len());
        let piece = &rest[..end];
        match redact_part(piece) {
            Some(redacted) => shown.push_str(&redacted),
            None => {
                for (step, text) in piece.split('.').enumerate() {
                    if step > 0 {
                        shown.push('.');
                    }
                    shown.push_str(&redact_part(text).unwrap_or_else(|| text.to_string()));
                }
            }
        }
        // Every delimiter is one byte.
        let Some(delimiter) = rest.get(end..end + 1) else {
            return shown;
        };
        shown.push_str(delimiter);
        rest = &rest[end + 1..];
    }
}

/// The locality an address ends with: its last comma-separated part without the postcode, if
/// that is one or two words of letters; else the last word, if it is letters. An address
/// written without commas shows its last word only.
fn locality(address: &str) -> Option<String> {
    let last = address.rsplit(',').next().unwrap_or("").trim();
    let place = pincode_in(last).map_or(last, |pincode| last.split(pincode).next().unwrap_or(""));
    let place = place.trim().trim_end_matches(['-', ' ']);
    let words: Vec<&str> = place.split_whitespace().collect();
    let alphabetic = |word: &&str| word.chars().all(char::is_alphabetic);
    let shown = if address.contains(',') && (1..=2).contains(&words.len()) && words.iter().all(alphabetic) {
        words.join(" ")
    } else {
        words.last().filter(|word| alphabetic(word))?.to_string()
    };
    (!shown.is_empty() && revealed(&shown).is_none_or(|kind| kind == Kind::Name)).then_some(shown)
}

/// States and union territories of India (2020), lowercase, and their common abbreviations.
const STATES: [&str; 40] = [
    "andhra pradesh",
    "arunachal pradesh",
    "assam",
    "bihar",
    "chhattisgarh",
    "goa",
    "gujarat",
    "haryana",
    "himachal pradesh",
    "jharkhand",
    "karnataka",
    "kerala",
    "madhya pradesh",
    "maharashtra",
    "manipur",
    "meghalaya",
    "mizoram",
    "nagaland",
    "odisha",
    "orissa",
    "punjab",
    "rajasthan",
    "sikkim",
    "tamil nadu",
    "telangana",
    "tripura",
    "uttar pradesh",
    "uttarakhand",
    "uttaranchal",
    "west bengal",
    "andaman and nicobar islands",
    "chandigarh",
    "dadra and nagar haveli and daman and diu",
    "delhi",
    "nct of delhi",
    "jammu and kashmir",
    "ladakh",
    "lakshadweep",
    "puducherry",
    "pondicherry",
];

fn is_state(value: &str) -> bool {
    let lower = value.trim().to_lowercase().replace('&', "and");
    let lower = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    STATES.contains(&lower.as_str()) || (lower.len() == 2 && lower.bytes().all(|byte| byte.is_ascii_lowercase()))
}

/// Words that make a several-word value a place rather than a person (`East Godavari`,
/// `Bangalore Rural`, `South West Delhi`).
const PLACE_WORDS: [&str; 14] = [
    "north", "south", "east", "west", "central", "new", "rural", "urban", "city", "district", "nagar", "garh", "upper",
    "lower",
];

/// A district as shown: one word of letters, or several of which one is a place word, and
/// nothing that reads as an identifier. Anything else (a name in a district column) is
/// masked as a name.
fn looks_like_place(value: &str) -> bool {
    let words: Vec<String> = value.split_whitespace().map(str::to_lowercase).collect();
    let letters = words
        .iter()
        .all(|word| word.chars().all(|c| c.is_alphabetic() || c == '-'));
    let plain = match words.len() {
        1 => true,
        2..=4 => words.iter().any(|word| PLACE_WORDS.contains(&word.as_str())),
        _ => false,
    };
    letters && plain && revealed(value).is_none_or(|kind| kind == Kind::Name && words.len() > 1)
}

/// A record with every value redacted; raw values are replaced by the redacted normalized ones,
/// since a raw writing can carry what normalization would mask.
pub fn redact_record(record: &mut ShownRecord) {
    record.file = redact_field_name(&record.file);
    for field in &mut record.fields {
        field.name = redact_field_name(&field.name);
        field.normalized = redact(field.kind, &field.normalized);
        field.raw.clone_from(&field.normalized);
    }
}

/// A provenance report as a role that does not see record contents gets it: every value of the
/// example records, suspect's and source's, is replaced, and so is everything that tells how
/// well single fields agreed (examples' agreeing and disagreeing fields, evidence and scores,
/// the mean agreeing fields, the median evidence, the histograms). With a report on one guessed record, those confirm
/// a redacted value field by field.
pub fn redact_report(report: &mut Report) {
    for example in &mut report.examples {
        for (name, value) in example.suspect.iter_mut().chain(example.source.iter_mut()) {
            *name = redact_field_name(name);
            *value = "[redacted]".to_string();
        }
        example.file = redact_field_name(&example.file);
        example.agreeing.clear();
        example.disagreeing.clear();
        example.evidence.clear();
        example.score = 0.0;
        example.bits = 0.0;
    }
    for corpus in &mut report.corpora {
        corpus.agreeing_fields = 0.0;
        corpus.median_bits = 0.0;
    }
    report.score_histogram = [0; 10];
    report.evidence_histogram = [0; 10];
    report.verdict = crate::query::provenance::verdict(report);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_redacted_as_the_policy_says() {
        assert_eq!(redact(Kind::Phone, "+919812345678"), "+91 XXXXXXXX78");
        assert_eq!(redact(Kind::Phone, "+14155550123"), "+XXXXXXXXX23");
        assert_eq!(redact(Kind::NationalId, "234567890123"), "XXXX XXXX 0123");
        assert_eq!(redact(Kind::NationalId, "XXXXXXXX0123"), "XXXX XXXX 0123");
        assert_eq!(redact(Kind::Email, "rahul.sharma12@example.com"), "r***@example.com");
        assert_eq!(redact(Kind::Name, "rahul kumar sharma"), "R. K. S.");
        assert_eq!(redact(Kind::Address, "12, sai kripa, mg road, pune - 411023"), "pune");
        assert_eq!(redact(Kind::Address, "4 lake view colony, bhopal"), "bhopal");
        assert_eq!(redact(Kind::DateOfBirth, "1985-03-12"), "1985");
        assert_eq!(redact(Kind::Pincode, "411023"), "411XXX");
        assert_eq!(redact(Kind::Pan, "ABCPS1234K"), "XXXXXXX34K");
        assert_eq!(redact(Kind::Password, "sunshine12"), "[redacted]");
        assert_eq!(redact(Kind::Ip, "10.1.2.3"), "10.x.x.x");
    }

    #[test]
    fn values_are_redacted_by_what_they_are_not_by_their_label() {
        // Kinds shown as they are, holding something else.
        assert_eq!(redact(Kind::State, "Maharashtra"), "Maharashtra");
        assert_eq!(redact(Kind::State, "9811122334"), "[redacted]");
        assert_eq!(redact(Kind::State, "Rahul Sharma"), "[redacted]");
        assert_eq!(redact(Kind::Gender, "F"), "F");
        assert_eq!(redact(Kind::Gender, "+91 98111 22334"), "[redacted]");
        assert_eq!(redact(Kind::BirthYear, "1985"), "1985");
        assert_eq!(redact(Kind::BirthYear, "12/03/1985"), "[redacted]");
        assert_eq!(redact(Kind::District, "Pune"), "Pune");
        assert_eq!(redact(Kind::District, "East Godavari"), "East Godavari");
        assert_eq!(redact(Kind::District, "Rahul Sharma"), "R. S.");
        assert_eq!(redact(Kind::District, "9811122334"), "[redacted]");
        // An address without commas shows its last word; one that ends in digits, nothing.
        assert_eq!(redact(Kind::Address, "4 lake view colony bhopal"), "bhopal");
        assert_eq!(
            redact(Kind::Address, "flat 12 sunita sharma house 9811122334"),
            "[redacted]"
        );
        assert_eq!(redact(Kind::Address, "12, mg road, new delhi 110001"), "new delhi");
        // Field names that are identifiers.
        assert_eq!(redact_field_name("name"), "name");
        assert_eq!(redact_field_name("+919811122334.name"), "+91 XXXXXXXX34.name");
        assert_eq!(
            redact_field_name("users[rahul.sharma@example.com].dob"),
            "users[r***@example.com].dob"
        );
        assert_eq!(redact_field_name("by_pan/ABCPS1234K"), "by_pan/XXXXXXX34K");
        assert_eq!(
            redact_field_name("contacts_9811122334_name"),
            "contacts_XXXXXXXX34_name"
        );
        assert_eq!(redact_field_name("phone: 98111 22334"), "phone: XXX11 XXX34");
        assert_eq!(
            redact_field_name("owner(rahul.s@example.com)"),
            "owner(r***@example.com)"
        );
        assert_eq!(redact_field_name("dumps/2023/orders.csv"), "dumps/2023/orders.csv");
        // Over-redacted rather than under: the whole step reads as a name.
        assert_eq!(redact_field_name("rahul kumar sharma.dob"), "R. K. S.");
    }
}
