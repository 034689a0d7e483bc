//! The command line's flags: the clap types (their doc comments are the `--help` text) and
//! the parsers of their values.

use super::Failure;
use clap::{Args, Parser, Subcommand};
use leakdex::access::role::Role;
use leakdex::catalog::CorpusKind;
use leakdex::ingest::{Format, Kind, Region};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "leakdex",
    version,
    about = "Provenance search over leaked personal-data corpora"
)]
pub(crate) struct Cli {
    /// Data directory (default: $LEAKDEX_DATA_DIR, else ./leakdex-data).
    #[arg(long, global = true)]
    pub(crate) data_dir: Option<PathBuf>,
    /// Ask a running `leakdex serve` instead of the local data directory (lookup, search, show,
    /// corpora), e.g. http://127.0.0.1:7070.
    #[arg(long, global = true, env = "LEAKDEX_SERVER")]
    pub(crate) server: Option<String>,
    /// Bearer token for --server (issued with `leakdex token create`).
    #[arg(long, global = true, env = "LEAKDEX_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// For an https:// server: the CA that signed its certificate (PEM).
    #[arg(long, global = true)]
    pub(crate) ca: Option<PathBuf>,
    /// For mutual TLS: this client's certificate and key (PEM).
    #[arg(long, global = true, requires = "key")]
    pub(crate) cert: Option<PathBuf>,
    #[arg(long, global = true, requires = "cert")]
    pub(crate) key: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) backends: Backends,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where the index lives beyond the data directory: what several processes share.
#[derive(Args, Clone, Default)]
pub(crate) struct Backends {
    /// The catalog on PostgreSQL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE), shared by
    /// every process of a deployment; default: the data directory's catalog.json.
    #[arg(long = "catalog", global = true, env = "LEAKDEX_CATALOG", hide_env_values = true)]
    pub(crate) catalog_url: Option<String>,
    /// Published segments on S3-compatible object storage (s3://BUCKET/PREFIX; endpoint, region
    /// and keys from the AWS_* variables, AWS_ALLOW_HTTP=true for a local test server);
    /// default: the data directory.
    #[arg(long, global = true, env = "LEAKDEX_STORAGE")]
    pub(crate) storage: Option<String>,
    /// Bytes of segment files kept in DATA/cache/ from --storage, least recently used evicted.
    #[arg(long, global = true, default_value = "10GiB", value_parser = parse_bytes)]
    pub(crate) cache_size: usize,
    /// Identifier indexes and locations on --storage are read by byte range (a cluster node
    /// fetches only its partitions): gaps up to this between wanted ranges are fetched with
    /// them in one request; 0 fetches only the blocks wanted (a call waiting on scattered
    /// ranges may still close small gaps, adding at most as many bytes as it wants).
    #[arg(long, global = true, env = "LEAKDEX_FETCH_GAP", default_value = "64KiB", value_parser = parse_bytes)]
    pub(crate) fetch_gap: usize,
    /// The fingerprint key (32 hex digits) that every process of a deployment shares, as a
    /// Kubernetes Secret mounts it; default: DATA/key, made on first use.
    #[arg(long, global = true, env = "LEAKDEX_KEY_FILE")]
    pub(crate) key_file: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct ReadOptions {
    /// Force a format instead of sniffing: csv, tsv, psv, ssv, jsonl, json, sql, combo, text.
    #[arg(long)]
    pub(crate) format: Option<Format>,
    /// Region for phone numbers written without a country code (ISO 3166 code).
    #[arg(long, default_value = "IN")]
    pub(crate) region: Region,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Show what is in dump files: format, encoding, record counts, rejects, field kinds.
    Inspect {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        read: ReadOptions,
        /// Files or directories (walked recursively; zip archives are walked as folders).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Index dump files into a corpus (a new immutable segment).
    Ingest(IngestArgs),
    /// List corpora with their counts.
    Corpora {
        #[arg(long)]
        json: bool,
    },
    /// Unpublish a corpus and remove its segments.
    Delete {
        #[arg(long)]
        corpus: String,
    },
    /// Which corpora hold these identifiers, and where exactly.
    Lookup(LookupArgs),
    /// A private lookup: sends only the first 5 hex characters of the identifier's SHA-256 and
    /// checks the answer here (with --server, the server never learns the identifier).
    RangeLookup {
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value = "IN")]
        region: Region,
        value: String,
    },
    /// Full-text and fielded search: `name:"rahul sharma" district:pune`, `name:rahul~1`.
    Search {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        corpus: Vec<String>,
        /// Look for the query's words as written: nothing in it is syntax (fields, operators,
        /// quotes, brackets).
        #[arg(long)]
        plain: bool,
        query: String,
    },
    /// Build missing full-text indexes of published segments.
    ReindexText {
        /// Rebuild the indexes that exist too (after an upgrade that indexes more, such as
        /// names in Indic scripts in Latin letters); each is replaced once its successor is built.
        #[arg(long)]
        force: bool,
    },
    /// Bearer tokens for the gRPC service: each names a principal and its role.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The audit log: who asked what, when, with how many hits.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Canary records: planted in one distributed copy of a source system, so that meeting one
    /// names the copy that leaked.
    #[command(subcommand)]
    Canary(CanaryCommand),
    /// Match a suspect set's records to the indexed corpora and attribute the set: which corpus
    /// it was most likely copied from, with the evidence. Verdict first.
    Provenance(ProvenanceArgs),
    /// Print a record as stored, to check a hit against its source.
    Show {
        #[arg(long)]
        corpus: String,
        #[arg(long)]
        file: String,
        /// Record number in the file (1-based, as in hits).
        #[arg(long)]
        record: u64,
        #[arg(long)]
        json: bool,
    },
    /// Recompute every segment's checksums.
    Verify {
        #[arg(long)]
        corpus: Vec<String>,
    },
    /// Serve the gRPC API (leakdex.v1 Lookup and Corpora, health, reflection).
    Serve(Box<ServeArgs>),
    /// Write synthetic corpora with known overlaps.
    Gen {
        #[arg(long)]
        out: PathBuf,
        /// Records per corpus.
        #[arg(long, default_value_t = 10_000)]
        records: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also write a bot-style suspect sample of this many records drawn from the corpora,
        /// as FILE (JSON Lines) and its truth as FILE.truth.jsonl (not inside --out, so that
        /// ingesting the corpora does not ingest the sample).
        #[arg(long, value_names = ["COUNT", "FILE"], num_args = 2)]
        suspects: Option<Vec<String>>,
        /// Also write dumps of the shapes real leaks come in (a JSON document wrapping its
        /// records, mixed and labelled identifiers, a SQL dump split into schema and data) under
        /// DIR, for the first --records people, and every identifier they hold with its file and
        /// record as DIR.truth.jsonl.
        #[arg(long, value_name = "DIR")]
        shapes: Option<PathBuf>,
    },
    /// Generate corpora and suspect samples, ingest them, look the phones up, search, and end
    /// with the provenance report of a bot-style sample, verdict first.
    Demo {
        #[arg(long, default_value = "leakdex-demo")]
        out: PathBuf,
        #[arg(long, default_value_t = 20_000)]
        records: u64,
    },
}

