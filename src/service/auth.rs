//! Authentication and authorization of every call: a bearer token (`authorization: Bearer …`) or
//! a client certificate (mTLS) names the principal and its role; the role decides, default deny,
//! which calls it may make.

use crate::access::role::{Role, Rpc};
use crate::access::token::{TOKEN_PREFIX, TokenStore, Tokens, certificate_fingerprint, digest};
use crate::storage::DataDir;
use std::sync::{Arc, Mutex};
use tonic::Status;
use tonic::metadata::MetadataMap;
use tonic::transport::CertificateDer;

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// What it presented, so a long call can be checked again ([`Authenticator::recheck`]).
    credential: Credential,
}

/// A presented credential, as the token store recognizes it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Credential {
    /// SHA-256 (hex) of a bearer token.
    Token(String),
    /// SHA-256 (hex) of a client certificate's DER.
    Certificate(String),
}

/// Checks presented credentials against the token store, reread when it changes so that a
/// revocation takes effect at the next call.
pub struct Authenticator {
    store: TokenStore,
    /// The tokens as last read, and the store's version then.
    cached: Mutex<Option<(u64, Arc<Tokens>)>>,
}

impl Authenticator {
    pub fn new(data: &DataDir) -> Authenticator {
        Authenticator {
            store: TokenStore::new(data),
            cached: Mutex::new(None),
        }
    }

    /// The live tokens; the store is asked for its version on every call (a `stat`, or one row
    /// of the cluster's database) and reread only when it moved, so a revocation made by any
    /// process is refused at the next call.
    fn tokens(&self) -> Result<Arc<Tokens>, Status> {
        let unavailable = |error| Status::unavailable(format!("{error}"));
        let version = self.store.version().map_err(unavailable)?;
        let mut cached = self.cached.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some((seen, tokens)) = cached.as_ref()
            && *seen == version
        {
            return Ok(tokens.clone());
        }
        let (entries, version) = self.store.listed().map_err(unavailable)?;
        let tokens = Arc::new(Tokens::new(entries));
        *cached = Some((version, tokens.clone()));
        Ok(tokens)
    }

    /// The principal of a call: from its bearer token, else from its client certificate (whose
    /// subject common name must be a principal with a live entry in the token store).
    pub fn authenticate(
        &self,
        metadata: &MetadataMap,
        certificates: Option<&[CertificateDer<'_>]>,
    ) -> Result<Principal, Status> {
        let Some(header) = metadata.get("authorization") else {
            if let Some(certificate) = certificates.and_then(|chain| chain.first()) {
                return self.certificate_principal(certificate);
            }
            return Err(Status::unauthenticated(
                "no credentials: send `authorization: Bearer TOKEN` (issued with `leakdex token create`) or a client certificate",
            ));
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| Status::unauthenticated("the authorization header must be `Bearer TOKEN`"))?;
        let token = token.trim();
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(Status::unauthenticated("unknown or revoked token"));
        }
        self.principal(Credential::Token(digest(token)))
    }

    /// The live principal holding `credential` now.
    fn principal(&self, credential: Credential) -> Result<Principal, Status> {
        let tokens = self.tokens()?;
        let entry = match &credential {
            Credential::Token(sha256) => tokens
                .by_digest(sha256)
                .ok_or_else(|| Status::unauthenticated("unknown or revoked token"))?,
            Credential::Certificate(fingerprint) => tokens.certified(fingerprint).ok_or_else(|| {
                Status::unauthenticated(format!(
                    "client certificate sha256:{fingerprint} is registered to no live principal (`leakdex token create --name NAME --role ROLE --certificate CERT.pem` registers it)"
                ))
            })?,
        };
        Ok(Principal {
            name: entry.name.clone(),
            role: entry.role,
            credential,
        })
    }

    /// A client certificate names its principal by its fingerprint alone: the names inside it
    /// are whatever the CA signed, and a CA that signs for other purposes could sign any.
    fn certificate_principal(&self, certificate: &CertificateDer<'_>) -> Result<Principal, Status> {
        self.principal(Credential::Certificate(certificate_fingerprint(certificate.as_ref())))
    }

    /// The principal of a call in progress, as the token store has it now: a stream checks
    /// again before each micro-batch, so a revocation or a role change reaches it at once.
    pub fn recheck(&self, principal: &Principal, rpc: Rpc) -> Result<Principal, Status> {
        let current = self.principal(principal.credential.clone())?;
        permitted(current, rpc)
    }

    /// The principal of a call it may make.
    pub fn authorize(
        &self,
        metadata: &MetadataMap,
        certificates: Option<&[CertificateDer<'_>]>,
        rpc: Rpc,
    ) -> Result<Principal, Status> {
        permitted(self.authenticate(metadata, certificates)?, rpc)
    }
}

fn permitted(principal: Principal, rpc: Rpc) -> Result<Principal, Status> {
    if !principal.role.may(rpc) {
        tracing::warn!(principal = %principal.name, role = %principal.role, rpc = rpc.as_str(), "call refused by role");
        return Err(Status::permission_denied(format!(
            "role {} may not call {}",
            principal.role,
            rpc.as_str()
        )));
    }
    Ok(principal)
}
