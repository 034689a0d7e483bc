//! Which identifier kind a column holds: from its name (synonyms) and from a sample of its values
//! (majority vote), with a confidence in `[0, 1]`.

use crate::ingest::kind::Kind;
use crate::ingest::normalize::{
    Region, gender_code, has_indic_letters, is_aadhaar, is_driving_licence, is_email, is_indic_sign, is_pan,
    is_passport, is_password_hash, is_pincode, is_voter_id, looks_like_phone, masked_aadhaar_tail, parse_date,
    parse_year,
};
use serde::Serialize;

/// A column's kind and how sure we are of it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ColumnClass {
    pub kind: Kind,
    pub confidence: f32,
    /// The column holds identifiers of several kinds (an `id_number` beside an `id_type`): each
    /// value is typed by its own shape, or by the row's type column, and `kind` is `other`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub by_value: bool,
}

/// Kinds that identify a person on their own: what a column of mixed identifiers holds, and
/// what is taken out of labelled and free-text values.
pub const IDENTIFYING: [Kind; 7] = [
    Kind::Email,
    Kind::NationalId,
    Kind::Phone,
    Kind::Pan,
    Kind::VoterId,
    Kind::Passport,
    Kind::DrivingLicence,
];

/// Twelve digits (spaces, hyphens and dots between them allowed) not starting with 0 or 1: an
/// Aadhaar number by its shape, read as one even when its check digit fails (flagged invalid by
/// normalization). Most values (phones) are ruled out without copying.
pub fn aadhaar_shaped(value: &str) -> bool {
    let mut digits = value.bytes().filter(u8::is_ascii_digit);
    value
        .bytes()
        .all(|byte| byte.is_ascii_digit() || b" -.".contains(&byte))
        && value.bytes().filter(u8::is_ascii_digit).count() == 12
        && digits.next().is_some_and(|first| first >= b'2')
}

/// The identifying kind of one value by its shape alone, from its [`value_candidates`]: twelve
/// digits `91…` that are a phone and pass Aadhaar's check digit are taken for the phone, which
/// an Aadhaar lookup of the same digits asks for too (issue 11, kind 10); an Aadhaar-shaped
/// value with a bad check digit is still an Aadhaar number, as a lookup reads it.
fn identifier_of(candidates: u32, value: &str) -> Option<Kind> {
    if candidates & Kind::Phone.bit() != 0 {
        return Some(Kind::Phone);
    }
    IDENTIFYING
        .into_iter()
        .find(|kind| candidates & kind.bit() != 0)
        .or_else(|| aadhaar_shaped(&crate::ingest::normalize::fold_digits(value)).then_some(Kind::NationalId))
}

/// The kind of one value of a column of mixed identifiers: the kind its row's type cell names
/// when the value can be one (or has no identifier's shape at all: flagged invalid by
/// normalization), else its own shape's, else `other`.
pub fn mixed_identifier_kind(raw: &str, typed: Option<Kind>, region: Region) -> Kind {
    let candidates = value_candidates(raw, region);
    match (typed, identifier_of(candidates, raw.trim())) {
        (Some(typed), _) if candidates & typed.bit() != 0 => typed,
        (_, Some(own)) => own,
        (Some(typed), None) => typed,
        (None, None) => Kind::Other,
    }
}

/// The identifying kind a type cell names (`AADHAAR`, `Voter ID`, `pan card`, `Passport`), by
/// the same synonyms as column names.
pub fn named_identifier(cell: &str) -> Option<Kind> {
    if cell.len() > 40 || cell.bytes().any(|byte| byte.is_ascii_digit()) {
        return None;
    }
    kind_from_header(cell).filter(|kind| IDENTIFYING.contains(kind))
}

