//! A record's person name, put together from its name columns: one full name (`name`), or parts
//! in their own columns (`given_name` and `surname`, `first_name` and `last_name`), as forms
//! and registers of every country keep them. A name of someone else in the record (`father_name`,
//! `spouse`, `पिता का नाम`) is a relative's, never the person's.

/// What a name column holds, from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamePart {
    /// The whole name, or a column whose name says nothing more (`name`, `customer`).
    Full,
    Given,
    Middle,
    Family,
    /// Another person's name: a father's, mother's, spouse's, guardian's or nominee's.
    Relative,
}

/// Words of column names that name a relative. Devanagari words as registers write them
/// (`पिता` father, `माता` mother, `पति` husband, `पत्नी` wife, `अभिभावक` guardian).
const RELATIVE_WORDS: &[&str] = &[
    "father",
    "fathers",
    "mother",
    "mothers",
    "spouse",
    "husband",
    "husbands",
    "wife",
    "guardian",
    "nominee",
    "parent",
    "relative",
    "पिता",
    "माता",
    "पति",
    "पत्नी",
    "अभिभावक",
];
const GIVEN_WORDS: &[&str] = &[
    "first",
    "firstname",
    "fname",
    "given",
    "givenname",
    "forename",
    "forenames",
];
const MIDDLE_WORDS: &[&str] = &["middle", "middlename", "mname"];
const FAMILY_WORDS: &[&str] = &["last", "lastname", "lname", "surname", "family", "familyname"];

/// The part of a person's name a name column holds, from the column's name (any case, words
/// split at non-letters and camelCase: `givenName`, `LAST_NAME`, `Father's Name`, `S/O`).
pub fn name_part(column: &str) -> NamePart {
    let column = column.rsplit('.').next().unwrap_or(column);
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for character in column.chars() {
        if !character.is_alphanumeric() && !crate::ingest::normalize::is_indic_sign(character) {
            words.extend((!current.is_empty()).then(|| std::mem::take(&mut current)));
            previous_lower = false;
            continue;
        }
        if character.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = character.is_lowercase();
        current.extend(character.to_lowercase());
    }
    words.extend((!current.is_empty()).then_some(current));
    let has = |list: &[&str]| words.iter().any(|word| list.contains(&word.as_str()));
    // `S/O`, `W/O`, `D/O`, `C/O`: son, wife, daughter or care of.
    let abbreviated_relative = matches!(words.concat().as_str(), "so" | "wo" | "do" | "co");
    if has(RELATIVE_WORDS) || abbreviated_relative {
        NamePart::Relative
    } else if has(GIVEN_WORDS) {
        NamePart::Given
    } else if has(MIDDLE_WORDS) {
        NamePart::Middle
    } else if has(FAMILY_WORDS) {
        NamePart::Family
    } else {
        NamePart::Full
    }
}

/// The person's name of one record, built from its name fields in record order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PersonName<'a> {
    /// The first full name field, if any.
    full: Option<&'a str>,
    /// Given, middle and family parts, as met.
    given: Vec<&'a str>,
    middle: Vec<&'a str>,
    family: Vec<&'a str>,
}

impl<'a> PersonName<'a> {
    /// Adds one name field (normalized value) by its column name.
    pub fn add(&mut self, column: &str, value: &'a str) {
        self.add_part(name_part(column), value);
    }

    /// Adds one name field (normalized value) holding `part`.
    pub fn add_part(&mut self, part: NamePart, value: &'a str) {
        if value.is_empty() {
            return;
        }
        match part {
            NamePart::Full => {
                self.full.get_or_insert(value);
            }
            NamePart::Given => self.given.push(value),
            NamePart::Middle => self.middle.push(value),
            NamePart::Family => self.family.push(value),
            NamePart::Relative => {}
        }
    }

    /// Whether the name is put together from parts (given name, surname) rather than one field.
    pub fn from_parts(&self) -> bool {
        self.full.is_none() && !(self.given.is_empty() && self.family.is_empty() && self.middle.is_empty())
    }

    /// The name's words: the full name's, else the parts' in the order given, middle, family.
    pub fn words(&self) -> impl Iterator<Item = &'a str> + '_ {
        let parts: Vec<&'a str> = match self.full {
            Some(full) => vec![full],
            None => self
                .given
                .iter()
                .chain(&self.middle)
                .chain(&self.family)
                .copied()
                .collect(),
        };
        parts
            .into_iter()
            .flat_map(|part| part.split(' '))
            .filter(|word| !word.is_empty())
    }

    /// The family name's last word when the record keeps it apart; else the full name's last word.
    pub fn surname(&self) -> Option<&'a str> {
        let family = match self.full {
            Some(full) => full,
            None => self.family.last().copied()?,
        };
        family.split(' ').rfind(|word| !word.is_empty())
    }

    /// The name as one normalized string (words joined by spaces), empty when there is none.
    pub fn joined(&self) -> String {
        self.words().collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_columns_are_read_as_parts_of_one_name_or_a_relative() {
        for (column, part) in [
            ("name", NamePart::Full),
            ("Customer Name", NamePart::Full),
            ("given_name", NamePart::Given),
            ("firstName", NamePart::Given),
            ("FNAME", NamePart::Given),
            ("middle_name", NamePart::Middle),
            ("surname", NamePart::Family),
            ("LAST_NAME", NamePart::Family),
            ("family name", NamePart::Family),
            ("father_name", NamePart::Relative),
            ("Father's Name", NamePart::Relative),
            ("S/O", NamePart::Relative),
            ("पिता का नाम", NamePart::Relative),
            ("नाम", NamePart::Full),
        ] {
            assert_eq!(name_part(column), part, "{column}");
        }
        let mut name = PersonName::default();
        name.add("surname", "neumann");
        name.add("father_name", "karl neumann");
        name.add("given_name", "michaela");
        assert!(name.from_parts());
        assert_eq!(name.joined(), "michaela neumann");
        assert_eq!(name.surname(), Some("neumann"));
        let mut name = PersonName::default();
        name.add("name", "rahul kumar sharma");
        name.add("surname", "verma");
        assert_eq!(name.joined(), "rahul kumar sharma");
        assert_eq!(name.surname(), Some("sharma"));
        // Only a given name: there is no surname to block on.
        let mut name = PersonName::default();
        name.add("given_name", "elton");
        assert_eq!((name.joined().as_str(), name.surname()), ("elton", None));
    }
}
