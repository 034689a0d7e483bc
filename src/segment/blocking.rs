//! Blocking keys: extra hash-index entries that find candidate records for matching when a suspect
//! record has no identifier to look up (only a name, a date of birth, a postcode) or only a masked
//! national ID. Each key joins a name word's skeleton or the ID's last four digits with a date or a
//! place, so a key is selective (a few records) where a name alone would be shared by thousands.
//!
//! Keys of a record, built from its first name field, date of birth or birth year, postcode (its
//! own field, or six digits inside an address) and national ID:
//! `name+dob` (skeleton, date), `name+year+pin` (skeleton, year, postcode),
//! `id4+year` (last four, year), `id4+name` (last four, skeleton).
//! A name in an Indic script is romanized first ([`romanized`]), so that its keys are those of the
//! same name typed in Latin letters: `सुनीता शर्मा` and `Sunita Sharma` share theirs.
//! The same function builds the keys of a suspect record, so both sides always agree.

use crate::ingest::normalize::{name_skeleton, romanized};
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

/// The last four digits of a national ID, full or masked.
pub fn id_last_four(normalized: &str) -> Option<&str> {
    (normalized.len() == 12 && normalized.is_ascii())
        .then(|| &normalized[8..])
        .filter(|tail| tail.bytes().all(|byte| byte.is_ascii_digit()))
}

/// What blocking needs of a record, taken from its normalized fields.
#[derive(Debug, Default)]
pub struct BlockingFields<'a> {
    pub name: Option<(u32, &'a str)>,
    pub date_of_birth: Option<&'a str>,
    pub year: Option<&'a str>,
    pub pincode: Option<&'a str>,
    pub id_last_four: Option<(u32, &'a str)>,
}

impl<'a> BlockingFields<'a> {
    /// Picks the fields from (field id, kind, validity, normalized value) in record order.
    pub fn new(fields: impl Iterator<Item = (u32, Kind, Validity, &'a str)>) -> BlockingFields<'a> {
        let mut found = BlockingFields::default();
        for (field, kind, validity, value) in fields {
            if validity == Validity::Invalid || value.is_empty() {
                continue;
            }
            match kind {
                Kind::Name if found.name.is_none() => found.name = Some((field, value)),
                Kind::DateOfBirth if value.len() == 10 => {
                    found.date_of_birth.get_or_insert(value);
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
        let mut skeletons: Vec<String> = Vec::new();
        if let Some((_, name)) = self.name {
            let latin = romanized(name);
            let name = latin.as_deref().unwrap_or(name);
            let mut skeleton = String::new();
            for word in name.split(' ').filter(|word| word.chars().count() >= 2) {
                name_skeleton(word, &mut skeleton);
                if !skeleton.is_empty() && !skeletons.contains(&skeleton) && skeletons.len() < MAX_NAME_WORDS {
                    skeletons.push(skeleton.clone());
                }
            }
        }
        if let Some((name_field, _)) = self.name {
            for skeleton in &skeletons {
                if let Some(date) = self.date_of_birth {
                    out.push((key_fingerprint(key, "name+dob", &[skeleton, date]), name_field));
                }
                if let (Some(year), Some(pincode)) = (self.year, self.pincode) {
                    out.push((
                        key_fingerprint(key, "name+year+pin", &[skeleton, year, pincode]),
                        name_field,
                    ));
                }
            }
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
                .map(|(field, (kind, value))| (field as u32, *kind, Validity::Valid, *value)),
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
