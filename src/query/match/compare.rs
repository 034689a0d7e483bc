//! Field comparisons between a suspect record and a candidate record, as discrete agreement
//! levels (the comparison vector γ of Fellegi and Sunter, 1969): each comparison of the
//! suspect's person name, a date, a postcode, an address, an identifier… says which of a few
//! ordered levels the pair reaches, from "different" to "the same", or cannot tell (a side has no
//! such value). What each level is worth is not fixed here: [`super::model`] learns it from
//! the data, per suspect field and corpus.
//!
//! The levels follow splink's comparison library (exact, Jaro-Winkler bands, one edit, dates
//! with day and month swapped, initials), so a typo, an OCR error, a swapped name or a masked
//! ID lands on its own level instead of counting as a plain disagreement.

use super::suspect::{Suspect, SuspectField};
use crate::ingest::Kind;
use crate::ingest::normalize::{name_skeleton, romanized};
use crate::ingest::person::{NamePart, PersonName, name_part};
use crate::segment::blocking::{id_last_four, pincode_in};

/// The level of a comparison that cannot be told (a side has no value to compare).
pub const UNKNOWN: u8 = u8::MAX;

/// A kind of comparison, with its ordered levels (lowest: different; highest: the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Comparison {
    /// The person's name (one field, or given name and surname together).
    PersonName,
    /// A relative's name (a father's, a spouse's).
    RelativeName,
    /// Phone, email, PAN, passport, voter ID, licence, username, password hash, IP.
    Identifier,
    NationalId,
    DateOfBirth,
    BirthYear,
    Postcode,
    /// District, locality or state.
    Place,
    Address,
    StreetNumber,
    Gender,
    /// A value of no known kind: found among the candidate's values or not.
    Other,
}

impl Comparison {
    /// Names of the levels, lowest first: what the report says of a pair.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Comparison::PersonName | Comparison::RelativeName => &[
                "different",
                "weakly similar (Jaro-Winkler 0.6-0.8)",
                "similar (Jaro-Winkler 0.8-0.92)",
                "one name's words all in the other",
                "nearly the same (Jaro-Winkler 0.92+)",
                "the same words",
            ],
            Comparison::Identifier | Comparison::Postcode | Comparison::StreetNumber => {
                &["different", "one character apart", "the same"]
            }
            Comparison::NationalId => &["different", "same last four digits", "one character apart", "the same"],
            Comparison::DateOfBirth => &[
                "different",
                "years one apart",
                "same year",
                "one digit apart or day and month swapped",
                "the same",
            ],
            Comparison::BirthYear => &["different", "one year apart", "the same"],
            Comparison::Place => &["different", "similar or inside the address", "the same"],
            Comparison::Address => &["different", "some words shared", "most words shared", "the same"],
            Comparison::Gender => &["different", "the same"],
            Comparison::Other => &["not in the record's field of that name", "found in the record"],
        }
    }

    /// The comparison a suspect field of `kind` takes part in.
    fn of_kind(kind: Kind) -> Comparison {
        match kind {
            Kind::Name => Comparison::PersonName,
            Kind::NationalId => Comparison::NationalId,
            Kind::DateOfBirth => Comparison::DateOfBirth,
            Kind::BirthYear => Comparison::BirthYear,
            Kind::Pincode => Comparison::Postcode,
            Kind::District | Kind::Locality | Kind::State => Comparison::Place,
            Kind::Address => Comparison::Address,
            Kind::StreetNumber => Comparison::StreetNumber,
            Kind::Gender => Comparison::Gender,
            Kind::Phone
            | Kind::Email
            | Kind::Pan
            | Kind::Passport
            | Kind::VoterId
            | Kind::DrivingLicence
            | Kind::Username
            | Kind::PasswordHash
            | Kind::Ip => Comparison::Identifier,
            Kind::Password | Kind::Other => Comparison::Other,
        }
    }
}

