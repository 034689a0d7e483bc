//! Who may read what, and the record of who asked: roles, bearer tokens, redaction, rate
//! limits, the audit log.

pub mod audit;
pub mod limits;
pub mod redact;
pub mod role;
pub mod token;
