//! Field agreement between a suspect record and a candidate record, as evidence in bits.
//!
//! Each comparison says agree, disagree or cannot tell, with a weight in bits of evidence (the
//! log2 likelihood ratio of a true match against a chance one, in the manner of Fellegi and
//! Sunter), fixed by hand from how often each kind of value is shared by chance: an identical
//! phone or ID is very rare between different people, a birth year common.

use super::Prepared;
use crate::ingest::Kind;
use crate::ingest::normalize::{has_indic_letters, name_skeleton, romanized};
use crate::segment::blocking::{id_last_four, pincode_in};

/// Bits of evidence for and against, and the suspect fields that agree or disagree.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    pub weight: f64,
    pub agreeing: Vec<u16>,
    pub disagreeing: Vec<u16>,
    /// Share of the suspect's field kinds that the candidate record has too.
    pub mirror: f64,
    /// Whether the agreement identifies a person: a unique identifier agrees, or the name and a
    /// date, postcode, address or masked ID do. Small agreements that add up (a birth year, a
    /// district, a common value) never make a match on their own.
    pub anchored: bool,
}

/// Name similarity at or above which names agree.
const NAME_AGREE: f64 = 0.88;
/// Name similarity below which names disagree.
const NAME_DISAGREE: f64 = 0.6;

/// Bits for a masked national ID whose last four digits agree.
const MASKED_ID_AGREE: f64 = 3.0;

/// A candidate record's values by kind: (kind, normalized value).
pub type Values<'a> = [(Kind, &'a str)];

/// Similarity of two normalized names in [0, 1], tolerant of case and spacing (normalization
/// already folded them), word order, initials and romanizations: each word of the suspect's
/// name is paired with its best word of the candidate's.
pub fn name_similarity(suspect: &[String], candidate: &str) -> f64 {
    // A name in an Indic script is compared as it is typed in Latin letters, so that one
    // person's name written in two scripts agrees.
    let latin_candidate = romanized(candidate);
    let candidate = latin_candidate.as_deref().unwrap_or(candidate);
    let latin_suspect: Vec<String>;
    let suspect = if suspect.iter().any(|word| has_indic_letters(word)) {
        latin_suspect = suspect
            .iter()
            .map(|word| romanized(word).unwrap_or_else(|| word.clone()))
            .collect();
        &latin_suspect[..]
    } else {
        suspect
    };
    let words: Vec<&str> = candidate.split(' ').filter(|word| !word.is_empty()).collect();
    if suspect.is_empty() || words.is_empty() {
        return 0.0;
    }
    let mut skeleton_a = String::new();
    let mut skeleton_b = String::new();
    let mut total = 0.0;
    for word in suspect {
        let best = words
            .iter()
            .map(|other| {
                if word.chars().count() == 1 || other.chars().count() == 1 {
                    // An initial stands for any word that starts with it.
                    let (short, long) = if word.len() <= other.len() {
                        (word.as_str(), *other)
                    } else {
                        (*other, word.as_str())
                    };
                    return if long.starts_with(short) { 0.95 } else { 0.0 };
                }
                name_skeleton(word, &mut skeleton_a);
                name_skeleton(other, &mut skeleton_b);
                let sounds_alike = if skeleton_a == skeleton_b { 0.92 } else { 0.0 };
                strsim::jaro_winkler(word, other).max(sounds_alike)
            })
            .fold(0.0, f64::max);
        total += best;
    }
    let by_words = total / suspect.len() as f64;
    if suspect.len() == words.len() {
        return by_words;
    }
    // Spacing differences (`Rahul Kumar` against `rahulkumar`): compare the names run together.
    let joined_suspect: String = suspect.concat();
    let joined_candidate: String = words.concat();
    by_words.max(strsim::jaro_winkler(&joined_suspect, &joined_candidate) - 0.05)
}

