//! Blocking keys: entries of a segment's blocking-key index that find candidate records for matching when a suspect
//! record has no identifier to look up (only a name, a date of birth, a postcode) or only a masked
//! or mistyped national ID. Each key joins a name word's skeleton, or the ID's last four digits,
//! with a date or a place, so a key is selective (a few records) where a name alone would be
//! shared by thousands.
//!
//! Several independent rules each make keys, and any one key finds a candidate (splink's OR'ed
//! blocking rules), so a record with one field mistyped, missing or swapped still reaches its
//! source through the rules that do not use that field:
//!
//! | rule | parts |
//! |---|---|
//! | `name+dob` | a name word's skeleton, the date of birth |
//! | `name+year+pin` | skeleton, birth year, postcode |
//! | `name+pin` | skeleton, postcode |
//! | `name+place` | skeleton, locality (a suburb, a village: not a district, whose first names run to thousands) |
//! | `dob+pin` | date of birth, postcode: no name at all |
//! | `surname+street+…` | the surname's skeleton, street number, and the postcode, the locality or the street's name |
//! | `id4+year`, `id4+name` | the national ID's last four digits, with the year or a skeleton |
//!
//! Every word of the person's name (given name and surname, in their own columns or one) makes
//! its own keys, so a typo in one word leaves the others'; skeletons drop vowels and fold
//! spellings (`laxmi`, `lakshmi`), and a name in an Indic script is romanized first
//! ([`romanized`]), so `सुनीता शर्मा` and `Sunita Sharma` share their keys. The same function
//! builds the keys of a suspect record, so both sides always agree. A key that very many records
//! share (a common name in a large district) finds too many to be worth scoring: the matcher
//! skips keys that find more than a cap (see `query::match`).

use crate::ingest::normalize::{is_indic_sign, name_skeleton, romanized};
use crate::ingest::person::{NamePart, PersonName};
use crate::ingest::{Kind, Validity};
use std::hash::Hasher;

/// Name words used per record: a name rarely has more, and each costs index entries.
const MAX_NAME_WORDS: usize = 4;

/// A keyed fingerprint of a blocking key. Labels cannot collide with identifier fingerprints:
/// those hash a kind name, these a label with `+` in it.
fn key_fingerprint(key: &[u8; 16], label: &str, parts: &[&str]) -> u64 {
    let mut hasher = siphasher::sip::SipHasher13::new_with_key(key);
    hasher.write(label.as_bytes());
    for part in parts {
        hasher.write_u8(0xff);
        hasher.write(part.as_bytes());
    }
    hasher.finish()
}

/// The first six-digit postcode inside free text (`..., Pune - 411023`).
pub fn pincode_in(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        if !bytes[start].is_ascii_digit() {
            start += 1;
            continue;
        }
        let end = start + bytes[start..].iter().take_while(|byte| byte.is_ascii_digit()).count();
        if end - start == 6 && bytes[start] != b'0' {
            return Some(&text[start..end]);
        }
        start = end;
    }
    None
}

/// The last four digits of a national ID of seven characters or more, full or masked.
pub fn id_last_four(normalized: &str) -> Option<&str> {
    (normalized.len() >= 7 && normalized.is_ascii())
        .then(|| &normalized[normalized.len() - 4..])
        .filter(|tail| tail.bytes().all(|byte| byte.is_ascii_digit()))
}

