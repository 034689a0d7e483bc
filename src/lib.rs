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