/// Synonyms of column names, matched against the whole normalized name, then its words.
const SYNONYMS: &[(Kind, &[&str])] = &[
    (
        Kind::PasswordHash,
        &[
            "password_hash",
            "passwordhash",
            "pass_hash",
            "pwd_hash",
            "hash",
            "md5",
            "sha1",
            "sha256",
            "bcrypt",
            "hashed_password",
            "encrypted_password",
        ],
    ),
    (
        Kind::Password,
        &["password", "pass", "passwd", "pwd", "passcode", "secret"],
    ),
    (
        Kind::Email,
        &[
            "email",
            "e_mail",
            "mail",
            "email_id",
            "emailid",
            "email_address",
            "emailaddress",
            "mail_id",
        ],
    ),
    (
        Kind::Phone,
        &[
            "phone",
            "mobile",
            "mob",
            "msisdn",
            "contact",
            "contact_no",
            "contactno",
            "ph",
            "ph_no",
            "phno",
            "phone_no",
            "phoneno",
            "phone_number",
            "phonenumber",
            "mobile_no",
            "mobileno",
            "mobile_number",
            "mobilenumber",
            "cell",
            "cellphone",
            "telephone",
            "tel",
            "whatsapp",
            "landline",
            "alt_mobile",
        ],
    ),
    (
        Kind::NationalId,
        &[
            "aadhaar",
            "aadhar",
            "adhaar",
            "adhar",
            "aadhaar_no",
            "aadhar_no",
            "aadhaar_number",
            "aadhar_number",
            "uid",
            "uidai",
            "uid_no",
            "aadhaarno",
            "aadharno",
            // Other countries' schemes: read by their column name (see `normalize_national_id`).
            "national_id",
            "nationalid",
            "national_id_no",
            "national_id_number",
            "ssn",
            "soc_sec",
            "soc_sec_id",
            "soc_sec_no",
            "social_security",
            "social_security_no",
            "social_security_number",
            "national_insurance",
            "national_insurance_number",
            "ni_number",
            "nino",
            "citizen_id",
            "citizen_number",
            "personal_id",
            "personal_number",
            "personnummer",
            "bsn",
            "tfn",
            "tax_file_number",
            "id_card",
            "id_card_number",
        ],
    ),
    (
        Kind::Pan,
        &["pan", "pan_no", "panno", "pan_number", "pancard", "pan_card"],
    ),
    (
        Kind::Passport,
        &["passport", "passport_no", "passportno", "passport_number"],
    ),
    (
        Kind::VoterId,
        &[
            "voter",
            "voter_id",
            "voterid",
            "epic",
            "epic_no",
            "epic_number",
            "voter_card",
        ],
    ),
    (
        Kind::DrivingLicence,
        &[
            "dl",
            "dl_no",
            "dlno",
            "driving_licence",
            "driving_license",
            "licence",
            "license",
            "licence_no",
            "license_no",
        ],
    ),
    (
        Kind::DateOfBirth,
        &[
            "dob",
            "date_of_birth",
            "dateofbirth",
            "birth_date",
            "birthdate",
            "birthday",
            "d_o_b",
        ],
    ),
    (
        Kind::BirthYear,
        &["birth_year", "birthyear", "yob", "year_of_birth", "yearofbirth"],
    ),
    (
        Kind::Pincode,
        &[
            "pincode",
            "pin",
            "pin_code",
            "zip",
            "zipcode",
            "zip_code",
            "postal_code",
            "postalcode",
            "postcode",
            "post_code",
        ],
    ),
    (Kind::Gender, &["gender", "sex"]),
    (
        Kind::District,
        &["district", "dist", "city", "town", "taluka", "tehsil"],
    ),
    (
        Kind::Locality,
        &[
            "locality",
            "suburb",
            "neighbourhood",
            "neighborhood",
            "village",
            "colony",
            "mohalla",
            "area",
        ],
    ),
    (
        Kind::StreetNumber,
        &[
            "street_number",
            "streetnumber",
            "street_no",
            "street_num",
            "house_number",
            "housenumber",
            "house_no",
            "houseno",
            "door_no",
            "doorno",
            "building_number",
            "building_no",
            "plot_no",
        ],
    ),
    (Kind::State, &["state", "circle", "province", "state_name"]),
    (
        Kind::Address,
        &[
            "address",
            "addr",
            "address1",
            "address2",
            "address_line",
            "line1",
            "line2",
            "street",
            "house",
            "landmark",
            "residence",
        ],
    ),
    (
        Kind::Username,
        &[
            "username",
            "user_name",
            "login",
            "login_id",
            "handle",
            "screen_name",
            "nick",
            "nickname",
        ],
    ),
    (
        Kind::Ip,
        &[
            "ip",
            "ip_address",
            "ipaddress",
            "ipaddr",
            "last_ip",
            "reg_ip",
            "registration_ip",
            "signup_ip",
            "client_ip",
        ],
    ),
    (
        Kind::Name,
        &[
            "name",
            "full_name",
            "fullname",
            "first_name",
            "firstname",
            "last_name",
            "lastname",
            "surname",
            "given_name",
            "givenname",
            "forename",
            "forenames",
            "family_name",
            "familyname",
            "fname",
            "lname",
            "middle_name",
            "customer_name",
            "subscriber_name",
            "beneficiary_name",
            "father_name",
            "fathers_name",
            "mother_name",
            "spouse_name",
            "holder_name",
            "display_name",
            "applicant_name",
            "patient_name",
        ],
    ),
    (
        Kind::Other,
        &[
            "id",
            "sr",
            "sr_no",
            "serial",
            "s_no",
            "sno",
            "date",
            "time",
            "at",
            "timestamp",
            "ts",
            "created",
            "updated",
            "modified",
            "on",
            // Free text: its words are no name, and identifiers inside it are found one by one.
            "remarks",
            "remark",
            "comment",
            "comments",
            "note",
            "notes",
            "description",
            "details",
            "message",
        ],
    ),
];

