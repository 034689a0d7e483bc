//! Integration tests: one binary (see Cargo.toml), modules per area, helpers in `common`.

mod common;
mod formats;
mod index;
mod properties;
mod scale;
mod service;
