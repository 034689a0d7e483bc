//! Fingerprints: the keyed 64-bit hash of (identifier kind, normalized value) that the hash
//! index is sorted by, that lookups and matches probe with and that the audit log keeps instead
//! of what was asked; and which kinds are fingerprinted.

use crate::ingest::Kind;
use std::hash::Hasher;

/// Kinds whose values go into the hash index (the others are found by full-text search).
pub const INDEXED_KINDS: [Kind; 11] = [
    Kind::Phone,
    Kind::Email,
    Kind::NationalId,
    Kind::Pan,
    Kind::Passport,
    Kind::VoterId,
    Kind::DrivingLicence,
    Kind::Username,
    Kind::Ip,
    Kind::PasswordHash,
    Kind::Name,
];

/// Kinds whose exact value identifies one person (or one planted record): they find match
/// candidates and canaries.
pub const IDENTIFYING_KINDS: [Kind; 7] = [
    Kind::Phone,
    Kind::Email,
    Kind::NationalId,
    Kind::Pan,
    Kind::Passport,
    Kind::VoterId,
    Kind::DrivingLicence,
];

/// Keyed 64-bit fingerprint of (kind, normalized value): SipHash-1-3, a keyed PRF, so an index
/// file without the data directory's key does not let anyone test candidate phone numbers.
/// The kind enters by name, so reordering the enum never changes fingerprints.
pub fn fingerprint(key: &[u8; 16], kind: Kind, normalized: &str) -> u64 {
    let mut hasher = siphasher::sip::SipHasher13::new_with_key(key);
    hasher.write(kind.as_str().as_bytes());
    hasher.write_u8(0xff);
    hasher.write(normalized.as_bytes());
    hasher.finish()
}