/// One comparison a suspect record makes: what it compares, on which of its fields.
#[derive(Clone, Debug)]
pub struct SuspectComparison {
    pub comparison: Comparison,
    /// The suspect fields it reads (the person's name may be several: given name, surname).
    pub fields: Vec<u16>,
    /// The name the model keys its parameters by: the (first) field's name, or `name`.
    pub label: String,
}

/// A suspect record made ready for comparison: its comparisons and its person name's words.
pub struct Prepared<'a> {
    pub suspect: &'a Suspect,
    pub comparisons: Vec<SuspectComparison>,
    name: NameWords,
    /// A relative's name for each comparison of one (empty for the others).
    relatives: Vec<NameWords>,
    kinds: Vec<Kind>,
}

impl<'a> Prepared<'a> {
    pub fn new(suspect: &'a Suspect) -> Prepared<'a> {
        let mut person = PersonName::default();
        let mut name_fields = Vec::new();
        let mut comparisons: Vec<SuspectComparison> = Vec::new();
        // A field's position is kept in 16 bits: a record of more fields compares its first 65,535.
        for (position, field) in suspect.fields.iter().enumerate().take(usize::from(u16::MAX)) {
            let position = position as u16;
            if field.kind == Kind::Name && name_part(&field.name) != NamePart::Relative {
                person.add(&field.name, &field.value);
                name_fields.push(position);
                continue;
            }
            let comparison = match field.kind {
                Kind::Name => Comparison::RelativeName,
                kind => Comparison::of_kind(kind),
            };
            comparisons.push(SuspectComparison {
                comparison,
                fields: vec![position],
                label: field.name.clone(),
            });
        }
        let name = NameWords::new(&person.joined());
        if !name.is_empty() {
            comparisons.insert(
                0,
                SuspectComparison {
                    comparison: Comparison::PersonName,
                    label: name_fields
                        .iter()
                        .map(|&position| &suspect.fields[usize::from(position)].name)
                        .find(|name| name_part(name) == NamePart::Full)
                        .map_or_else(|| "name".to_string(), Clone::clone),
                    fields: name_fields,
                },
            );
        }
        let mut kinds: Vec<Kind> = suspect.fields.iter().map(|field| field.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let relatives = comparisons
            .iter()
            .map(|comparison| match comparison.comparison {
                Comparison::RelativeName => NameWords::new(&suspect.fields[usize::from(comparison.fields[0])].value),
                _ => NameWords::default(),
            })
            .collect();
        Prepared {
            suspect,
            comparisons,
            name,
            relatives,
            kinds,
        }
    }

    /// Share of the suspect's field kinds that a candidate (its values) has too: between
    /// records of equal evidence, the one whose fields the suspect mirrors ranks first.
    pub fn mirror(&self, candidate: &Candidate<'_>) -> f64 {
        if self.kinds.is_empty() {
            return 0.0;
        }
        let shared = self
            .kinds
            .iter()
            .filter(|kind| candidate.values.iter().any(|(_, other, _)| other == *kind))
            .count();
        shared as f64 / self.kinds.len() as f64
    }
}

/// A candidate record's values: (column name, kind, normalized value), and its person name.
pub struct Candidate<'a> {
    pub values: Vec<(&'a str, Kind, &'a str)>,
    name: NameWords,
    relatives: Vec<NameWords>,
}

impl<'a> Candidate<'a> {
    #[cfg(test)]
    pub fn new(values: Vec<(&'a str, Kind, &'a str)>) -> Candidate<'a> {
        let parts: Vec<NamePart> = values.iter().map(|(column, _, _)| name_part(column)).collect();
        Candidate::with_parts(values, &parts)
    }

