//! Who may read what, and the record of who asked: the audit log.

pub mod audit;
