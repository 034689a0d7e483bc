//! Bearer tokens. `leakdex token create` prints a token once; only its SHA-256 is kept, in the
//! deployment's shared documents: `DATA/tokens.json` (mode 0600) by default, the catalog's
//! database in a cluster. Revocation takes effect at every server's next call.

use super::role::Role;
use crate::storage::DataDir;
use crate::storage::documents::{DocumentError, Documents};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Prefix of every token, so a leaked one is recognizable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "ldx_";

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token store: {0}")]
    Store(#[from] DocumentError),
    #[error("token store {store} is damaged: {message}")]
    Damaged { store: String, message: String },
    #[error("no token with id or name {0:?}")]
    NoToken(String),
    #[error("a token named {0:?} already exists: revoke it or choose another name")]
    Exists(String),
}

/// The shared document the tokens are kept in.
pub const TOKENS_DOCUMENT: &str = "tokens";

/// A token as stored: never the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    pub id: String,
    /// The principal: who holds it (an agency's service, a person).
    pub name: String,
    pub role: Role,
    /// SHA-256 (hex) of the token.
    pub sha256: String,
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
    /// SHA-256 (hex) of the DER of the client certificate registered for this principal, if
    /// any: mutual TLS maps a certificate to a principal by this fingerprint alone, never by
    /// the names it carries (any certificate the CA signed could claim any name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

/// SHA-256 (hex) of a token, as the store keeps it.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The DER bytes of the first certificate in a PEM file.
///
/// Errors: no readable `CERTIFICATE` block.
pub fn certificate_der(pem: &[u8]) -> Result<Vec<u8>, String> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(pem)
        .map(|der| der.to_vec())
        .map_err(|error| format!("no readable certificate: {error}"))
}

/// SHA-256 (hex) of a certificate's DER bytes: how a registered certificate is recognized.
pub fn certificate_fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// The token store of a data directory (or of the deployment it belongs to).
pub struct TokenStore {
    documents: Arc<dyn Documents>,
}

impl TokenStore {
    pub fn new(data: &DataDir) -> TokenStore {
        TokenStore {
            documents: data.documents().clone(),
        }
    }

    fn parse(&self, bytes: Option<&[u8]>) -> Result<Vec<TokenEntry>, TokenError> {
        match bytes {
            Some(bytes) => serde_json::from_slice(bytes).map_err(|error| TokenError::Damaged {
                store: self.documents.store(),
                message: error.to_string(),
            }),
            None => Ok(Vec::new()),
        }
    }

    /// Every token ever issued, revoked ones included.
    pub fn list(&self) -> Result<Vec<TokenEntry>, TokenError> {
        Ok(self.listed()?.0)
    }

    /// Every token and the store's version (see [`Documents::version`]).
    pub fn listed(&self) -> Result<(Vec<TokenEntry>, u64), TokenError> {
        let (bytes, version) = self.documents.read(TOKENS_DOCUMENT)?;
        Ok((self.parse(bytes.as_deref())?, version))
    }

    /// The store's version now: cheap, for a reader that caches the tokens.
    pub fn version(&self) -> Result<u64, TokenError> {
        Ok(self.documents.version(TOKENS_DOCUMENT)?)
    }

    /// Changes the store atomically against every other process.
    /// `change` may run more than once: a backend that lost a race to another writer runs it
    /// again over the entries that writer left.
    fn update<T>(
        &self,
        mut change: impl FnMut(&mut Vec<TokenEntry>) -> Result<T, TokenError>,
    ) -> Result<T, TokenError> {
        let mut answer = None;
        let updated = self.documents.update(TOKENS_DOCUMENT, &mut |bytes| {
            let mut entries = self.parse(bytes)?;
            let result = change(&mut entries)?;
            let json = serde_json::to_vec_pretty(&entries)?;
            answer = Some(result);
            Ok(json)
        });
        match updated {
            Ok(()) => answer.ok_or_else(|| TokenError::NoToken("no answer".into())),
            Err(DocumentError::Refused(refusal)) => match refusal.downcast::<TokenError>() {
                Ok(error) => Err(*error),
                Err(other) => Err(TokenError::Damaged {
                    store: self.documents.store(),
                    message: other.to_string(),
                }),
            },
            Err(error) => Err(error.into()),
        }
    }