fn year_of(kind: Kind, value: &str) -> Option<&str> {
    match kind {
        Kind::BirthYear | Kind::DateOfBirth
            if value.len() >= 4 && value.as_bytes()[..4].iter().all(u8::is_ascii_digit) =>
        {
            Some(&value[..4])
        }
        _ => None,
    }
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

fn word_overlap(a: &str, b: &str) -> f64 {
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (left, right) = (words(a), words(b));
    if left.is_empty() || right.is_empty() {
        return 0.0;
    }
    let shared = left.iter().filter(|word| right.contains(word)).count();
    shared as f64 / left.len().min(right.len()) as f64
}

enum Outcome {
    Agree(f64),
    Disagree(f64),
    Unknown,
}

/// Compares every field of the suspect with the candidate's values.
pub fn compare(suspect: &Prepared, candidate: &Values<'_>) -> Evidence {
    let mut evidence = Evidence::default();
    let of_kind = |kind: Kind| {
        candidate
            .iter()
            .filter(move |(other, _)| *other == kind)
            .map(|(_, value)| *value)
    };
    let mut first_name = true;
    let (mut identifier, mut name, mut corroborated) = (false, false, false);
    for (position, field) in suspect.fields.iter().enumerate() {
        let value = field.value.as_str();
        let exact = |kind: Kind, agree: f64, disagree: f64| {
            let mut seen = false;
            for other in of_kind(kind) {
                if other == value {
                    return Outcome::Agree(agree);
                }
                seen = true;
            }
            if seen {
                Outcome::Disagree(disagree)
            } else {
                Outcome::Unknown
            }
        };
        let outcome = match field.kind {
            Kind::Phone => exact(Kind::Phone, 8.0, 6.0),
            Kind::Email => exact(Kind::Email, 8.0, 3.0),
            Kind::Pan | Kind::Passport | Kind::VoterId | Kind::DrivingLicence => exact(field.kind, 8.0, 5.0),
            Kind::Username | Kind::PasswordHash | Kind::Ip => exact(field.kind, 4.0, 1.0),
            Kind::NationalId => {
                let tail = id_last_four(value);
                let full = tail.is_some() && value.bytes().all(|byte| byte.is_ascii_digit());
                let mut outcome = Outcome::Unknown;
                for other in of_kind(Kind::NationalId) {
                    let other_full = other.bytes().all(|byte| byte.is_ascii_digit());
                    if full && other_full {
                        outcome = if other == value {
                            Outcome::Agree(8.0)
                        } else {
                            Outcome::Disagree(6.0)
                        };
                    } else if tail.is_some() && tail == id_last_four(other) {
                        outcome = Outcome::Agree(MASKED_ID_AGREE);
                    } else {
                        outcome = Outcome::Disagree(3.0);
                    }
                    if matches!(outcome, Outcome::Agree(_)) {
                        break;
                    }
                }
                outcome
            }
            Kind::Name => {
                let words = if first_name { &suspect.name_words } else { &field.words };
                let best = of_kind(Kind::Name)
                    .map(|other| name_similarity(words, other))
                    .fold(None, |best: Option<f64>, similarity| {
                        Some(best.map_or(similarity, |known| known.max(similarity)))
                    });
                let full_words = words.iter().filter(|word| word.chars().count() > 1).count();
                let agree = if full_words >= 2 { 4.0 } else { 2.0 };
                let outcome = match best {
                    None => Outcome::Unknown,
                    Some(similarity) if similarity >= NAME_AGREE => Outcome::Agree(agree),
                    // A second name (a father's) that finds no partner says nothing.
                    Some(similarity) if similarity < NAME_DISAGREE && first_name => Outcome::Disagree(4.0),
                    Some(_) => Outcome::Unknown,
                };
                first_name = false;
                outcome
            }
            Kind::DateOfBirth if value.len() == 10 => {
                let mut outcome = Outcome::Unknown;
                for other in of_kind(Kind::DateOfBirth) {
                    if other.len() == 10 {
                        outcome = if other == value {
                            Outcome::Agree(6.0)
                        } else {
                            Outcome::Disagree(4.0)
                        };
                        break;
                    }
                }
                if matches!(outcome, Outcome::Unknown)
                    && let Some(year) = candidate.iter().find_map(|(kind, other)| year_of(*kind, other))
                {
                    outcome = if year == &value[..4] {
                        Outcome::Agree(2.0)
                    } else {
                        Outcome::Disagree(3.0)
                    };
                }
                outcome
            }
            Kind::DateOfBirth | Kind::BirthYear => match (
                year_of(field.kind, value),
                candidate.iter().find_map(|(kind, other)| year_of(*kind, other)),
            ) {
                (Some(year), Some(other)) if year == other => Outcome::Agree(2.0),
                (Some(_), Some(_)) => Outcome::Disagree(3.0),
                _ => Outcome::Unknown,
            },
            Kind::Pincode => {
                let pincodes = of_kind(Kind::Pincode).chain(of_kind(Kind::Address).filter_map(pincode_in));
                let mut outcome = Outcome::Unknown;
                for other in pincodes {
                    if other == value {
                        outcome = Outcome::Agree(3.0);
                        break;
                    }
                    outcome = Outcome::Disagree(1.5);
                }
                outcome
            }
            Kind::District | Kind::State => {
                let weight = if field.kind == Kind::District { 1.0 } else { 0.5 };
                let places: Vec<&str> = of_kind(Kind::District).chain(of_kind(Kind::State)).collect();
                if places.contains(&value) || of_kind(Kind::Address).any(|address| contains_words(address, value)) {
                    Outcome::Agree(weight)
                } else if of_kind(field.kind).next().is_some() {
                    Outcome::Disagree(weight)
                } else {
                    Outcome::Unknown
                }
            }
            Kind::Address => {
                let best = of_kind(Kind::Address)
                    .map(|other| word_overlap(value, other))
                    .fold(None, |best: Option<f64>, overlap| {
                        Some(best.map_or(overlap, |known| known.max(overlap)))
                    });
                match best {
                    Some(overlap) if overlap >= 0.6 => Outcome::Agree(3.0),
                    Some(overlap) if overlap < 0.2 => Outcome::Disagree(3.0),
                    Some(_) => Outcome::Unknown,
                    // No address to compare with: its postcode and district may still be kept
                    // in fields of their own.
                    None => match (pincode_in(value), of_kind(Kind::Pincode).next()) {
                        (Some(pincode), Some(other)) if pincode == other => Outcome::Agree(3.0),
                        (Some(_), Some(_)) => Outcome::Disagree(1.5),
                        _ => Outcome::Unknown,
                    },
                }
            }
            Kind::Gender => exact(Kind::Gender, 0.5, 2.0),
            // Values of no known kind (a vaccine, a plan, a password) agree only when equal, and
            // only their presence is evidence: which field holds them differs between sources.
            _ => {
                if candidate.iter().any(|(_, other)| *other == value) {
                    Outcome::Agree(0.5)
                } else {
                    Outcome::Unknown
                }
            }
        };
        match outcome {
            Outcome::Agree(weight) => {
                evidence.weight += weight;
                evidence.agreeing.push(position as u16);
                match field.kind {
                    Kind::Phone | Kind::Email | Kind::Pan | Kind::Passport | Kind::VoterId | Kind::DrivingLicence => {
                        identifier = true;
                    }
                    Kind::NationalId if weight > MASKED_ID_AGREE => identifier = true,
                    Kind::Name => name = true,
                    Kind::NationalId | Kind::DateOfBirth | Kind::BirthYear | Kind::Pincode | Kind::Address => {
                        corroborated = true;
                    }
                    _ => {}
                }
            }
            Outcome::Disagree(weight) => {
                evidence.weight -= weight;
                evidence.disagreeing.push(position as u16);
            }
            Outcome::Unknown => {}
        }
    }
    evidence.anchored = identifier || name && corroborated;
    let kinds = &suspect.kinds;
    if !kinds.is_empty() {
        let shared = kinds
            .iter()
            .filter(|kind| candidate.iter().any(|(other, _)| other == *kind))
            .count();
        evidence.mirror = shared as f64 / kinds.len() as f64;
    }
    evidence
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
            assert!(similarity >= NAME_AGREE, "{suspect} / {candidate}: {similarity}");
        }
        for (suspect, candidate) in [
            ("priya nair", "rahul sharma"),
            ("amit verma", "sunita gill"),
            ("प्रिया नायर", "rahul sharma"),
        ] {
            let similarity = name_similarity(&words(suspect), candidate);
            assert!(similarity < NAME_DISAGREE, "{suspect} / {candidate}: {similarity}");
        }
        assert!(contains_words("12 mg road, pune - 411001", "pune"));
        assert!(!contains_words("12 mg road, pune - 411001", "pun"));
    }
}