/// Column names in Devanagari, as Hindi and Marathi registers and government forms label them
/// (`पिता का नाम`, `मोबाइल नंबर`, `जन्म तिथि`, `जिल्हा`). Two-word phrases are tried before single
/// words, and words from the end, since the head noun comes last in both languages.
const DEVANAGARI_SYNONYMS: &[(Kind, &[&str])] = &[
    (Kind::BirthYear, &["जन्म वर्ष", "जन्मवर्ष"]),
    (
        Kind::DateOfBirth,
        &["जन्म तिथि", "जन्मतिथि", "जन्म दिनांक", "जन्मदिनांक", "जन्म तारीख", "जन्मतारीख"],
    ),
    (Kind::Pincode, &["पिन कोड", "पिनकोड", "पिन"]),
    (Kind::NationalId, &["आधार"]),
    (Kind::VoterId, &["मतदाता", "वोटर"]),
    (
        Kind::Phone,
        &["मोबाइल", "मोबाईल", "फोन", "फ़ोन", "दूरभाष", "संपर्क", "भ्रमणध्वनी"],
    ),
    (Kind::Email, &["ईमेल", "ई मेल"]),
    (Kind::Gender, &["लिंग"]),
    (Kind::District, &["जिला", "ज़िला", "जिल्हा", "शहर", "तहसील", "तालुका"]),
    (Kind::State, &["राज्य", "प्रदेश"]),
    (Kind::Locality, &["गांव", "गाँव", "ग्राम", "मोहल्ला"]),
    (Kind::Address, &["पता", "पत्ता"]),
    (Kind::Name, &["नाम", "नाव"]),
    (
        Kind::Other,
        &["क्रम", "क्रमांक", "दिनांक", "तिथि", "तारीख", "टिप्पणी", "विवरण"],
    ),
];

/// The kind a column name in Devanagari suggests (see [`DEVANAGARI_SYNONYMS`]).
fn kind_from_devanagari_header(name: &str) -> Option<Kind> {
    let words: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
        .filter(|word| has_indic_letters(word))
        .collect();
    let find = |phrase: &str| {
        DEVANAGARI_SYNONYMS
            .iter()
            .find(|(_, phrases)| phrases.contains(&phrase))
            .map(|(kind, _)| *kind)
    };
    words
        .windows(2)
        .rev()
        .find_map(|pair| find(&pair.join(" ")))
        .or_else(|| words.iter().rev().find_map(|word| find(word)))
}

/// The kind a column name suggests, if any. Dotted JSON paths are judged by their last part.
/// Names in Devanagari are read too, and a bilingual one (`नाम / Name`) by either half.
pub fn kind_from_header(name: &str) -> Option<Kind> {
    kind_from_latin_header(name).or_else(|| kind_from_devanagari_header(name))
}

