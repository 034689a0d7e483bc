//! Roles and what each may call. Default deny: a call not listed for a role is refused.

use crate::query::SearchScope;
use serde::{Deserialize, Serialize};

/// What a principal is allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Corpora and deletion (tokens are issued on the server's command line).
    Admin,
    /// Creates corpora and runs ingest jobs.
    Ingest,
    /// Every query, with full records.
    Investigator,
    /// Lookups, search and provenance with locations; record contents redacted.
    Analyst,
    /// Another agency's service: batch and private lookups, answered with corpus names, counts
    /// and acquisition dates only.
    Partner,
    /// A metrics scraper (Prometheus): `/metrics` and nothing else.
    Monitor,
}

/// The calls of the public API, by their gRPC method names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rpc {
    BatchLookup,
    LookupBatches,
    RangeLookup,
    Search,
    GetRecord,
    ListCorpora,
    GetCorpus,
    DeleteCorpus,
    Ingest,
    Upload,
    WatchJob,
    Match,
    MatchBatches,
    Attribute,
    Reflection,
    /// The Prometheus endpoint of `--metrics-listen`.
    Metrics,
}

impl Rpc {
    pub fn as_str(self) -> &'static str {
        match self {
            Rpc::BatchLookup => "BatchLookup",
            Rpc::LookupBatches => "LookupBatches",
            Rpc::RangeLookup => "RangeLookup",
            Rpc::Search => "Search",
            Rpc::GetRecord => "GetRecord",
            Rpc::ListCorpora => "List",
            Rpc::GetCorpus => "Get",
            Rpc::DeleteCorpus => "Delete",
            Rpc::Ingest => "Ingest",
            Rpc::Upload => "Upload",
            Rpc::WatchJob => "WatchJob",
            Rpc::Match => "Match",
            Rpc::MatchBatches => "MatchBatches",
            Rpc::Attribute => "Attribute",
            Rpc::Reflection => "ServerReflectionInfo",
            Rpc::Metrics => "Metrics",
        }
    }
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Ingest,
        Role::Investigator,
        Role::Analyst,
        Role::Partner,
        Role::Monitor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Ingest => "ingest",
            Role::Investigator => "investigator",
            Role::Analyst => "analyst",
            Role::Partner => "partner",
            Role::Monitor => "monitor",
        }
    }

    /// Whether this role may make this call.
    pub fn may(self, rpc: Rpc) -> bool {
        use Rpc::*;
        match self {
            // A scraper's token is often kept in a config file: it opens nothing else.
            Role::Monitor => return rpc == Metrics,
            // Every other authenticated principal may ask the server what it serves.
            _ if rpc == Reflection => return true,
            _ => {}
        }
        match self {
            Role::Admin => matches!(
                rpc,
                ListCorpora | GetCorpus | DeleteCorpus | Ingest | Upload | WatchJob | Metrics
            ),
            Role::Ingest => matches!(rpc, ListCorpora | GetCorpus | Ingest | Upload | WatchJob),
            Role::Investigator | Role::Analyst => matches!(
                rpc,
                BatchLookup
                    | LookupBatches
                    | RangeLookup
                    | Search
                    | GetRecord
                    | ListCorpora
                    | GetCorpus
                    | Match
                    | MatchBatches
                    | Attribute
            ),
            Role::Partner => matches!(rpc, BatchLookup | LookupBatches | RangeLookup),
            Role::Monitor => false,
        }
    }

    /// Whether this role learns that canary corpora exist: their names, their hits, their
    /// matches. Anyone else could probe the planted identifiers and learn to avoid them, so
    /// for every other role canary corpora are not there at all. Only admins create them.
    pub fn sees_canaries(self) -> bool {
        matches!(self, Role::Investigator | Role::Admin)
    }

    /// What this role's searches may use (see [`SearchScope`]).
    pub fn search_scope(self) -> SearchScope {
        if self.sees_contents() {
            SearchScope::Full
        } else {
            SearchScope::Restricted
        }
    }

    /// Most hits one Search or Match answer holds for this role: a role that sees no contents
    /// gets a short list, so a broad query is not a dump of locations.
    pub fn max_results(self) -> usize {
        if self.sees_contents() { 1000 } else { 100 }
    }

    /// Whether answers to this role show record contents (values, snippets, examples).
    pub fn sees_contents(self) -> bool {
        self == Role::Investigator
    }

    /// Whether answers to this role show where records are (file, record, line, offset, field).
    pub fn sees_locations(self) -> bool {
        matches!(self, Role::Investigator | Role::Analyst)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        Role::ALL.into_iter().find(|role| role.as_str() == text).ok_or_else(|| {
            format!("unknown role {text:?} (expected admin, ingest, investigator, analyst, partner or monitor)")
        })
    }
}
