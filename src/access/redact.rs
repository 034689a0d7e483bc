//! Redaction: what a role that may not see record contents gets instead of each value. One policy
//! for every response path (lookup, search, show, match, provenance, reports).

use crate::ingest::Kind;
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
        // +91 98XXXXX678: country code, operator digits, the last three.
        Kind::Phone => match value.strip_prefix("+91") {
            Some(national) if national.len() == 10 => format!("+91 {}", mask(national, 2, 3)),
            _ => mask(value, 3, 3),
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
        // Cut to the district: the last part of the address, without its postcode.
        Kind::Address => {
            let last = value.rsplit(',').next().unwrap_or("").trim();
            let district = pincode_in(last).map_or(last, |pincode| last.split(pincode).next().unwrap_or(""));
            district.trim().trim_end_matches(['-', ' ']).to_string()
        }
        Kind::Pincode => mask(value, 3, 0),
        Kind::DateOfBirth => value.chars().take(4).collect(),
        Kind::BirthYear | Kind::District | Kind::State | Kind::Gender => value.to_string(),
        Kind::Pan | Kind::Passport | Kind::VoterId | Kind::DrivingLicence => mask(value, 0, 3),
        Kind::Username => format!("{}***", value.chars().next().unwrap_or('*')),
        Kind::Ip => value
            .split('.')
            .next()
            .map_or_else(String::new, |first| format!("{first}.x.x.x")),
        Kind::Password | Kind::PasswordHash | Kind::Other => "[redacted]".to_string(),
    }
}

/// A record with every value redacted; raw values are replaced by the redacted normalized ones,
/// since a raw writing can carry what normalization would mask.
pub fn redact_record(record: &mut ShownRecord) {
    for field in &mut record.fields {
        field.normalized = redact(field.kind, &field.normalized);
        field.raw.clone_from(&field.normalized);
    }
}

/// A provenance report as a role that does not see record contents gets it: every value of the
/// example records, suspect's and source's, is replaced, and so is everything that tells how
/// well single fields agreed (examples' agreeing and disagreeing fields and scores, the mean
/// agreeing fields, the score histogram). With a report on one guessed record, those confirm
/// a redacted value field by field.
pub fn redact_report(report: &mut Report) {
    for example in &mut report.examples {
        for (_, value) in example.suspect.iter_mut().chain(example.source.iter_mut()) {
            *value = "[redacted]".to_string();
        }
        example.agreeing.clear();
        example.disagreeing.clear();
        example.score = 0.0;
    }
    for corpus in &mut report.corpora {
        corpus.agreeing_fields = 0.0;
    }
    report.score_histogram = [0; 10];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_redacted_as_the_policy_says() {
        assert_eq!(redact(Kind::Phone, "+919812345678"), "+91 98XXXXX678");
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
}