fn kind_from_latin_header(name: &str) -> Option<Kind> {
    // "Name, as on card", "Mobile (primary)", "Phone: home": the label is what comes before its
    // qualifier.
    if let Some((head, _)) = name.split_once([',', '(', ':'])
        && !head.trim().is_empty()
        && let Some(kind) = kind_from_header(head).filter(|kind| *kind != Kind::Other)
    {
        return Some(kind);
    }
    let last = name.rsplit('.').next().unwrap_or(name);
    let mut normalized = String::with_capacity(last.len());
    for c in last.chars() {
        if c.is_ascii_alphanumeric() {
            normalized.push(c.to_ascii_lowercase());
        } else if !normalized.is_empty() && !normalized.ends_with('_') {
            normalized.push('_');
        }
    }
    let normalized = normalized.trim_end_matches('_');
    if normalized.is_empty() {
        return None;
    }
    let find = |word: &str| {
        SYNONYMS
            .iter()
            .find(|(_, words)| words.contains(&word))
            .map(|(kind, _)| *kind)
    };
    if let Some(kind) = find(normalized) {
        return Some(kind);
    }
    // camelCase: split before inner capitals too.
    let words: Vec<String> = split_words(last);
    // Two-word phrases first ("mobile_no", "birth_date"), from the end: the head noun is last.
    for pair in words.windows(2).rev() {
        if let Some(kind) = find(&format!("{}_{}", pair[0], pair[1])) {
            return Some(kind);
        }
    }
    // Plurals: "emails", "phones", "addresses".
    words.iter().rev().find_map(|word| {
        find(word)
            .or_else(|| word.strip_suffix("es").and_then(find))
            .or_else(|| word.strip_suffix('s').and_then(find))
    })
}

fn split_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The set of kinds a single value could be, as a bit set over [`Kind::bit`].
pub fn value_candidates(raw: &str, region: Region) -> u32 {
    let folded = crate::ingest::normalize::fold_digits(raw);
    let value = crate::ingest::normalize::strip_zero_fraction(&folded).trim();
    if value.is_empty() {
        return 0;
    }
    let mut kinds = 0u32;
    // The check is the same in either case: no lower-cased copy.
    if value.contains('@') && is_email(value) {
        return Kind::Email.bit();
    }
    let compact: String = value
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '\u{a0}'))
        .collect();
    if masked_aadhaar_tail(&compact).is_some() {
        return Kind::NationalId.bit();
    }
    if is_aadhaar(&compact) {
        kinds |= Kind::NationalId.bit();
    }
    if looks_like_phone(value, region) {
        kinds |= Kind::Phone.bit();
    }
    if is_pincode(&compact) && compact.len() == value.len() {
        kinds |= Kind::Pincode.bit();
    }
    if parse_year(value).is_some() {
        kinds |= Kind::BirthYear.bit();
    }
    let upper = compact.to_ascii_uppercase();
    if is_pan(&upper) {
        kinds |= Kind::Pan.bit();
    }
    if is_voter_id(&upper) {
        kinds |= Kind::VoterId.bit();
    }
    if is_passport(&upper) {
        kinds |= Kind::Passport.bit();
    }
    if is_driving_licence(&upper.replace('/', "")) {
        kinds |= Kind::DrivingLicence.bit();
    }
    if is_password_hash(value) {
        kinds |= Kind::PasswordHash.bit();
    }
    if value.parse::<std::net::IpAddr>().is_ok() {
        kinds |= Kind::Ip.bit();
    }
    // A date with a time of day is when something happened (`2023-06-12 10:15:30`), not a
    // birth.
    let timed = value.contains(':') && value.bytes().filter(u8::is_ascii_digit).count() > 8;
    if !timed && parse_date(value).is_some() {
        kinds |= Kind::DateOfBirth.bit();
    }
    if gender_code(value).is_some() {
        kinds |= Kind::Gender.bit();
    }
    if kinds == 0 && looks_like_name(value) {
        kinds |= Kind::Name.bit();
    }
    kinds
}

/// Two to four words of letters (with initials and apostrophes), any script. A single word is
/// too weak a sign: product names, statuses and cities look the same.
fn looks_like_name(value: &str) -> bool {
    let words: Vec<&str> = value.split_whitespace().collect();
    (2..=4).contains(&words.len())
        && value.chars().count() <= 60
        && words
            .iter()
            // "Sharma, Rohit": a surname first, with its comma.
            .all(|word| {
                word.trim_end_matches(',')
                    .chars()
                    .all(|c| c.is_alphabetic() || c == '.' || c == '\'' || is_indic_sign(c))
            })
        && words
            .iter()
            .filter(|word| word.chars().filter(|c| c.is_alphabetic()).count() >= 2)
            .count()
            >= 2
}