// The commands with more flags than a function takes comfortably have a struct of their own,
// handed whole to the function that runs the command.
#[derive(Args)]
pub(crate) struct IngestArgs {
    #[arg(long)]
    pub(crate) corpus: String,
    #[arg(long, default_value = "leak")]
    pub(crate) kind: CorpusKind,
    /// When the data was acquired (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    pub(crate) acquired: Option<String>,
    /// Where the data came from (custody notes).
    #[arg(long)]
    pub(crate) source: Option<String>,
    /// Bytes of fingerprints held in memory before sorted runs spill to disk.
    #[arg(long, default_value = "1GiB", value_parser = parse_bytes)]
    pub(crate) memory_budget: usize,
    /// Ingest files even if the corpus already holds the same bytes.
    #[arg(long)]
    pub(crate) force: bool,
    /// Publish the exact index only; build the full-text index later with `leakdex reindex-text`.
    #[arg(long)]
    pub(crate) no_text: bool,
    #[arg(long)]
    pub(crate) json: bool,
    /// Only the I-th (from 0) of N shares of the input files, balanced by bytes, e.g.
    /// `--part $JOB_COMPLETION_INDEX/8` in a Kubernetes Indexed Job: N processes given the same
    /// inputs ingest every file once. A part killed and run again ingests what it had not
    /// published; a part that finished, run again, ingests nothing.
    #[arg(long, value_parser = parse_part)]
    pub(crate) part: Option<(usize, usize)>,
    #[command(flatten)]
    pub(crate) read: ReadOptions,
    #[arg(required = true)]
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Args)]
pub(crate) struct LookupArgs {
    /// Identifier kind of every query (default: recognized from each value).
    #[arg(long)]
    pub(crate) kind: Option<String>,
    /// Only these corpora.
    #[arg(long)]
    pub(crate) corpus: Vec<String>,
    #[arg(long)]
    pub(crate) json: bool,
    /// Read queries from a file, one per line ('-' for standard input), or from an object
    /// `s3://BUCKET/KEY` (the client configured from the AWS_* variables, as for --storage).
    #[arg(long)]
    pub(crate) file: Option<PathBuf>,
    /// Write the answers to this file or object (`s3://BUCKET/KEY`) instead of standard
    /// output; it appears whole once every answer is written, never in part.
    #[arg(long)]
    pub(crate) output: Option<PathBuf>,
    #[arg(long, default_value = "IN")]
    pub(crate) region: Region,
    /// With --server on a cluster: fail (UNAVAILABLE) rather than print an answer marked
    /// incomplete, one some of whose index partitions no live node held.
    #[arg(long)]
    pub(crate) require_complete: bool,
    pub(crate) values: Vec<String>,
}