    /// A candidate from its values and, for each, the part of a name its column holds
    /// ([`name_part`], worked out once per segment field rather than per candidate).
    pub fn with_parts(values: Vec<(&'a str, Kind, &'a str)>, parts: &[NamePart]) -> Candidate<'a> {
        let mut person = PersonName::default();
        let mut relatives = Vec::new();
        for (&(_, kind, value), &part) in values.iter().zip(parts) {
            if kind == Kind::Name {
                if part == NamePart::Relative {
                    relatives.push(NameWords::new(value));
                } else {
                    person.add_part(part, value);
                }
            }
        }
        Candidate {
            name: NameWords::new(&person.joined()),
            relatives,
            values,
        }
    }

    fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &'a str> + '_ {
        self.values
            .iter()
            .filter(move |(_, other, _)| *other == kind)
            .map(|(_, _, value)| *value)
    }
}

/// A name made ready for comparison once, not once per pair: its words as written (sorted,
/// for "the same words in any order"), in Latin letters (a name in an Indic script is compared as
/// it is typed in Latin letters, so one person's name in two scripts agrees), and each Latin
/// word's consonant skeleton and length in characters.
#[derive(Clone, Debug, Default)]
pub struct NameWords {
    sorted: Vec<String>,
    latin: Vec<String>,
    skeletons: Vec<String>,
    lengths: Vec<usize>,
}

impl NameWords {
    /// From a normalized name (words separated by single spaces).
    pub fn new(name: &str) -> NameWords {
        let mut sorted: Vec<String> = name
            .split(' ')
            .filter(|word| !word.is_empty())
            .map(str::to_string)
            .collect();
        sorted.sort_unstable();
        let latin_name = romanized(name);
        let latin: Vec<String> = latin_name
            .as_deref()
            .unwrap_or(name)
            .split(' ')
            .filter(|word| !word.is_empty())
            .map(str::to_string)
            .collect();
        let skeletons = latin
            .iter()
            .map(|word| {
                let mut skeleton = String::new();
                name_skeleton(word, &mut skeleton);
                skeleton
            })
            .collect();
        let lengths = latin.iter().map(|word| word.chars().count()).collect();
        NameWords {
            sorted,
            latin,
            skeletons,
            lengths,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.latin.is_empty()
    }
}

/// Similarity of two normalized names in [0, 1], tolerant of case and spacing (normalization
/// already folded them), word order, initials and romanizations: each word of the suspect's
/// name is paired with its best word of the candidate's.
pub fn name_similarity(suspect: &[String], candidate: &str) -> f64 {
    similarity(&NameWords::new(&suspect.join(" ")), &NameWords::new(candidate))
}

/// [`name_similarity`] of names made ready.
fn similarity(suspect: &NameWords, candidate: &NameWords) -> f64 {
    if suspect.is_empty() || candidate.is_empty() {
        return 0.0;
    }
    let mut total = 0.0;
    for ((word, skeleton), &length) in suspect.latin.iter().zip(&suspect.skeletons).zip(&suspect.lengths) {
        let best = candidate
            .latin
            .iter()
            .zip(&candidate.skeletons)
            .zip(&candidate.lengths)
            .map(|((other, other_skeleton), &other_length)| {
                if length == 1 || other_length == 1 {
                    // An initial stands for any word that starts with it.
                    let (short, long) = if word.len() <= other.len() {
                        (word, other)
                    } else {
                        (other, word)
                    };
                    return if long.starts_with(short.as_str()) { 0.95 } else { 0.0 };
                }
                if word == other {
                    return 1.0;
                }
                let sounds_alike = if skeleton == other_skeleton { 0.92 } else { 0.0 };
                strsim::jaro_winkler(word, other).max(sounds_alike)
            })
            .fold(0.0, f64::max);
        total += best;
    }
    let by_words = total / suspect.latin.len() as f64;
    if suspect.latin.len() == candidate.latin.len() {
        return by_words;
    }
    // Spacing differences (`Rahul Kumar` against `rahulkumar`): compare the names run together.
    let joined_suspect: String = suspect.latin.concat();
    let joined_candidate: String = candidate.latin.concat();
    by_words.max(strsim::jaro_winkler(&joined_suspect, &joined_candidate) - 0.05)
}

/// The level of two names (see [`Comparison::levels`]).
fn name_level(suspect: &NameWords, candidate: &NameWords) -> u8 {
    if suspect.sorted == candidate.sorted {
        return 5;
    }
    let forward = similarity(suspect, candidate);
    if forward >= 0.92 && suspect.latin.len() == candidate.latin.len() {
        return 4;
    }
    // One side has a part the other lacks (a missing given name): its words are all in the other.
    let backward = similarity(candidate, suspect);
    if forward.max(backward) >= 0.92 {
        return 3;
    }
    match forward.max(backward) {
        similarity if similarity >= 0.8 => 2,
        similarity if similarity >= 0.6 => 1,
        _ => 0,
    }
}

/// Whether two values are at most one edit apart (a typo: one character changed, inserted,
/// deleted, or two neighbours swapped), for values long enough that this is rare by chance.
///
/// Our own rather than `strsim::osa_distance`: this runs on every identifier, postcode and street
/// number of every candidate pair, where `osa_distance` (5.8% of provenance time in a profile)
/// fills a full distance matrix in a fresh allocation only to ask whether the distance is 1; a
/// bounded check is one pass over the two values.
fn one_edit(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return one_edit_of(a.as_bytes(), b.as_bytes());
    }
    one_edit_of(&a.chars().collect::<Vec<_>>(), &b.chars().collect::<Vec<_>>())
}

