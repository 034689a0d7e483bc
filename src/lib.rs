//! leakdex: provenance search over leaked personal-data corpora.
//!
//! The ingest front end turns any dump into typed, normalized records that know where they came
//! from:
//!
//! ```
//! use leakdex::ingest::{normalize, Kind, Region, Validity};
//!
//! let mut out = String::new();
//! let validity = normalize::normalize(Kind::Phone, "(+91) 98123-45678", Region::INDIA, &mut out);
//! assert_eq!((out.as_str(), validity), ("+919812345678", Validity::Valid));
//! ```

pub mod access;
pub mod background;
pub mod catalog;
pub mod clock;
pub mod cluster;
pub mod fingerprint;
pub mod ingest;
pub mod inspect;
pub mod query;
pub mod report;
pub mod segment;
pub mod service;
pub mod storage;
pub mod synth;

/// `error: cause: its cause…`, each said once: for drivers whose errors say little alone
/// (PostgreSQL's "db error", an HTTP client's "builder error").
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut said = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let text = next.to_string();
        if !said.contains(&text) {
            said.push_str(": ");
            said.push_str(&text);
        }
        cause = next.source();
    }
    said
}