#[derive(Args)]
pub(crate) struct ProvenanceArgs {
    /// Print the report as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
    /// Write a self-contained HTML report here.
    #[arg(long)]
    pub(crate) html: Option<PathBuf>,
    /// Write each suspect record's matches, best first, as JSON Lines in input order.
    #[arg(long)]
    pub(crate) records: Option<PathBuf>,
    /// Attribute an ingested corpus (of kind suspect) instead of files.
    #[arg(long, conflicts_with = "paths")]
    pub(crate) corpus: Option<String>,
    /// Lowest match score (0 to 1) that counts as found.
    #[arg(long, default_value_t = 0.5)]
    pub(crate) threshold: f64,
    #[command(flatten)]
    pub(crate) read: ReadOptions,
    #[arg(required_unless_present = "corpus")]
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub(crate) listen: std::net::SocketAddr,
    #[arg(long, default_value = "IN")]
    pub(crate) region: Region,
    /// Seconds in-flight calls get to finish after SIGTERM or Ctrl-C.
    #[arg(long, default_value_t = 10)]
    pub(crate) grace: u64,
    /// Serve Prometheus metrics at http://ADDR/metrics, to bearer tokens of the monitor or
    /// admin role. Plain HTTP: beyond loopback only with --insecure.
    #[arg(long)]
    pub(crate) metrics_listen: Option<std::net::SocketAddr>,
    /// A folder whose files `Corpora.Ingest` may read by server path (repeatable). None by
    /// default: callers upload. Symbolic links are resolved and must stay inside; the data
    /// directory is never readable this way.
    #[arg(long, env = "LEAKDEX_INGEST_ROOTS", value_delimiter = ',')]
    pub(crate) ingest_root: Vec<PathBuf>,
    /// Largest upload accepted, in bytes.
    #[arg(long, default_value_t = 16 << 30)]
    pub(crate) max_upload_bytes: u64,
    /// Serve over TLS with this certificate chain (PEM)...
    #[arg(long, requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// ...and its private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Accept client certificates signed by this CA (PEM): mutual TLS. A certificate must be
    /// registered to a principal (`leakdex token create --name NAME --role ROLE
    /// --certificate CERT.pem`); the names inside it are not trusted.
    #[arg(long, requires = "tls_cert")]
    pub(crate) client_ca: Option<PathBuf>,
    /// Listen beyond loopback without TLS. Tokens then cross the network in the clear.
    #[arg(long)]
    pub(crate) insecure: bool,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
}

/// How `serve` joins a cluster (all of them apply only with --cluster-listen).
#[derive(Args)]
pub(crate) struct ClusterArgs {
    /// Join a cluster: receive gossip (UDP) here, e.g. 0.0.0.0:7946 (port 0: any free port,
    /// printed). Needs the cluster's shared --catalog, --storage and --key-file.
    #[arg(long, env = "LEAKDEX_CLUSTER_LISTEN")]
    pub(crate) cluster_listen: Option<std::net::SocketAddr>,
    /// A node to gossip with first, HOST:PORT (repeatable; a Kubernetes headless Service name
    /// works: it is resolved again every minute).
    #[arg(long = "seed", env = "LEAKDEX_SEEDS", value_delimiter = ',')]
    pub(crate) seeds: Vec<String>,
    /// This node's id, unique in the cluster and stable across restarts (default: host name).
    #[arg(long, env = "LEAKDEX_NODE_ID")]
    pub(crate) node_id: Option<String>,
    /// HOST:PORT at which the other nodes reach this node's gRPC listener (default: --listen,
    /// when that is not a wildcard address). Its host, with --cluster-listen's port, is also
    /// where they send gossip when --cluster-listen is a wildcard.
    #[arg(long, env = "LEAKDEX_ADVERTISE")]
    pub(crate) advertise: Option<String>,
    /// Nodes that hold each index partition.
    #[arg(long, env = "LEAKDEX_REPLICAS", default_value_t = leakdex::cluster::placement::DEFAULT_REPLICAS)]
    pub(crate) replicas: usize,
    /// Milliseconds between gossip rounds; a dead node is noticed after about 8 rounds.
    #[arg(long, default_value_t = 500)]
    pub(crate) gossip_interval_ms: u64,
    /// Seconds a node that left (drained, killed, unreachable) keeps its partitions before they
    /// are placed on the others (a restarted pod that returns sooner moves nothing); meanwhile
    /// their other holders answer, and answers only it held are marked incomplete.
    #[arg(long, env = "LEAKDEX_REBALANCE_AFTER", default_value_t = 60)]
    pub(crate) rebalance_after: u64,
    /// Milliseconds a part of a lookup sent to another node may take (or the caller's deadline,
    /// when sooner) before it is asked of a replica; a node that failed is then asked last for
    /// ten seconds.
    #[arg(long, env = "LEAKDEX_PART_TIMEOUT_MS", default_value_t = 10_000)]
    pub(crate) part_timeout_ms: u64,
    /// With --tls-cert: the CA (PEM) that signed the other nodes' certificates, to call them.
    #[arg(long, env = "LEAKDEX_CLUSTER_CA")]
    pub(crate) cluster_ca: Option<PathBuf>,
}

