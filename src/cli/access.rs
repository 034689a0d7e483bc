//! Commands that keep who may ask and what was asked: token and audit.

use super::flags::Backends;
use super::{Failure, audit_local, open_data};
use leakdex::access::audit::AuditLog;
use leakdex::access::role::Role;
use leakdex::access::token::TokenStore;
use leakdex::ingest::Kind;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `token create --certificate`: registers a client certificate for the principal.
pub(super) fn token_certificate(
    data_dir: Option<&Path>,
    backends: &Backends,
    name: String,
    role: Role,
    certificate: PathBuf,
) -> Result<ExitCode, Failure> {
    let (data, _) = open_data(data_dir, backends)?;
    let pem = std::fs::read(&certificate).map_err(|error| format!("{}: {error}", certificate.display()))?;
    let der =
        leakdex::access::token::certificate_der(&pem).map_err(|error| format!("{}: {error}", certificate.display()))?;
    let entry = TokenStore::new(&data).register_certificate(&name, role, &der)?;
    audit_local(&data, "TokenCreate", 1, 0, &[(Kind::Other, entry.name.as_str())])?;
    println!(
        "certificate sha256:{} registered for {} ({})",
        entry.certificate.unwrap_or_default(),
        entry.name,
        entry.role
    );
    Ok(ExitCode::SUCCESS)
}

/// `token create`: issues a token, printed once.
pub(super) fn token_create(
    data_dir: Option<&Path>,
    backends: &Backends,
    name: String,
    role: Role,
) -> Result<ExitCode, Failure> {
    let (data, _) = open_data(data_dir, backends)?;
    let (entry, token) = TokenStore::new(&data).create(&name, role)?;
    audit_local(&data, "TokenCreate", 1, 0, &[(Kind::Other, entry.name.as_str())])?;
    eprintln!(
        "token {} for {} ({}); shown once, store it now:",
        entry.id, entry.name, entry.role
    );
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn token_list(data_dir: Option<&Path>, backends: &Backends) -> Result<ExitCode, Failure> {
    let (data, _) = open_data(data_dir, backends)?;
    for entry in TokenStore::new(&data).list()? {
        println!(
            "{}\t{}\t{}\tcreated {}\t{}",
            entry.id,
            entry.name,
            entry.role,
            entry.created,
            entry
                .revoked
                .map_or_else(|| "live".to_string(), |when| format!("revoked {when}"))
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn token_revoke(
    data_dir: Option<&Path>,
    backends: &Backends,
    id_or_name: String,
) -> Result<ExitCode, Failure> {
    let (data, _) = open_data(data_dir, backends)?;
    let revoked = TokenStore::new(&data).revoke(&id_or_name)?;
    audit_local(&data, "TokenRevoke", 1, revoked, &[(Kind::Other, id_or_name.as_str())])?;
    println!("revoked {revoked} token(s) of {id_or_name}");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn audit_anchor(data_dir: Option<&Path>, backends: &Backends) -> Result<ExitCode, Failure> {
    let (data, _) = open_data(data_dir, backends)?;
    println!("{}", AuditLog::new(&data).anchor()?);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn audit_verify(
    data_dir: Option<&Path>,
    backends: &Backends,
    anchor: Option<String>,
) -> Result<ExitCode, Failure> {
    let (data, _) = open_data(data_dir, backends)?;
    let anchor = anchor
        .map(|text| text.parse::<leakdex::access::audit::Anchor>())
        .transpose()?;
    match AuditLog::new(&data).verify_anchored(anchor.as_ref())? {
        Ok(entries) => {
            println!("ok: {entries} entries, chain intact");
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            for problem in &problems {
                println!("TAMPERED {problem}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

pub(super) fn audit_show(
    data_dir: Option<&Path>,
    backends: &Backends,
    principal: Option<String>,
    since: Option<String>,
    until: Option<String>,
    json: bool,
) -> Result<ExitCode, Failure> {
    let (data, _) = open_data(data_dir, backends)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for entry in AuditLog::new(&data).entries()? {
        let body = &entry.body;
        let wanted = principal.as_ref().is_none_or(|principal| &body.principal == principal)
            && since.as_ref().is_none_or(|since| body.time.as_str() >= since.as_str())
            && until
                .as_ref()
                .is_none_or(|until| body.time.as_str() <= until.as_str() || body.time.starts_with(until.as_str()));
        if !wanted {
            continue;
        }
        if json {
            serde_json::to_writer(&mut out, &entry)?;
            writeln!(out)?;
        } else {
            // Names come from callers (a certificate, a token's holder): control characters
            // are shown escaped, never sent to the terminal.
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\tqueries {}\thits {}\tasked {}{}",
                body.seq,
                body.time,
                body.principal.escape_debug(),
                body.role.escape_debug(),
                body.rpc.escape_debug(),
                body.queries,
                body.hits,
                body.asked.len(),
                if body.outcome.is_empty() {
                    String::new()
                } else {
                    format!("\trefused {}", body.outcome.escape_debug())
                }
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