/// The single most likely kind of one value (used for free text, combo lists and JSON paths
/// seen after the sample).
pub fn classify_value(raw: &str, region: Region) -> Kind {
    best_of(value_candidates(raw, region)).unwrap_or(Kind::Other)
}

fn best_of(candidates: u32) -> Option<Kind> {
    Kind::ALL.into_iter().find(|kind| candidates & kind.bit() != 0)
}

/// Whether an `other` value is worth searching for identifiers inside it: a label (a word of
/// two or more letters standing apart: `AADHAAR:`, `Ph`, `Voter ID -`) and the digits of an
/// identifier (seven or more; or a PAN's five letters then digits; or a masked Aadhaar's four
/// `X`s), or an `@`. Strict, so that the patterns run on few values: order numbers
/// (`od100000500`), timestamps and SKUs (`sku-8003`) are passed over. Judged on a column's
/// sample first: only a column where some sampled value passes is searched value by value.
pub fn may_hold_identifiers(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < 6 {
        return false;
    }
    if memchr::memchr(b'@', bytes).is_some() {
        return true;
    }
    // Most values are let go here: too few digits for any identifier.
    if bytes.iter().filter(|byte| byte.is_ascii_digit()).count() < 4 {
        return false;
    }
    let (mut digits, mut label, mut pan, mut masked) = (0, false, false, false);
    for run in bytes.split(|byte| !byte.is_ascii_alphanumeric()) {
        let letters = run.iter().take_while(|byte| byte.is_ascii_alphabetic()).count();
        label |= letters >= 2 && letters == run.len();
        pan |= letters >= 5 && run.get(letters).is_some_and(u8::is_ascii_digit);
        masked |= run.len() >= 4 && run.iter().all(|&byte| byte == b'X' || byte == b'x');
        digits += run.iter().filter(|byte| byte.is_ascii_digit()).count();
    }
    label && (digits >= 7 || pan || (masked && digits >= 4))
}

/// Words of column names that hold free text: its other values are searched for labelled
/// identifiers (see [`Vote::searched`]); the first nine are also `other` synonyms above.
const FREE_TEXT_NAMES: &[&str] = &[
    "remark",
    "remarks",
    "comment",
    "comments",
    "note",
    "notes",
    "description",
    "details",
    "message",
    "document",
    "documents",
    "doc",
    "proof",
    "kyc",
    "info",
];

/// Distinct sampled values a column needs before its values may overrule its name: a sample of
/// placeholders (`0`, `NA`, `true`/`false`) says nothing of what comes after it.
const DISTINCT_NEEDED: usize = 5;

/// Share of an unnamed column's values that must have a kind's shape for the column to be read
/// as that kind.
const VOTED_SHARE_NEEDED: f32 = 0.3;

/// Values of a column judged for naming identifier kinds (a type column).
const NAMING_SAMPLE: u32 = 16;

/// Counts of candidate kinds over a column's sample of values.
#[derive(Clone, Debug, Default)]
pub struct Vote {
    counts: [u32; Kind::ALL.len()],
    /// Values by the identifying kind of their shape.
    identified: [u32; Kind::ALL.len()],
    /// Values that name an identifying kind (`AADHAAR`, `Voter ID`): a type column.
    naming: u32,
    /// Values that may hold labelled identifiers ([`may_hold_identifiers`]).
    labelled: u32,
    /// Values of words (two or more of two or more letters): free text.
    prose: u32,
    /// Values that look like an identifier that failed its check: an `@`, seven or more digits,
    /// or letters and digits mixed. A column named for an identifier with none of these holds
    /// something else (a `uid` column of row numbers).
    identifier_like: u32,
    /// The first few distinct values (up to [`DISTINCT_NEEDED`]): placeholders (`0`, `NA`) are few.
    distinct: Vec<String>,
    values: u32,
}