#[derive(Subcommand)]
pub(crate) enum TokenCommand {
    /// Issue a token; it is printed once and only its SHA-256 is kept.
    Create {
        /// Who holds it (an agency's service, a person).
        #[arg(long)]
        name: String,
        /// admin, ingest, investigator, analyst, partner or monitor.
        #[arg(long)]
        role: Role,
        /// Register this client certificate (PEM) for the principal instead of printing a
        /// token: mutual TLS then names the principal by the certificate's SHA-256, never by
        /// the names inside it.
        #[arg(long)]
        certificate: Option<PathBuf>,
    },
    /// Issued tokens (never the tokens themselves).
    List,
    /// Revoke by id or name; takes effect at the server's next call, and on open streams
    /// before their next batch.
    Revoke { id_or_name: String },
}

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Check the log's keyed hash chain; names every edited, deleted, inserted or reordered
    /// entry.
    Verify {
        /// An anchor printed earlier by `audit anchor` and kept off this machine: the log must
        /// still hold that entry, unchanged.
        #[arg(long)]
        anchor: Option<String>,
    },
    /// Print the last entry's sequence number and hash (SEQ:HASH) to keep off this machine.
    Anchor,
    /// Print entries, filtered by principal and time.
    Show {
        #[arg(long)]
        principal: Option<String>,
        /// From this time on (YYYY-MM-DD or RFC 3339, UTC).
        #[arg(long)]
        since: Option<String>,
        /// Up to this time (a date includes the whole day).
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum CanaryCommand {
    /// Register the records of FILE as canaries planted in the copy SOURCE; every later ingest
    /// and provenance run that meets one reports it first.
    Add {
        /// The distributed copy the records were planted in (e.g. `state-health-dept-2023`).
        #[arg(long)]
        source: String,
        /// Corpus name for the canaries (default: canary-SOURCE).
        #[arg(long)]
        corpus: Option<String>,
        #[command(flatten)]
        read: ReadOptions,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// The registered canary corpora and the copies they were planted in.
    List,
}

fn parse_date(text: &str) -> Result<String, String> {
    if leakdex::ingest::normalize::is_iso_date(text) {
        Ok(text.to_string())
    } else {
        Err(format!("{text:?} is not a date written YYYY-MM-DD"))
    }
}

fn parse_bytes(text: &str) -> Result<usize, String> {
    let lower = text.trim().to_ascii_lowercase();
    let (digits, unit) = lower.split_at(lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len()));
    let number: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 512MiB or 2GiB"))?;
    let multiplier = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("{text:?}: unknown unit (use KiB, MiB or GiB)")),
    };
    Ok(number * multiplier)
}

pub(super) fn parse_kind(kind: Option<&str>) -> Result<Option<Kind>, Failure> {
    Ok(match kind {
        None | Some("auto") => None,
        Some(name) => Some(name.parse::<Kind>()?),
    })
}

/// `I/N` with I < N.
fn parse_part(text: &str) -> Result<(usize, usize), String> {
    let (part, parts) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?}: give the part as I/N, e.g. 0/8"))?;
    let part: usize = part
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: I is not a number"))?;
    let parts: usize = parts
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: N is not a number"))?;
    if parts == 0 || part >= parts {
        return Err(format!("{text:?}: I counts from 0 and must be below N"));
    }
    Ok((part, parts))
}