    /// Issues a token for `name` with `role`; returns its entry and the token, shown only now.
    pub fn create(&self, name: &str, role: Role) -> Result<(TokenEntry, String), TokenError> {
        self.issue(name, role, None)
    }

    /// Registers the client certificate `der` (DER bytes) as principal `name` with `role`.
    /// Refuses a certificate already registered to a live principal: one certificate, one
    /// principal. The entry's bearer token is drawn but never shown.
    pub fn register_certificate(&self, name: &str, role: Role, der: &[u8]) -> Result<TokenEntry, TokenError> {
        self.issue(name, role, Some(certificate_fingerprint(der)))
            .map(|(entry, _)| entry)
    }

    fn issue(&self, name: &str, role: Role, certificate: Option<String>) -> Result<(TokenEntry, String), TokenError> {
        let secret: [u8; 24] = rand::random();
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
        self.update(|entries| {
            let live = entries.iter().filter(|entry| entry.revoked.is_none());
            if let Some(taken) = live.clone().find(|entry| entry.name == name) {
                return Err(TokenError::Exists(taken.name.clone()));
            }
            if let Some(taken) = live
                .clone()
                .find(|entry| certificate.is_some() && entry.certificate == certificate)
            {
                return Err(TokenError::Exists(format!("{} (same certificate)", taken.name)));
            }
            let entry = TokenEntry {
                id: format!("t{:04}", entries.len() + 1),
                name: name.to_string(),
                role,
                sha256: digest(&token),
                created: crate::clock::now_rfc3339(),
                revoked: None,
                certificate: certificate.clone(),
            };
            entries.push(entry.clone());
            Ok((entry, token.clone()))
        })
    }

    /// Revokes the live tokens with this id or name; returns how many.
    pub fn revoke(&self, id_or_name: &str) -> Result<usize, TokenError> {
        self.update(|entries| {
            let now = crate::clock::now_rfc3339();
            let mut revoked = 0;
            for entry in entries
                .iter_mut()
                .filter(|entry| (entry.id == id_or_name || entry.name == id_or_name) && entry.revoked.is_none())
            {
                entry.revoked = Some(now.clone());
                revoked += 1;
            }
            if revoked == 0 {
                return Err(TokenError::NoToken(id_or_name.to_string()));
            }
            Ok(revoked)
        })
    }
}

/// The live tokens, for checking presented ones.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    live: Vec<TokenEntry>,
}

impl Tokens {
    pub fn new(entries: Vec<TokenEntry>) -> Tokens {
        Tokens {
            live: entries.into_iter().filter(|entry| entry.revoked.is_none()).collect(),
        }
    }

    /// The live entry a client certificate (DER) was registered to.
    pub fn certified(&self, fingerprint: &str) -> Option<&TokenEntry> {
        self.live
            .iter()
            .find(|entry| entry.certificate.as_deref() == Some(fingerprint))
    }

    /// The live entry whose token has this SHA-256 (hex), as [`TokenEntry::sha256`] keeps it.
    pub fn by_digest(&self, sha256: &str) -> Option<&TokenEntry> {
        self.live.iter().find(|entry| entry.sha256 == sha256)
    }

    /// The entry of a presented token, if it is live.
    pub fn check(&self, token: &str) -> Option<&TokenEntry> {
        if !token.starts_with(TOKEN_PREFIX) {
            return None;
        }
        self.by_digest(&digest(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_and_revocable() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let store = TokenStore::new(&data);
        let (entry, token) = store.create("cert-in-partner", Role::Partner).unwrap();
        assert!(token.starts_with("ldx_") && token.len() == 52);
        assert!(matches!(
            store.create("cert-in-partner", Role::Analyst),
            Err(TokenError::Exists(_))
        ));
        let stored = std::fs::read_to_string(data.root().join("tokens.json")).unwrap();
        assert!(!stored.contains(&token[4..]), "the token itself is never stored");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data.root().join("tokens.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let tokens = Tokens::new(store.list().unwrap());
        assert_eq!(
            tokens.check(&token).map(|found| (&found.name, found.role)),
            Some((&entry.name, Role::Partner))
        );
        assert!(tokens.check("ldx_000").is_none() && tokens.check(&token[1..]).is_none());
        assert_eq!(store.revoke("cert-in-partner").unwrap(), 1);
        assert!(Tokens::new(store.list().unwrap()).check(&token).is_none());
        assert!(matches!(store.revoke("cert-in-partner"), Err(TokenError::NoToken(_))));
    }
}