/// [`one_edit`] of two different sequences of characters (bytes for ASCII: no allocation).
fn one_edit_of<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    if a.len().min(b.len()) < 2 || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_rest, b_rest) = (a.len() - prefix - suffix, b.len() - prefix - suffix);
    match (a_rest, b_rest) {
        // One changed, inserted or deleted.
        (1, 1) | (0, 1) | (1, 0) => true,
        // Two neighbours swapped.
        (2, 2) => a[prefix] == b[prefix + 1] && a[prefix + 1] == b[prefix],
        _ => false,
    }
}

/// Exact, one edit apart, or different, against every candidate value: the best level.
fn typo_level(value: &str, others: impl Iterator<Item = impl AsRef<str>>) -> u8 {
    best(others.map(|other| {
        let other = other.as_ref();
        if other == value {
            2
        } else if one_edit(value, other) {
            1
        } else {
            0
        }
    }))
}

/// The best of the levels a value reaches against each of the candidate's values of its kind;
/// [`UNKNOWN`] when the candidate has none.
fn best(levels: impl Iterator<Item = u8>) -> u8 {
    levels.max().unwrap_or(UNKNOWN)
}

/// Years the same (2), one apart (1) or further (0).
fn year_distance_level(year: i32, other: i32) -> u8 {
    match year.abs_diff(other) {
        0 => 2,
        1 => 1,
        _ => 0,
    }
}

/// The year a normalized date or birth year starts with. Dates that failed to normalize are
/// kept as written (any script), so nothing here slices at a byte that may not be a character's.
fn year_of(value: &str) -> Option<i32> {
    value.get(..4)?.parse().ok()
}

/// Whether a value is a normalized date, `YYYY-MM-DD`.
fn iso_date(value: &str) -> bool {
    value.len() == 10 && value.is_ascii() && value.as_bytes()[4] == b'-' && value.as_bytes()[7] == b'-'
}

fn date_level(value: &str, candidate: &Candidate<'_>) -> u8 {
    let Some(year) = year_of(value) else { return UNKNOWN };
    let dates = candidate
        .of_kind(Kind::DateOfBirth)
        .chain(candidate.of_kind(Kind::BirthYear));
    best(dates.filter_map(|other| {
        let by_year = year_distance_level(year, year_of(other)?);
        if !(iso_date(value) && iso_date(other)) {
            return Some(by_year);
        }
        // YYYY-MM-DD: one digit changed, or day and month swapped.
        let swapped = value[..4] == other[..4] && value[5..7] == other[8..10] && value[8..10] == other[5..7];
        Some(if value == other {
            4
        } else if swapped || strsim::hamming(value, other).is_ok_and(|distance| distance <= 1) {
            3
        } else {
            by_year
        })
    }))
}