impl Vote {
    pub fn add(&mut self, raw: &str, region: Region) {
        let candidates = value_candidates(raw, region);
        if raw.trim().is_empty() {
            return;
        }
        self.values += 1;
        for kind in Kind::ALL {
            if candidates & kind.bit() != 0 {
                self.counts[kind as usize] += 1;
            }
        }
        if let Some(kind) = identifier_of(candidates, raw.trim()) {
            self.identified[kind as usize] += 1;
        }
        // A type column shows itself in its first values; names are not looked up in the
        // synonym table for every sampled value of every column.
        if self.values <= NAMING_SAMPLE && named_identifier(raw.trim()).is_some() {
            self.naming += 1;
        }
        if may_hold_identifiers(raw) {
            self.labelled += 1;
        }
        let words = raw
            .split_whitespace()
            .filter(|word| word.chars().filter(|c| c.is_alphabetic()).count() >= 2)
            .take(2)
            .count();
        if words >= 2 {
            self.prose += 1;
        }
        let digits = raw.bytes().filter(u8::is_ascii_digit).count();
        let letters = raw.bytes().filter(u8::is_ascii_alphabetic).count();
        if self.distinct.len() < DISTINCT_NEEDED && !self.distinct.iter().any(|seen| seen == raw.trim()) {
            self.distinct.push(raw.trim().to_string());
        }
        if raw.contains('@') || digits >= 7 || (digits >= 4 && (letters >= 1 || raw.contains('*'))) {
            self.identifier_like += 1;
        }
    }

    /// Whether the values are identifiers of several kinds: at least 60% have an identifier's
    /// shape, and at least two kinds each take 5% of the values (and two values).
    pub fn mixed_identifiers(&self) -> bool {
        let identified: u32 = IDENTIFYING.iter().map(|&kind| self.identified[kind as usize]).sum();
        let kinds = IDENTIFYING
            .iter()
            .filter(|&&kind| {
                let count = self.identified[kind as usize];
                count >= 2 && count * 20 >= self.values
            })
            .count();
        identified * 10 >= self.values * 6 && kinds >= 2
    }

    /// Whether most values name an identifier kind: a type column for a column of mixed
    /// identifiers beside it (judged on the first [`NAMING_SAMPLE`] values).
    pub fn names_identifier_kinds(&self) -> bool {
        let judged = self.values.min(NAMING_SAMPLE);
        judged > 0 && self.naming * 10 >= judged * 6
    }

    /// Number of non-empty values seen.
    pub fn values(&self) -> u32 {
        self.values
    }

    /// Whether the column's values are searched for identifiers inside them: some sampled value
    /// holds a labelled one, or the column is free text (a twentieth of its values are words,
    /// or its name says so: `remarks`, `notes`, `document`), where labelled identifiers may
    /// first appear long after the sample.
    pub fn searched(&self, name: &str) -> bool {
        self.labelled > 0
            || (self.values > 0 && self.prose * 20 >= self.values)
            // A column's own name, not its table's (`user_info.id`).
            || split_words(name.rsplit('.').next().unwrap_or(name))
                .iter()
                .any(|word| FREE_TEXT_NAMES.contains(&word.as_str()))
    }

    fn share(&self, kind: Kind) -> f32 {
        if self.values == 0 {
            0.0
        } else {
            self.counts[kind as usize] as f32 / self.values as f32
        }
    }

    /// The kind most values could be (ties go to the more specific kind) and its share.
    fn best(&self) -> (Kind, f32) {
        let mut best = (Kind::Other, 0.0f32);
        for kind in Kind::ALL {
            let share = self.share(kind);
            if share > best.1 {
                best = (kind, share);
            }
        }
        best
    }
}

