//! The `leakdex` command line: `run` hands each command to the function of its family (one
//! file each), which prints answers through `print` and shows its progress through `progress`.

mod access;
mod demo;
mod flags;
mod index;
mod print;
mod progress;
mod query;
mod remote;
mod serve;
mod transfer;

pub(crate) use flags::Cli;
use flags::{AuditCommand, Backends, CanaryCommand, Command, TokenCommand};
use leakdex::access::audit::{AuditLog, Request as AuditRequest};
use leakdex::catalog::{Catalog, FileCatalog, PgCatalog};
use leakdex::fingerprint::fingerprint;
use leakdex::ingest::Kind;
use leakdex::storage::{DataDir, open_objects};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

type Failure = Box<dyn std::error::Error>;

pub(crate) fn run(cli: Cli) -> Result<ExitCode, Failure> {
    if let Some(url) = cli.server.as_deref() {
        let tls = remote::client_tls(cli.ca.as_deref(), cli.cert.as_deref(), cli.key.as_deref())?;
        return remote::run_remote(url, cli.token.as_deref(), tls, cli.command);
    }
    let data_dir = cli.data_dir.as_deref();
    let backends = cli.backends;
    match cli.command {
        Command::Inspect { json, read, paths } => Ok(index::inspect(json, read, &paths)),
        Command::Ingest(args) => index::ingest(data_dir, &backends, args),
        Command::Corpora { json } => index::corpora(data_dir, &backends, json),
        Command::Delete { corpus } => index::delete(data_dir, &backends, corpus),
        Command::Lookup(args) => query::lookup(data_dir, &backends, args),
        Command::Search {
            json,
            limit,
            corpus,
            plain,
            query,
        } => query::search(data_dir, &backends, json, limit, corpus, plain, query),
        Command::ReindexText { force } => index::reindex_text(data_dir, &backends, force),
        Command::Show {
            corpus,
            file,
            record,
            json,
        } => query::show(data_dir, &backends, corpus, file, record, json),
        Command::Verify { corpus } => index::verify(data_dir, &backends, corpus),
        Command::Gen {
            out,
            records,
            seed,
            suspects,
            shapes,
        } => demo::generate(out, records, seed, suspects, shapes),
        Command::Demo { out, records } => demo::run(&out, records, data_dir),
        Command::RangeLookup { kind, region, value } => query::range_lookup(data_dir, &backends, kind, region, value),
        Command::Canary(CanaryCommand::Add {
            source,
            corpus,
            read,
            paths,
        }) => index::canary_add(data_dir, &backends, source, corpus, read, paths),
        Command::Token(TokenCommand::Create {
            name,
            role,
            certificate: Some(certificate),
        }) => access::token_certificate(data_dir, &backends, name, role, certificate),
        Command::Token(TokenCommand::Create {
            name,
            role,
            certificate: None,
        }) => access::token_create(data_dir, &backends, name, role),
        Command::Token(TokenCommand::List) => access::token_list(data_dir, &backends),
        Command::Token(TokenCommand::Revoke { id_or_name }) => access::token_revoke(data_dir, &backends, id_or_name),
        Command::Audit(AuditCommand::Anchor) => access::audit_anchor(data_dir, &backends),
        Command::Audit(AuditCommand::Verify { anchor }) => access::audit_verify(data_dir, &backends, anchor),
        Command::Audit(AuditCommand::Show {
            principal,
            since,
            until,
            json,
        }) => access::audit_show(data_dir, &backends, principal, since, until, json),
        Command::Canary(CanaryCommand::List) => index::canary_list(data_dir, &backends),
        Command::Provenance(args) => query::provenance(data_dir, &backends, args),
        Command::Serve(args) => serve::serve(data_dir, &backends, *args),
    }
}

/// Opens the data directory, the catalog and the segment storage `backends` name, and checks
/// that this process's fingerprint key is the one the catalog's segments were built with.
fn open_data(data_dir: Option<&Path>, backends: &Backends) -> Result<(DataDir, Arc<dyn Catalog>), Failure> {
    let root = data_dir.map_or_else(DataDir::default_path, Path::to_path_buf);
    let mut data = DataDir::open(&root)?;
    match &backends.key_file {
        Some(key_file) => data = data.with_key_file(key_file)?,
        // A key made up here would be the one a fresh shared catalog records, and every other
        // process would then be refused.
        None if backends.catalog_url.is_some() || backends.storage.is_some() => {
            return Err(
                "--catalog and --storage are shared by every process of a deployment: give the \
                        deployment's fingerprint key with --key-file (or LEAKDEX_KEY_FILE)"
                    .into(),
            );
        }
        None => {}
    }
    if let Some(location) = &backends.storage {
        data = data.with_objects(
            open_objects(location)?.into(),
            backends.cache_size as u64,
            backends.fetch_gap as u64,
        )?;
    }
    let catalog: Arc<dyn Catalog> = match &backends.catalog_url {
        Some(url) => {
            // The catalog's database keeps the deployment's shared state too (tokens, the
            // audit chain, the limiter's counters).
            let shared = Arc::new(PgCatalog::connect(url)?);
            data = data.with_shared(shared.clone());
            shared
        }
        None => Arc::new(FileCatalog::open(data.root())),
    };
    catalog.check_key(&data.key_check())?;
    Ok((data, catalog))
}

/// Puts a local command's request on the record (before its answer is shown).
fn audit_local(data: &DataDir, rpc: &str, queries: usize, hits: usize, asked: &[(Kind, &str)]) -> Result<(), Failure> {
    let request = AuditRequest {
        queries: queries as u64,
        hits: hits as u64,
        asked: asked
            .iter()
            .map(|(kind, value)| fingerprint(&data.key(), *kind, value))
            .collect(),
        ..AuditRequest::local(rpc)
    };
    AuditLog::new(data).append(&request)?;
    Ok(())
}
