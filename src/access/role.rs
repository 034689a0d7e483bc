//! Roles and what each may call. Default deny: a call not listed for a role is refused.

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
}

/// The calls of the public API, by their gRPC method names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rpc {
    BatchLookup,
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
    Attribute,
    Reflection,
}

impl Rpc {
    pub fn as_str(self) -> &'static str {
        match self {
            Rpc::BatchLookup => "BatchLookup",
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
            Rpc::Attribute => "Attribute",
            Rpc::Reflection => "ServerReflectionInfo",
        }
    }
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Ingest,
        Role::Investigator,
        Role::Analyst,
        Role::Partner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Ingest => "ingest",
            Role::Investigator => "investigator",
            Role::Analyst => "analyst",
            Role::Partner => "partner",
        }
    }

    /// Whether this role may make this call.
    pub fn may(self, rpc: Rpc) -> bool {
        use Rpc::*;
        // Every authenticated principal may ask the server what it serves.
        if rpc == Reflection {
            return true;
        }
        match self {
            Role::Admin => matches!(rpc, ListCorpora | GetCorpus | DeleteCorpus | Ingest | Upload | WatchJob),
            Role::Ingest => matches!(rpc, ListCorpora | GetCorpus | Ingest | Upload | WatchJob),
            Role::Investigator | Role::Analyst => matches!(
                rpc,
                BatchLookup | RangeLookup | Search | GetRecord | ListCorpora | GetCorpus | Match | Attribute
            ),
            Role::Partner => matches!(rpc, BatchLookup | RangeLookup),
        }
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
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| format!("unknown role {text:?} (expected admin, ingest, investigator, analyst or partner)"))
    }
}