fn year_level(value: &str, candidate: &Candidate<'_>) -> u8 {
    let Some(year) = year_of(value) else { return UNKNOWN };
    let years = candidate
        .of_kind(Kind::DateOfBirth)
        .chain(candidate.of_kind(Kind::BirthYear))
        .filter_map(year_of);
    best(years.map(|other| year_distance_level(year, other)))
}

/// Whether `needle` occurs in `text` as whole words.
fn contains_words(text: &str, needle: &str) -> bool {
    !needle.is_empty()
        && text.match_indices(needle).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + needle.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
}

fn place_level(kind: Kind, value: &str, candidate: &Candidate<'_>) -> u8 {
    let places = || {
        [Kind::District, Kind::Locality, Kind::State]
            .into_iter()
            .flat_map(|kind| candidate.of_kind(kind))
    };
    if places().any(|place| place == value) {
        return 2;
    }
    let similar = value.chars().count() >= 4 && places().any(|place| strsim::jaro_winkler(value, place) >= 0.9);
    if similar
        || candidate
            .of_kind(Kind::Address)
            .any(|address| contains_words(address, value))
    {
        return 1;
    }
    if candidate.of_kind(kind).next().is_some() {
        0
    } else {
        UNKNOWN
    }
}

/// Share of the shorter address's words found in the other, a word counting as found when it
/// is the same or, for words of four letters or more, nearly (Jaro-Winkler 0.9: a typo).
fn word_overlap(a: &str, b: &str) -> f64 {
    fn words(text: &str) -> Vec<&str> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .collect()
    }
    let (left, right) = (words(a), words(b));
    if left.is_empty() || right.is_empty() {
        return 0.0;
    }
    let (shorter, longer) = if left.len() <= right.len() {
        (&left, &right)
    } else {
        (&right, &left)
    };
    let found = shorter
        .iter()
        .filter(|word| {
            longer
                .iter()
                .any(|other| other == *word || word.chars().count() >= 4 && strsim::jaro_winkler(word, other) >= 0.9)
        })
        .count();
    found as f64 / shorter.len() as f64
}

fn address_level(value: &str, candidate: &Candidate<'_>) -> u8 {
    best(candidate.of_kind(Kind::Address).map(|other| {
        if other == value {
            return 3;
        }
        match word_overlap(value, other) {
            overlap if overlap >= 0.6 => 2,
            overlap if overlap >= 0.2 => 1,
            _ => 0,
        }
    }))
}

fn national_id_level(value: &str, candidate: &Candidate<'_>) -> u8 {
    // Masked as normalization writes it: `XXXXXXXX` and the last four digits. Other schemes'
    // numbers may hold an X of their own (`AX123456C`).
    let full = |id: &str| !id.starts_with("XXXX") && id.bytes().any(|byte| byte.is_ascii_digit());
    best(candidate.of_kind(Kind::NationalId).map(|other| {
        if full(value) && full(other) {
            if value == other {
                3
            } else if one_edit(value, other) {
                2
            } else {
                0
            }
        } else if id_last_four(value).is_some() && id_last_four(value) == id_last_four(other) {
            1
        } else {
            0
        }
    }))
}

