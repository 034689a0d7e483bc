//! Private lookups in the manner of Have I Been Pwned's range API: the caller sends the first
//! five hex characters of the SHA-256 of a normalized identifier and gets back every indexed
//! identifier with that prefix — the next eleven hex characters of its hash and the corpora that
//! hold it — padded with decoys to a fixed bucket size, so neither leakdex nor anyone watching
//! the answer's size learns which identifier was asked about. The caller checks its own hash
//! against the answer.

use super::error::QueryError;
use super::index::Index;
use crate::catalog::CorpusKind;
use crate::ingest::Kind;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Hex characters of the hash that the caller sends.
pub const PREFIX_CHARS: usize = 5;
/// Hex characters of the hash that the answer identifies entries by, after the prefix.
pub const SUFFIX_CHARS: usize = 11;
/// Answers hold a multiple of this many entries, decoys included.
pub const BUCKET: usize = 64;

/// One identifier of the asked range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeEntry {
    /// Hex characters 6 to 16 of the identifier's SHA-256.
    pub suffix: String,
    /// Corpora holding it; empty for a decoy.
    pub corpora: Vec<String>,
}

/// The prefix and suffix of a normalized identifier, as a caller computes them.
pub fn hash_parts(normalized: &str) -> (String, String) {
    let hex = hex::encode(Sha256::digest(normalized.as_bytes()));
    (
        hex[..PREFIX_CHARS].to_string(),
        hex[PREFIX_CHARS..PREFIX_CHARS + SUFFIX_CHARS].to_string(),
    )
}

/// Every indexed identifier whose hash starts with `prefix`, padded with decoys to a multiple of
/// [`BUCKET`] entries, in suffix order (decoys interleaved). Canary corpora are never revealed.
pub fn range_lookup(index: &Index, prefix: &str) -> Result<Vec<RangeEntry>, QueryError> {
    if prefix.len() != PREFIX_CHARS || !prefix.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(QueryError::Invalid(format!(
            "the prefix must be the first {PREFIX_CHARS} hex characters of a SHA-256, not {prefix:?}"
        )));
    }
    let bits = 4 * PREFIX_CHARS as u32;
    let value = u64::from_str_radix(prefix, 16).map_err(|error| QueryError::Invalid(error.to_string()))?;
    let (low, high) = (value << (64 - bits), (value + 1).checked_shl(64 - bits).unwrap_or(0));
    let mut found: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for indexed in index
        .segments
        .iter()
        .filter(|indexed| indexed.kind != CorpusKind::Canary)
    {
        let entries = indexed
            .segment
            .range()?
            .range(low, if high == 0 { u64::MAX } else { high });
        for entry in entries {
            let corpora = found.entry(entry.fingerprint).or_default();
            if !corpora.contains(&indexed.corpus) {
                corpora.push(indexed.corpus.clone());
            }
        }
    }
    let mut entries: Vec<RangeEntry> = found
        .into_iter()
        .map(|(key, corpora)| RangeEntry {
            suffix: format!("{key:016x}")[PREFIX_CHARS..].to_string(),
            corpora,
        })
        .collect();
    let padded = entries.len().div_ceil(BUCKET).max(1) * BUCKET;
    // Decoys are the same at every call for a prefix (drawn from a keyed hash of it): fresh ones
    // each time would give real entries away to anyone comparing two answers.
    let mut decoys = StdRng::seed_from_u64(crate::fingerprint::fingerprint(&index.key(), Kind::Other, prefix));
    while entries.len() < padded {
        let decoy =
            format!("{:016x}", decoys.random::<u64>() & (u64::MAX >> (4 * PREFIX_CHARS)))[PREFIX_CHARS..].to_string();
        if !entries.iter().any(|entry| entry.suffix == decoy) {
            entries.push(RangeEntry {
                suffix: decoy,
                corpora: Vec::new(),
            });
        }
    }
    entries.sort_by(|a, b| a.suffix.cmp(&b.suffix));
    Ok(entries)
}