/// Decides a column's kind from its name and its sample of values.
pub fn decide(header: Option<Kind>, vote: &Vote) -> ColumnClass {
    let (voted, voted_share) = vote.best();
    // Cells that name identifier kinds (`Passport`, `Voter ID`) are a type column, not names.
    if !header.is_some_and(|named| IDENTIFYING.contains(&named)) && vote.names_identifier_kinds() {
        return ColumnClass {
            kind: Kind::Other,
            confidence: 0.8,
            by_value: false,
        };
    }
    let class = |kind, confidence: f32| ColumnClass {
        kind,
        confidence: confidence.clamp(0.0, 1.0),
        by_value: false,
    };
    if matches!(header, None | Some(Kind::Other)) && vote.mixed_identifiers() {
        return ColumnClass {
            by_value: true,
            ..class(Kind::Other, 0.9)
        };
    }
    let Some(named) = header else {
        // A few values of a shape say nothing of the column: prices of which one in a hundred
        // reads as a year (`1986`) are not birth years.
        return if voted_share >= VOTED_SHARE_NEEDED {
            class(voted, 0.9 * voted_share)
        } else {
            class(Kind::Other, 0.5)
        };
    };
    if vote.values == 0 {
        return class(named, 0.5);
    }
    if named == Kind::Other {
        // An `id` column of Aadhaar numbers is still Aadhaar.
        let identifying = !matches!(voted, Kind::BirthYear | Kind::Pincode | Kind::DateOfBirth);
        return if voted_share >= 0.8 && voted.has_shape() && identifying {
            class(voted, 0.8 * voted_share)
        } else {
            class(Kind::Other, 0.8)
        };
    }
    let named_share = vote.share(named);
    // Named for an identifier, and not one value even looks like one: row numbers under `uid`,
    // `N/A` under `email`. The name is not believed.
    if IDENTIFYING.contains(&named)
        && named_share == 0.0
        && vote.identifier_like == 0
        && vote.distinct.len() >= DISTINCT_NEEDED
        && voted_share < 0.6
    {
        return class(Kind::Other, 0.5);
    }
    if named.has_shape() || named == Kind::Gender {
        if named_share >= 0.5 {
            return class(named, 0.75 + 0.25 * named_share);
        }
        // A dob column holding only years is a birth-year column.
        if named == Kind::DateOfBirth && vote.share(Kind::BirthYear) >= 0.5 {
            return class(Kind::BirthYear, 0.75 + 0.25 * vote.share(Kind::BirthYear));
        }
        // Four-digit postcodes (`2135`) read as years too: the name decides.
        let postcodes_as_years = named == Kind::Pincode && voted == Kind::BirthYear;
        if voted_share >= 0.6 && voted != Kind::Name && !postcodes_as_years {
            return class(voted, 0.5 + 0.4 * voted_share);
        }
        return class(named, 0.3 + 0.4 * named_share);
    }
    // Names, addresses, passwords, usernames: a shape cannot confirm them, only contradict them.
    if named == Kind::Password && vote.share(Kind::PasswordHash) >= 0.8 {
        return class(Kind::PasswordHash, 0.8 + 0.2 * vote.share(Kind::PasswordHash));
    }
    let strong = matches!(
        voted,
        Kind::Email | Kind::Phone | Kind::NationalId | Kind::Pan | Kind::PasswordHash | Kind::Ip
    );
    if strong && voted_share >= 0.8 && !(named == Kind::Username && voted == Kind::Email) {
        return class(voted, 0.5 + 0.4 * voted_share);
    }
    match named {
        Kind::Name => class(named, 0.6 + 0.4 * vote.share(Kind::Name)),
        _ => class(named, 0.85),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_synonyms() {
        let cases = [
            ("Mobile No", Kind::Phone),
            ("msisdn", Kind::Phone),
            ("ph_no", Kind::Phone),
            ("contactNumber", Kind::Phone),
            ("customer.contact.mobile", Kind::Phone),
            ("UID", Kind::NationalId),
            ("aadhar_number", Kind::NationalId),
            ("Email-ID", Kind::Email),
            ("DOB", Kind::DateOfBirth),
            ("birth_year", Kind::BirthYear),
            ("subscriber_name", Kind::Name),
            ("FatherName", Kind::Name),
            ("pin", Kind::Pincode),
            ("password_hash", Kind::PasswordHash),
            ("shipping.line1", Kind::Address),
            ("last_login_ip", Kind::Ip),
            ("epic_no", Kind::VoterId),
            ("activation_date", Kind::Other),
            ("placed_at", Kind::Other),
            ("customer.contact.emails", Kind::Email),
            ("addresses", Kind::Address),
        ];
        for (header, kind) in cases {
            assert_eq!(kind_from_header(header), Some(kind), "{header}");
        }
        let devanagari = [
            ("नाम", Kind::Name),
            ("पिता का नाम", Kind::Name),
            ("मोबाइल नंबर", Kind::Phone),
            ("जन्म तिथि", Kind::DateOfBirth),
            ("जन्म वर्ष", Kind::BirthYear),
            ("आधार संख्या", Kind::NationalId),
            ("पिन कोड", Kind::Pincode),
            ("जिल्हा", Kind::District),
            ("आवेदक का पता", Kind::Address),
            ("क्रम संख्या", Kind::Other),
            ("नाम / Name", Kind::Name),
            ("Mobile (मोबाइल)", Kind::Phone),
        ];
        for (header, kind) in devanagari {
            assert_eq!(kind_from_header(header), Some(kind), "{header}");
        }
        assert_eq!(kind_from_header("टीका"), None);
        assert_eq!(kind_from_header("vaccine"), None);
        assert_eq!(kind_from_header(""), None);
    }

    fn vote(values: &[&str]) -> Vote {
        let mut vote = Vote::default();
        for value in values {
            vote.add(value, Region::INDIA);
        }
        vote
    }

    #[test]
    fn values_alone() {
        let phones = vote(&["9812345678", "+91 98765 43210", "919876543211", ""]);
        assert_eq!(decide(None, &phones).kind, Kind::Phone);
        assert_eq!(vote(&["a@b.in", "c@d.com"]).best().0, Kind::Email);
        assert_eq!(
            decide(None, &vote(&["12/03/1990", "1991-04-05"])).kind,
            Kind::DateOfBirth
        );
        assert_eq!(decide(None, &vote(&["ABCPD1234E", "BCDPE2345F"])).kind, Kind::Pan);
        assert_eq!(decide(None, &vote(&["Rahul Sharma", "Priya Patel"])).kind, Kind::Name);
        // Conjuncts and nuktas are written with marks Unicode does not call letters.
        assert_eq!(decide(None, &vote(&["सुनीता शर्मा", "ज़ोया ख़ान"])).kind, Kind::Name);
    }

    #[test]
    fn header_confirmed_or_overruled_by_values() {
        let class = decide(Some(Kind::Phone), &vote(&["9812345678", "9876543210"]));
        assert_eq!(class.kind, Kind::Phone);
        assert!(class.confidence > 0.9);
        // "contact" column that holds emails.
        assert_eq!(
            decide(Some(Kind::Phone), &vote(&["a@b.in", "c@d.com"])).kind,
            Kind::Email
        );
        // "email_verified" booleans are too few distinct values to overrule the name: it stays,
        // with a low confidence.
        let verified = decide(Some(Kind::Email), &vote(&["true", "false"]));
        assert!(verified.kind == Kind::Email && verified.confidence < 0.5);
        assert_eq!(
            decide(Some(Kind::DateOfBirth), &vote(&["1990", "1985"])).kind,
            Kind::BirthYear
        );
        assert_eq!(
            decide(
                Some(Kind::Password),
                &vote(&["5f4dcc3b5aa765d61d8327deb882cf99", "e99a18c428cb38d5f260853678922e03"])
            )
            .kind,
            Kind::PasswordHash
        );
        assert_eq!(decide(Some(Kind::Name), &vote(&["Rahul", "Priya"])).kind, Kind::Name);
        // Row numbers under `uid` are no Aadhaar numbers; failed ones are, flagged by
        // normalization.
        assert_eq!(
            decide(Some(Kind::NationalId), &vote(&["1", "2", "3", "4", "5"])).kind,
            Kind::Other
        );
        // Placeholders before the real values say nothing: the name stands.
        assert_eq!(
            decide(Some(Kind::Phone), &vote(&["0", "NA", "0", "NA", "0"])).kind,
            Kind::Phone
        );
        assert_eq!(
            decide(Some(Kind::NationalId), &vote(&["1234 5678 9012", "2345 6789 0123"])).kind,
            Kind::NationalId
        );
        assert_eq!(
            decide(Some(Kind::Email), &vote(&["N/A", "none", "-", "nil", "unknown"])).kind,
            Kind::Other
        );
        assert_eq!(
            decide(Some(Kind::Email), &vote(&["rohit’s@example.in"])).kind,
            Kind::Email
        );
        // A type column is no name column; a timestamp is no birth date.
        let types = vote(&["Passport", "Voter ID", "PAN Card", "Aadhaar"]);
        assert_eq!(decide(None, &types).kind, Kind::Other);
        let created = vote(&["2023-06-12 10:15:30", "2023-06-13 11:00:00"]);
        assert_eq!(decide(None, &created).kind, Kind::Other);
    }
}