/// The level each of the suspect's comparisons reaches against a candidate, in the order of
/// [`Prepared::comparisons`] ([`UNKNOWN`] where it cannot be told).
pub fn levels(prepared: &Prepared<'_>, candidate: &Candidate<'_>, out: &mut Vec<u8>) {
    out.clear();
    let fields: &[SuspectField] = &prepared.suspect.fields;
    for (position, comparison) in prepared.comparisons.iter().enumerate() {
        let field = &fields[usize::from(comparison.fields[0])];
        let value = field.value.as_str();
        let level = match comparison.comparison {
            Comparison::PersonName if candidate.name.is_empty() => UNKNOWN,
            Comparison::PersonName => name_level(&prepared.name, &candidate.name),
            Comparison::RelativeName => best(
                candidate
                    .relatives
                    .iter()
                    .map(|relative| name_level(&prepared.relatives[position], relative)),
            ),
            Comparison::Identifier => typo_level(value, candidate.of_kind(field.kind)),
            Comparison::NationalId => national_id_level(value, candidate),
            Comparison::DateOfBirth => date_level(value, candidate),
            Comparison::BirthYear => year_level(value, candidate),
            Comparison::Postcode => typo_level(
                value,
                candidate
                    .of_kind(Kind::Pincode)
                    .chain(candidate.of_kind(Kind::Address).filter_map(pincode_in)),
            ),
            Comparison::Place => place_level(field.kind, value, candidate),
            Comparison::Address => address_level(value, candidate),
            Comparison::StreetNumber => typo_level(value, candidate.of_kind(Kind::StreetNumber)),
            Comparison::Gender => match candidate.of_kind(Kind::Gender).next() {
                Some(other) => u8::from(other == value),
                None => UNKNOWN,
            },
            // Said only of a record that has a field of that name: a corpus without the field
            // (no vaccine column) says nothing by not holding the value.
            Comparison::Other => {
                if candidate.values.iter().any(|(_, _, other)| *other == value) {
                    1
                } else if candidate
                    .values
                    .iter()
                    .any(|(column, _, _)| column.eq_ignore_ascii_case(&field.name))
                {
                    0
                } else {
                    UNKNOWN
                }
            }
        };
        out.push(level);
    }
}

