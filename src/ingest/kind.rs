//! Identifier kinds: the types of value leakdex recognizes in a record.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The type of a field's value, decided from its column name, its values, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Phone,
    Email,
    /// A national identity number: an Aadhaar number (12 digits, Verhoeff check digit) by its
    /// shape; another scheme's (a social security, national insurance or citizen number) when
    /// its column is named for one.
    NationalId,
    Pan,
    Passport,
    VoterId,
    DrivingLicence,
    Name,
    DateOfBirth,
    BirthYear,
    Address,
    District,
    /// A place smaller than a district: a suburb, locality, neighbourhood or village.
    Locality,
    /// The house or street number of an address, in its own column.
    StreetNumber,
    State,
    /// A postal code: an Indian PIN (six digits) by its shape; another country's code (`2135`,
    /// `SW1A 1AA`, `94103-1234`) when its column is named for one.
    Pincode,
    Gender,
    Username,
    Password,
    PasswordHash,
    Ip,
    Other,
}

impl Kind {
    /// Every kind, in the order used to break ties (most specific first).
    pub const ALL: [Kind; 22] = [
        Kind::Email,
        Kind::NationalId,
        Kind::Phone,
        Kind::Pan,
        Kind::VoterId,
        Kind::Passport,
        Kind::DrivingLicence,
        Kind::PasswordHash,
        Kind::Ip,
        Kind::DateOfBirth,
        Kind::Pincode,
        Kind::BirthYear,
        Kind::Gender,
        Kind::Name,
        Kind::Address,
        Kind::District,
        Kind::Locality,
        Kind::State,
        Kind::StreetNumber,
        Kind::Username,
        Kind::Password,
        Kind::Other,
    ];

    /// The snake_case name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::NationalId => "national_id",
            Kind::Pan => "pan",
            Kind::Passport => "passport",
            Kind::VoterId => "voter_id",
            Kind::DrivingLicence => "driving_licence",
            Kind::Name => "name",
            Kind::DateOfBirth => "date_of_birth",
            Kind::BirthYear => "birth_year",
            Kind::Address => "address",
            Kind::District => "district",
            Kind::Locality => "locality",
            Kind::StreetNumber => "street_number",
            Kind::State => "state",
            Kind::Pincode => "pincode",
            Kind::Gender => "gender",
            Kind::Username => "username",
            Kind::Password => "password",
            Kind::PasswordHash => "password_hash",
            Kind::Ip => "ip",
            Kind::Other => "other",
        }
    }

    /// Kinds whose values have a shape that a value check can confirm or refute.
    pub fn has_shape(self) -> bool {
        matches!(
            self,
            Kind::Phone
                | Kind::Email
                | Kind::NationalId
                | Kind::Pan
                | Kind::Passport
                | Kind::VoterId
                | Kind::DrivingLicence
                | Kind::DateOfBirth
                | Kind::BirthYear
                | Kind::Pincode
                | Kind::Ip
                | Kind::PasswordHash
        )
    }

    /// Position in [`Kind::ALL`], used for bit sets.
    pub(crate) fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = Kind::ALL.iter().map(|kind| kind.as_str()).collect();
            format!("unknown kind {s:?} (expected one of {})", names.join(", "))
        })
    }
}

/// Whether a normalized value is a complete, well-formed identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    Valid,
    /// Recognized but incomplete, e.g. a masked Aadhaar showing only its last four digits.
    Partial,
    /// Kept as written (trimmed), but it does not pass the kind's checks.
    Invalid,
}

impl Validity {
    /// The one-byte code stored in segments.
    pub fn code(self) -> u8 {
        match self {
            Validity::Valid => 0,
            Validity::Partial => 1,
            Validity::Invalid => 2,
        }
    }

    pub fn from_code(code: u8) -> Validity {
        match code {
            0 => Validity::Valid,
            1 => Validity::Partial,
            _ => Validity::Invalid,
        }
    }

    /// The snake_case name used in JSON and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Partial => "partial",
            Validity::Invalid => "invalid",
        }
    }

    /// The validity named by [`Validity::as_str`].
    pub fn from_name(name: &str) -> Option<Validity> {
        [Validity::Valid, Validity::Partial, Validity::Invalid]
            .into_iter()
            .find(|validity| validity.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert!("mobile".parse::<Kind>().is_err());
    }

    #[test]
    fn bits_are_distinct() {
        let all = Kind::ALL.iter().fold(0u32, |acc, kind| {
            assert_eq!(acc & kind.bit(), 0);
            acc | kind.bit()
        });
        assert_eq!(all.count_ones() as usize, Kind::ALL.len());
    }
}