/// What blocking needs of a record, taken from its normalized fields.
#[derive(Debug, Default)]
pub struct BlockingFields<'a> {
    /// The field the name keys are said to come from (the first name field of the person).
    pub name_field: Option<u32>,
    pub name: PersonName<'a>,
    /// The date of birth and the field it came from.
    pub date_of_birth: Option<(u32, &'a str)>,
    pub year: Option<&'a str>,
    pub pincode: Option<&'a str>,
    /// A locality. Not a district: a name word and a district are shared by thousands of
    /// records at scale, past what matching scores, so their keys would only fill the index.
    pub place: Option<&'a str>,
    pub street_number: Option<&'a str>,
    /// The first word of the address of three letters or more: a street's name.
    pub road: Option<&'a str>,
    pub id_last_four: Option<(u32, &'a str)>,
}

impl<'a> BlockingFields<'a> {
    /// Picks the fields from (field id, the part of a name its column holds ([`crate::ingest::person::name_part`], worked
    /// out once per column, not per record), kind, validity, normalized value) in record order.
    pub fn new(fields: impl Iterator<Item = (u32, NamePart, Kind, Validity, &'a str)>) -> BlockingFields<'a> {
        let mut found = BlockingFields::default();
        for (field, part, kind, validity, value) in fields {
            if validity == Validity::Invalid || value.is_empty() {
                continue;
            }
            match kind {
                Kind::Name => {
                    if part != NamePart::Relative {
                        found.name_field.get_or_insert(field);
                    }
                    found.name.add_part(part, value);
                }
                Kind::DateOfBirth if value.len() == 10 && value.is_ascii() => {
                    found.date_of_birth.get_or_insert((field, value));
                    found.year.get_or_insert(&value[..4]);
                }
                Kind::DateOfBirth | Kind::BirthYear if value.len() == 4 => {
                    found.year.get_or_insert(value);
                }
                Kind::Pincode => {
                    found.pincode.get_or_insert(value);
                }
                Kind::Address => {
                    if let Some(pincode) = pincode_in(value) {
                        found.pincode.get_or_insert(pincode);
                    }
                    if found.road.is_none() {
                        found.road = value
                            .split(|c: char| !c.is_alphabetic() && !is_indic_sign(c))
                            .find(|word| word.chars().count() >= 3);
                    }
                }
                Kind::Locality => {
                    found.place.get_or_insert(value);
                }
                Kind::StreetNumber => {
                    found.street_number.get_or_insert(value);
                }
                Kind::NationalId => {
                    if let Some(tail) = id_last_four(value) {
                        found.id_last_four.get_or_insert((field, tail));
                    }
                }
                _ => {}
            }
        }
        found
    }

    /// Appends the record's blocking keys as (fingerprint, field id the key came from).
    pub fn keys(&self, key: &[u8; 16], out: &mut Vec<(u64, u32)>) {
        let skeleton_of = |word: &str| {
            let latin = romanized(word);
            let mut skeleton = String::new();
            name_skeleton(latin.as_deref().unwrap_or(word), &mut skeleton);
            skeleton
        };
        let mut skeletons: Vec<String> = Vec::new();
        for word in self.name.words().filter(|word| word.chars().count() >= 2) {
            let skeleton = skeleton_of(word);
            if !skeleton.is_empty() && !skeletons.contains(&skeleton) && skeletons.len() < MAX_NAME_WORDS {
                skeletons.push(skeleton);
            }
        }
        if let Some(name_field) = self.name_field {
            for skeleton in &skeletons {
                let mut push = |label: &str, parts: &[&str]| out.push((key_fingerprint(key, label, parts), name_field));
                if let Some((_, date)) = self.date_of_birth {
                    push("name+dob", &[skeleton, date]);
                }
                if let Some(pincode) = self.pincode {
                    if let Some(year) = self.year {
                        push("name+year+pin", &[skeleton, year, pincode]);
                    }
                    push("name+pin", &[skeleton, pincode]);
                }
                if let Some(place) = self.place {
                    push("name+place", &[skeleton, place]);
                }
            }
            let surname = self.name.surname().filter(|word| word.chars().count() >= 2);
            if let (Some(surname), Some(street)) = (surname, self.street_number) {
                let skeleton = skeleton_of(surname);
                if let Some(pincode) = self.pincode {
                    out.push((
                        key_fingerprint(key, "surname+street+pin", &[&skeleton, street, pincode]),
                        name_field,
                    ));
                }
                if let Some(place) = self.place {
                    out.push((
                        key_fingerprint(key, "surname+street+place", &[&skeleton, street, place]),
                        name_field,
                    ));
                }
                if let Some(road) = self.road {
                    let road = skeleton_of(road);
                    out.push((
                        key_fingerprint(key, "surname+street+road", &[&skeleton, street, &road]),
                        name_field,
                    ));
                }
            }
        }
        if let (Some((date_field, date)), Some(pincode)) = (self.date_of_birth, self.pincode) {
            out.push((key_fingerprint(key, "dob+pin", &[date, pincode]), date_field));
        }
        if let Some((id_field, tail)) = self.id_last_four {
            if let Some(year) = self.year {
                out.push((key_fingerprint(key, "id4+year", &[tail, year]), id_field));
            }
            for skeleton in &skeletons {
                out.push((key_fingerprint(key, "id4+name", &[tail, skeleton]), id_field));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(fields: &[(Kind, &str)]) -> Vec<u64> {
        let blocking = BlockingFields::new(
            fields
                .iter()
                .enumerate()
                .map(|(field, (kind, value))| (field as u32, NamePart::Full, *kind, Validity::Valid, *value)),
        );
        let mut out = Vec::new();
        blocking.keys(&[7; 16], &mut out);
        out.into_iter().map(|(fingerprint, _)| fingerprint).collect()
    }

    #[test]
    fn records_of_one_person_share_keys_across_writings() {
        let corpus = keys(&[
            (Kind::Name, "laxmi devi"),
            (Kind::DateOfBirth, "1985-03-12"),
            (Kind::Address, "12 mg road, pune - 411023"),
            (Kind::NationalId, "234567890123"),
        ]);
        // name + dob only, another romanization, words swapped
        let suspect = keys(&[(Kind::Name, "devi lakshmi"), (Kind::DateOfBirth, "1985-03-12")]);
        assert!(suspect.iter().all(|key| corpus.contains(key)) && !suspect.is_empty());
        // name + year + postcode
        let suspect = keys(&[
            (Kind::Name, "lakshmi"),
            (Kind::BirthYear, "1985"),
            (Kind::Pincode, "411023"),
        ]);
        assert!(suspect.iter().any(|key| corpus.contains(key)));
        // masked ID + year
        let suspect = keys(&[(Kind::NationalId, "XXXXXXXX0123"), (Kind::BirthYear, "1985")]);
        assert!(suspect.iter().any(|key| corpus.contains(key)));
        // another year shares nothing
        let other = keys(&[(Kind::Name, "laxmi devi"), (Kind::DateOfBirth, "1986-03-12")]);
        assert!(other.iter().all(|key| !corpus.contains(key)));
        assert!(keys(&[(Kind::Name, "laxmi devi")]).is_empty());
        // one name in two scripts, and the vowel its romanizations differ by
        let devanagari = keys(&[(Kind::Name, "राहुल वर्मा"), (Kind::DateOfBirth, "1990-01-02")]);
        let latin = keys(&[(Kind::Name, "rahul verma"), (Kind::DateOfBirth, "1990-01-02")]);
        assert_eq!(devanagari, latin);
        let other = keys(&[(Kind::Name, "राहुल शर्मा"), (Kind::DateOfBirth, "1990-01-02")]);
        assert!(other.iter().any(|key| !latin.contains(key)));
        assert_eq!(pincode_in("house 4, 0110234 and 560001"), Some("560001"));
    }
}