/// Whether the agreement identifies a person, whatever weights the model learns: a unique
/// identifier is the same; or two distinguishing fields agree, each on its own rare between two
/// people (the name nearly, the date of birth to a digit, an ID to a digit or its last four, a
/// phone or email to a typo, most of the address, the postcode); or the name nearly agrees and
/// the birth year does. Agreements that only add up (a district, a gender, a common value, a
/// state) never make a match on their own.
///
/// And it is not contradicted: a record is not the suspect's copy when its name and birth both
/// differ (another person, whose phone or email this is: a number passed on, a family's shared
/// address); when its name differs and only one identifying field agrees; or when a unique
/// identifier differs, none is the same, no date of birth agrees and fewer than three
/// distinguishing fields do (a record made from someone's name and details).
pub fn anchored(prepared: &Prepared<'_>, levels: &[u8]) -> bool {
    let (mut identifiers, mut distinguishing) = (0, 0);
    let (mut name, mut year, mut birth_date) = (false, false, false);
    let (mut other_name, mut other_birth, mut other_identifier) = (false, false, false);
    for (comparison, &level) in prepared.comparisons.iter().zip(levels) {
        if level == UNKNOWN {
            continue;
        }
        let kind = prepared.suspect.fields[usize::from(comparison.fields[0])].kind;
        let unique = !matches!(kind, Kind::Username | Kind::PasswordHash | Kind::Ip);
        match comparison.comparison {
            Comparison::Identifier if unique && level == 2 => identifiers += 1,
            Comparison::NationalId if level == 3 => identifiers += 1,
            Comparison::Identifier | Comparison::NationalId if level == 0 => other_identifier |= unique,
            Comparison::Identifier if unique && level == 1 => distinguishing += 1,
            Comparison::NationalId if level >= 1 => distinguishing += 1,
            Comparison::PersonName if level >= 3 => {
                name = true;
                distinguishing += 1;
            }
            Comparison::PersonName if level == 0 => other_name = true,
            Comparison::DateOfBirth if level >= 3 => {
                birth_date = true;
                distinguishing += 1;
            }
            Comparison::DateOfBirth | Comparison::BirthYear if level == 2 => year = true,
            Comparison::DateOfBirth | Comparison::BirthYear if level <= 1 => other_birth = true,
            Comparison::Address | Comparison::Postcode if level >= 2 => distinguishing += 1,
            _ => {}
        }
    }
    let identifying = identifiers + distinguishing;
    let contradicted = other_name && (other_birth || identifying < 2)
        || other_identifier && identifiers == 0 && !birth_date && distinguishing < 3;
    !contradicted && (identifiers > 0 || distinguishing >= 2 || name && year)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(name: &str) -> Vec<String> {
        name.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn names_agree_across_writings_and_not_across_people() {
        for (suspect, candidate) in [
            ("rahul sharma", "rahul sharma"),
            ("sharma rahul", "rahul sharma"),
            ("r sharma", "rahul sharma"),
            ("laxmi iyer", "lakshmi iyer"),
            ("mohd khan", "mohammed khan"),
            ("rahulsharma", "rahul sharma"),
            ("सुनीता शर्मा", "sunita sharma"),
            ("sunita sharma", "सुनीता शर्मा"),
            ("रमेश कुमार", "ramesh kumar"),
            ("r verma", "राहुल वर्मा"),
        ] {
            let similarity = name_similarity(&words(suspect), candidate);
            assert!(similarity >= 0.88, "{suspect} / {candidate}: {similarity}");
        }
        for (suspect, candidate) in [
            ("priya nair", "rahul sharma"),
            ("amit verma", "sunita gill"),
            ("प्रिया नायर", "rahul sharma"),
        ] {
            let similarity = name_similarity(&words(suspect), candidate);
            assert!(similarity < 0.6, "{suspect} / {candidate}: {similarity}");
        }
        let level = |a: &str, b: &str| name_level(&NameWords::new(a), &NameWords::new(b));
        assert_eq!(level("neumann michaela", "michaela neumann"), 5);
        assert_eq!(level("michaela neumnan", "michaela neumann"), 4);
        assert_eq!(level("neumann", "michaela neumann"), 3);
        assert_eq!(level("michaela neumann", "neumann"), 3);
        assert_eq!(level("priya nair", "rahul sharma"), 0);
        assert_eq!(level("सुनीता शर्मा", "sunita sharma"), 4);
        assert!(contains_words("12 mg road, pune - 411001", "pune"));
        assert!(!contains_words("12 mg road, pune - 411001", "pun"));
    }

    #[test]
    fn typos_swaps_and_masks_have_their_own_levels() {
        let candidate = Candidate::new(vec![
            ("dob", Kind::DateOfBirth, "1956-08-13"),
            ("ssn", Kind::NationalId, "5304218"),
            ("aadhaar", Kind::NationalId, "234567890123"),
            ("address", Kind::Address, "8 stanley street miami"),
        ]);
        assert_eq!(date_level("1956-08-13", &candidate), 4);
        assert_eq!(date_level("1956-13-08", &candidate), 3);
        assert_eq!(date_level("1957-08-13", &candidate), 3);
        assert_eq!(date_level("1956-01-02", &candidate), 2);
        assert_eq!(date_level("1955-01-02", &candidate), 1);
        assert_eq!(date_level("1980-01-02", &candidate), 0);
        assert_eq!(national_id_level("5304218", &candidate), 3);
        assert_eq!(national_id_level("5304213", &candidate), 2);
        assert_eq!(national_id_level("XXXXXXXX0123", &candidate), 1);
        assert_eq!(national_id_level("XXXXXXXX9999", &candidate), 0);
        assert_eq!(address_level("8 stanley setreet", &candidate), 2);
        assert_eq!(address_level("4 pinkerton circuit", &candidate), 0);
        assert_eq!(typo_level("4223", ["4223"].iter()), 2);
        assert_eq!(typo_level("4233", ["4223"].iter()), 1);
        assert_eq!(typo_level("3212", ["4223"].iter()), 0);
        assert_eq!(typo_level("3212", std::iter::empty::<&str>()), UNKNOWN);
        for (a, b, near) in [
            ("9812345678", "9812345679", true),
            ("9812345678", "9812354678", true),
            ("9812345678", "981234567", true),
            ("9812345678", "98123456789", true),
            ("9812345678", "9812435687", false),
            ("ab", "ba", true),
            ("a", "b", false),
            ("रमेश", "रमेष", true),
        ] {
            assert_eq!(one_edit(a, b), near, "{a} {b}");
            assert_eq!(
                one_edit(a, b),
                strsim::osa_distance(a, b) <= 1 && a.chars().count().min(b.chars().count()) >= 2
            );
        }
        // Dates kept as written (normalization failed) in any script are compared without a panic.
        assert_eq!(date_level("12 मई 1990", &candidate), UNKNOWN);
        // Its year is still read, and is not the candidate's.
        assert_eq!(date_level("1990म१२३", &candidate), 0);
        let written = Candidate::new(vec![("dob", Kind::DateOfBirth, "१२ मई १९९०")]);
        assert_eq!(date_level("1956-08-13", &written), UNKNOWN);
        // Another scheme's ID with an X of its own is not a masked one.
        let british = Candidate::new(vec![("ni", Kind::NationalId, "AX123456C")]);
        assert_eq!(national_id_level("AX123456C", &british), 3);
        assert_eq!(national_id_level("XXXXXXXX6C12", &british), 0);
    }

    fn prepared(fields: &[(&str, Kind, &str)]) -> Suspect {
        Suspect {
            file: "suspects".into(),
            location: crate::ingest::Location {
                ordinal: 1,
                line: 1,
                offset: 0,
            },
            fields: fields
                .iter()
                .map(|(name, kind, value)| SuspectField::new(name, *kind, crate::ingest::Validity::Valid, value, value))
                .collect(),
        }
    }

    #[test]
    fn anchors_need_identifying_agreement_and_no_contradiction() {
        let source = Candidate::new(vec![
            ("name", Kind::Name, "rahul sharma"),
            ("dob", Kind::DateOfBirth, "1990-01-02"),
            ("mobile", Kind::Phone, "+919812345678"),
            ("district", Kind::District, "pune"),
        ]);
        let anchored_against = |fields: &[(&str, Kind, &str)]| {
            let suspect = prepared(fields);
            let prepared = Prepared::new(&suspect);
            let mut levels = Vec::new();
            super::levels(&prepared, &source, &mut levels);
            anchored(&prepared, &levels)
        };
        // A phone alone, or a name with a date of birth.
        assert!(anchored_against(&[("mobile", Kind::Phone, "+919812345678")]));
        assert!(anchored_against(&[
            ("name", Kind::Name, "sharma rahul"),
            ("dob", Kind::DateOfBirth, "1990-01-02")
        ]));
        // A name and a district add up to nothing that identifies.
        assert!(!anchored_against(&[
            ("name", Kind::Name, "rahul sharma"),
            ("district", Kind::District, "pune")
        ]));
        // The phone with another name and birth: another person's number.
        assert!(!anchored_against(&[
            ("name", Kind::Name, "priya nair"),
            ("dob", Kind::DateOfBirth, "1971-05-06"),
            ("mobile", Kind::Phone, "+919812345678"),
        ]));
        // Another name, and the phone the one agreement.
        assert!(!anchored_against(&[
            ("name", Kind::Name, "priya nair"),
            ("mobile", Kind::Phone, "+919812345678")
        ]));
        // Name and district, with another phone: made from someone's details.
        assert!(!anchored_against(&[
            ("name", Kind::Name, "rahul sharma"),
            ("dob", Kind::BirthYear, "1990"),
            ("mobile", Kind::Phone, "+919800000000"),
        ]));
    }
}
