//! Integration tests: one binary (see Cargo.toml), modules per area, helpers in `common`.

mod access;
mod attacks;
mod audit;
mod batches;
mod catalog;
mod cluster;
mod common;
mod formats;
mod index;
mod properties;
mod provenance;
mod python_client;
mod real_dumps;
mod scale;
mod seams;
mod search;
mod service;
mod storage;
