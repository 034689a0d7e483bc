//! Service implementations. Blocking work (lookups over mmaps, search, catalog files) runs on
//! tokio's blocking pool; the async side only moves messages.

use super::auth::{Authenticator, Principal};
use super::batching::{Batched, at_most, micro_batched, per_message};
use super::convert::{corpus_kind_from_proto, kind_from_proto, record_to_proto};
use super::jobs::JobSpec;
use super::proto::{self, JobPhase, corpora_server, lookup_server};
use super::status::{catalog_status, status};
use crate::access::audit::{self, AuditLog, Request as AuditRequest};
use crate::access::limits::{Limiter, Numbered, Sweep};
use crate::access::redact::{redact_field_name, redact_record};
use crate::access::role::{Role, Rpc};
use crate::catalog::{Catalog, CorpusKind, FileCatalog};
use crate::ingest::{Kind, Region};
use crate::query::range::range_lookup;
use crate::query::{Index, Query, check_query, lookup_batch_with, readable, search, snippet_of};
use crate::segment::delete_corpus;
use crate::storage::DataDir;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

/// Lookups answered together when they arrive together (one sorted pass per batch).
const MICRO_BATCH: usize = 4096;
/// Largest LookupRequest answered (a value and a few corpus names need far less); a larger one
/// is answered with an error.
pub const MAX_LOOKUP_REQUEST: usize = 64 << 10;
/// Most requests in one LookupBatch (as `proto/leakdex/v1/lookup.proto` says): a micro-batch,
/// so that one message is admitted, answered and put on the record as one batch, never more
/// than the rate limiter's unit of work.
pub const MAX_LOOKUP_BATCH: usize = MICRO_BATCH;
/// Largest message a client may send (gRPC's default, stated in the protos): a LookupBatch of
/// [`MAX_LOOKUP_BATCH`] phone numbers with ids is about 120 KB.
pub const MAX_MESSAGE: usize = 4 << 20;

/// What a server allows beyond the role matrix.
#[derive(Clone, Debug)]
pub struct ServerPolicy {
    /// Folders under which `Corpora.Ingest` may read files already on the server. None by
    /// default: callers upload instead. The data directory is never readable this way.
    pub ingest_roots: Vec<PathBuf>,
    /// Largest upload accepted, in bytes.
    pub max_upload_bytes: u64,
}

impl Default for ServerPolicy {
    fn default() -> Self {
        ServerPolicy {
            ingest_roots: Vec::new(),
            max_upload_bytes: 16 << 30,
        }
    }
}

/// The indexes a server answers from, reopened together when the catalog changes.
struct Served {
    /// The catalog's generation it was opened at.
    generation: u64,
    /// Every published corpus: for the roles that see canaries.
    full: Arc<Index>,
    /// Every published corpus but canaries: for every other role, so that no path (lookups,
    /// corpus filters, search, records, matches, reports) can reveal one.
    public: Arc<Index>,
}

/// What the services share: the data directory, its catalog, and the open index, reopened when
/// the catalog changes so new segments become visible without a restart.
pub struct ServiceState {
    pub(super) metrics: Arc<super::metrics::Metrics>,
    auth: Authenticator,
    audit: AuditLog,
    limiter: Arc<Limiter>,
    jobs: super::jobs::Jobs,
    data: DataDir,
    catalog: Arc<dyn Catalog>,
    region: Region,
    policy: ServerPolicy,
    index: Mutex<Served>,
    /// This server's cluster, once it has joined one.
    cluster: std::sync::OnceLock<super::cluster::Clustered>,
}

/// How often the limiter's counters are saved when they changed.
const SAVE_LIMITS_EVERY: Duration = Duration::from_secs(1);

impl ServiceState {
    /// The state of a server with the default [`ServerPolicy`].
    pub fn open(data: DataDir, region: Region) -> Result<Arc<ServiceState>, Status> {
        let catalog = Arc::new(FileCatalog::open(data.root()));
        ServiceState::open_with(data, catalog, region, ServerPolicy::default())
    }

    /// The state of a server over `data`: its catalog, index, tokens, audit log and limits.
    /// Uploads left by a previous run (whose jobs died with it) are removed.
    ///
    /// Errors: INVALID_ARGUMENT for a malformed `limits.json` or an ingest root that does not
    /// exist; the index's errors.
    pub fn open_with(
        data: DataDir,
        catalog: Arc<dyn Catalog>,
        region: Region,
        policy: ServerPolicy,
    ) -> Result<Arc<ServiceState>, Status> {
        let metrics = Arc::new(super::metrics::Metrics::default());
        let served = open_served(&data, catalog.as_ref())?;
        metrics.segments.set(served.full.segments.len() as i64);
        let ingest_roots = policy
            .ingest_roots
            .iter()
            .map(|root| {
                root.canonicalize()
                    .map_err(|error| Status::invalid_argument(format!("ingest root {}: {error}", root.display())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let _ = std::fs::remove_dir_all(data.root().join("uploads"));
        let limiter =
            Arc::new(Limiter::configured(&data).map_err(|error| Status::invalid_argument(error.to_string()))?);
        save_limits_while_served(Arc::downgrade(&limiter));
        Ok(Arc::new(ServiceState {
            auth: Authenticator::new(&data),
            audit: AuditLog::new(&data),
            limiter,
            jobs: super::jobs::Jobs::new(metrics.clone()),
            metrics,
            data,
            catalog,
            region,
            policy: ServerPolicy { ingest_roots, ..policy },
            index: Mutex::new(served),
            cluster: std::sync::OnceLock::new(),
        }))
    }

    /// The caller of `request`, if its role may make the call `rpc`; counts the call. A refusal
    /// is put on the record.
    pub(super) fn authorize<T>(&self, request: &Request<T>, rpc: Rpc) -> Result<Principal, Status> {
        self.metrics.call(rpc.as_str());
        let certificates = request.peer_certs();
        let certificates = certificates.as_deref().map(Vec::as_slice);
        self.auth
            .authorize(request.metadata(), certificates, rpc)
            .inspect_err(|refusal| {
                let caller = self.auth.authenticate(request.metadata(), certificates).ok();
                self.refused(caller.as_ref(), rpc, refusal);
            })
    }

    /// The principal of a plain HTTP request (the metrics endpoint) by its `Authorization`
    /// header, if its role may make `rpc`; a refusal is put on the record.
    pub(super) fn authorize_header(&self, authorization: Option<&str>, rpc: Rpc) -> Result<Principal, Status> {
        let mut metadata = tonic::metadata::MetadataMap::new();
        if let Some(value) = authorization.and_then(|value| value.parse().ok()) {
            metadata.insert("authorization", value);
        }
        self.auth.authorize(&metadata, None, rpc).inspect_err(|refusal| {
            let caller = self.auth.authenticate(&metadata, None).ok();
            self.refused(caller.as_ref(), rpc, refusal);
        })
    }

    /// The principal of a call in progress as the token store has it now (see
    /// [`Authenticator::recheck`]).
    pub(super) fn recheck(&self, principal: &Principal, rpc: Rpc) -> Result<Principal, Status> {
        self.auth.recheck(principal, rpc)
    }

    /// Puts a refused or failed call on the record with its code, as made by `principal`
    /// (`unauthenticated`, with no role, when it named none). The call is refused already: if
    /// the log cannot be written, that is logged.
    pub(super) fn refused(&self, principal: Option<&Principal>, rpc: Rpc, refusal: &Status) {
        let entry = AuditRequest {
            principal: principal.map_or_else(|| "unauthenticated".to_string(), |principal| principal.name.clone()),
            role: principal.map_or("", |principal| principal.role.as_str()).to_string(),
            rpc: rpc.as_str().to_string(),
            outcome: format!("{:?}", refusal.code()),
            ..AuditRequest::default()
        };
        if let Err(error) = blocking(|| self.audit.append(&entry)) {
            tracing::error!(%error, "audit log unavailable: a refusal is not on the record");
        }
    }

    /// `result`, with a failure put on the record (answers are recorded where they are made).
    pub(super) fn settle<T>(&self, principal: &Principal, rpc: Rpc, result: Result<T, Status>) -> Result<T, Status> {
        result.inspect_err(|refusal| self.refused(Some(principal), rpc, refusal))
    }

    /// Admits `lookups` lookups by the principal under its role's rate limit and quotas.
    pub(super) fn admit(&self, principal: &Principal, lookups: u64) -> Result<(), Status> {
        self.limiter
            .admit(&principal.name, principal.role, lookups)
            .map_err(|refusal| limited(principal, &refusal))
    }

    /// Counts an answered call's hits against the quota and watches the identifiers asked
    /// about for a sweep; a sweep is logged, put on the record, and the call refused.
    pub(super) fn account(&self, principal: &Principal, hits: usize, points: Vec<Numbered>) -> Result<(), Status> {
        self.limiter.count_hits(&principal.name, principal.role, hits as u64);
        let sweep = self.limiter.watch(&principal.name, principal.role, points.into_iter());
        if sweep == Sweep::None {
            return Ok(());
        }
        tracing::warn!(principal = %principal.name, role = %principal.role, ?sweep, "enumeration detected: a range of identifiers swept");
        let event = AuditRequest {
            principal: principal.name.clone(),
            role: principal.role.as_str().to_string(),
            rpc: "EnumerationDetected".to_string(),
            ..AuditRequest::default()
        };
        self.audit
            .append(&event)
            .map_err(|error| Status::unavailable(format!("the audit log cannot be written: {error}")))?;
        if sweep == Sweep::Noted {
            return Ok(());
        }
        Err(Status::resource_exhausted(
            "throttled: the calls swept a range of identifiers (enumeration); this is on the record",
        ))
    }

    /// The phones and Aadhaar numbers written in free text (a search query), as points for
    /// sweep detection.
    pub(super) fn points_in_text(&self, text: &str) -> Vec<Numbered> {
        let mut normalized = String::new();
        text.split(|character: char| !(character.is_ascii_digit() || character == '+'))
            .filter(|word| word.len() >= 10)
            .filter_map(|word| {
                if crate::ingest::normalize::is_aadhaar(word) {
                    return Numbered::of(Kind::NationalId, word);
                }
                let validity = crate::ingest::normalize::normalize(Kind::Phone, word, self.region, &mut normalized);
                (validity == crate::ingest::Validity::Valid)
                    .then(|| Numbered::of(Kind::Phone, &normalized))
                    .flatten()
            })
            .collect()
    }

    /// Puts an answered call on the record. Blocking (the entry is fsynced): call it where
    /// blocking is allowed. A call that cannot be recorded is not answered.
    pub(super) fn record(
        &self,
        principal: &Principal,
        rpc: Rpc,
        queries: usize,
        hits: usize,
        asked: Vec<u64>,
    ) -> Result<(), Status> {
        let request = AuditRequest {
            principal: principal.name.clone(),
            role: principal.role.as_str().to_string(),
            rpc: rpc.as_str().to_string(),
            queries: queries as u64,
            hits: hits as u64,
            asked,
            outcome: String::new(),
        };
        blocking(|| self.audit.append(&request)).map(|_| ()).map_err(|error| {
            tracing::error!(%error, "audit log unavailable; refusing to answer");
            Status::unavailable("the audit log cannot be written; the call was not answered")
        })
    }

    /// The keyed fingerprint of a value asked about, for the audit log.
    pub(super) fn fingerprint(&self, kind: Kind, value: &str) -> u64 {
        crate::fingerprint::fingerprint(&self.data.key(), kind, value)
    }

    /// Group writes of the audit log since the server started.
    pub(super) fn audit_writes(&self) -> u64 {
        self.audit.groups_written()
    }

    /// The service's metrics.
    pub fn metrics(&self) -> Arc<super::metrics::Metrics> {
        self.metrics.clone()
    }

    /// Makes this server a node of a cluster: lookups are then probed by the holders of each
    /// partition (see `service::cluster`), and other nodes' internal calls are answered.
    /// Joining twice keeps the first.
    pub fn join_cluster(&self, cluster: super::cluster::Clustered) {
        let _ = self.cluster.set(cluster);
    }

    pub(super) fn cluster(&self) -> Option<&super::cluster::Clustered> {
        self.cluster.get()
    }

    pub(super) fn data(&self) -> &DataDir {
        &self.data
    }

    pub(super) fn catalog(&self) -> &dyn Catalog {
        self.catalog.as_ref()
    }

    /// In a cluster: how many ready members this node sees, and how many vanished nodes it
    /// still places partitions on.
    pub(super) fn cluster_view(&self) -> Option<(usize, usize)> {
        self.cluster().map(super::cluster::Clustered::view)
    }

    /// The index `role` answers from (without canary corpora unless it sees them); reopened
    /// (cheaply: manifests and mmaps) if the catalog changed.
    pub(super) fn index_for(&self, role: Role) -> Result<Arc<Index>, Status> {
        // Cheap: a `stat` of the catalog file, or a number the PostgreSQL catalog keeps polled.
        let generation = self.catalog.generation().map_err(catalog_status)?;
        let mut current = self.index.lock().unwrap_or_else(|poison| poison.into_inner());
        if current.generation != generation {
            *current = match open_served(&self.data, self.catalog.as_ref()) {
                Ok(served) => served,
                // A corpus deleted between reading the catalog and opening its segments (their
                // files already gone) moved the generation: once more, over the catalog as it
                // is now. A failure with the catalog unchanged (a damaged segment) is the answer.
                Err(failure) if self.catalog.generation().map_err(catalog_status)? != generation => {
                    tracing::info!(%failure, "the catalog changed while the index reopened; reopening again");
                    open_served(&self.data, self.catalog.as_ref())?
                }
                Err(failure) => return Err(failure),
            };
            self.metrics.segments.set(current.full.segments.len() as i64);
            tracing::info!(
                segments = current.full.segments.len(),
                "index reopened after a catalog change"
            );
        }
        Ok(if role.sees_canaries() {
            current.full.clone()
        } else {
            current.public.clone()
        })
    }

    /// Refuses a job into an existing corpus of another kind. Only admins learn which kind: a
    /// name taken by a canary corpus must not tell anyone else that a canary is there.
    fn check_corpus_kind(&self, principal: &Principal, spec: &JobSpec) -> Result<(), Status> {
        let existing = self.catalog.corpus(&spec.corpus).map_err(catalog_status)?;
        match existing {
            Some(corpus) if corpus.kind != spec.kind => {
                Err(Status::failed_precondition(if principal.role == Role::Admin {
                    format!("corpus {:?} exists with kind {}", spec.corpus, corpus.kind)
                } else {
                    format!("corpus {:?} exists with another kind: choose another name", spec.corpus)
                }))
            }
            _ => Ok(()),
        }
    }

    /// The files a server path names, if the policy lets `Corpora.Ingest` read it: resolved
    /// (symbolic links too) under an ingest root and outside the data directory. The error
    /// says the same for a path that does not exist and one that is not allowed, and echoes
    /// only what the caller sent.
    fn confined(&self, asked: &str) -> Result<PathBuf, Status> {
        let refused = || {
            Status::permission_denied(format!(
                "{asked:?} is not a readable path under this server's ingest roots (see `leakdex serve --ingest-root`); upload the file instead"
            ))
        };
        if self.policy.ingest_roots.is_empty() {
            return Err(Status::permission_denied(
                "this server reads no server-side paths (no --ingest-root): upload the files instead",
            ));
        }
        let resolved = Path::new(asked).canonicalize().map_err(|_| refused())?;
        let data = self.data.root().canonicalize().map_err(|_| refused())?;
        let allowed = self.policy.ingest_roots.iter().any(|root| resolved.starts_with(root))
            && !resolved.starts_with(&data)
            && !data.starts_with(&resolved);
        if !allowed {
            return Err(refused());
        }
        // A folder is read recursively: no link inside it may lead out.
        for entry in walkdir::WalkDir::new(&resolved).follow_links(true) {
            let entry = entry.map_err(|_| refused())?;
            let target = entry.path().canonicalize().map_err(|_| refused())?;
            if !self.policy.ingest_roots.iter().any(|root| target.starts_with(root)) || target.starts_with(&data) {
                return Err(refused());
            }
        }
        Ok(resolved)
    }
}

impl Drop for ServiceState {
    fn drop(&mut self) {
        if let Err(error) = self.limiter.save() {
            tracing::error!(%error, "the limiter's state cannot be saved");
        }
    }
}

/// Runs blocking work (an audit entry's fsync) wherever the caller is: on a runtime worker,
/// tokio first hands the worker's other tasks to another thread, so a flood of refused calls
/// does not stall the calls being answered.
fn blocking<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// Runs `work` on tokio's blocking pool (index reads, searches, catalog files, audit fsyncs);
/// a task that panicked is INTERNAL.
pub(super) async fn blocking_call<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|join| Status::internal(join.to_string()))?
}

/// Maps a limiter's refusal to its status, logged.
fn limited(principal: &Principal, refusal: &crate::access::limits::Refusal) -> Status {
    tracing::warn!(principal = %principal.name, role = %principal.role, %refusal, "call refused by limits");
    Status::resource_exhausted(refusal.to_string())
}

fn open_served(data: &DataDir, catalog: &dyn Catalog) -> Result<Served, Status> {
    // Read before the corpora: a change in between is seen at the next poll, never lost.
    let generation = catalog.generation().map_err(catalog_status)?;
    let all = catalog.corpora().map_err(catalog_status)?;
    let full = Index::open_where(data, &all, |_| true).map_err(status)?;
    let public = Index::open_where(data, &all, |corpus| corpus.kind != CorpusKind::Canary).map_err(status)?;
    Ok(Served {
        generation,
        full: Arc::new(full),
        public: Arc::new(public),
    })
}

/// Saves the limiter's counters every [`SAVE_LIMITS_EVERY`] while the server holds it.
fn save_limits_while_served(limiter: std::sync::Weak<Limiter>) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(SAVE_LIMITS_EVERY);
            let Some(limiter) = limiter.upgrade() else {
                return;
            };
            if let Err(error) = limiter.save() {
                tracing::error!(%error, "the limiter's state cannot be saved");
            }
        }
    });
}

/// Answers one micro-batch of requests, on the record. The principal is checked again first:
/// a token revoked, or a role changed, while the stream is open takes effect here.
fn answer(
    state: &ServiceState,
    principal: &Principal,
    rpc: Rpc,
    requests: Vec<proto::LookupRequest>,
    deadline: Option<std::time::Instant>,
) -> Result<Vec<proto::LookupResponse>, Status> {
    let started = std::time::Instant::now();
    if deadline.is_some_and(|deadline| deadline <= started) {
        return Err(Status::deadline_exceeded(
            "the call's deadline passed before this batch was answered",
        ));
    }
    let principal = &state.recheck(principal, rpc)?;
    state.admit(principal, requests.len() as u64)?;
    let (responses, asked, points, refusal) = answer_batch(state, principal, requests, deadline)?;
    let hits: u64 = responses
        .iter()
        .flat_map(|response| &response.hits)
        .map(|hit| hit.count.max(1))
        .sum();
    state.record(principal, rpc, responses.len(), hits as usize, asked)?;
    state.account(principal, hits as usize, points)?;
    if let Some(refusal) = refusal {
        // Answered, on the record and charged, then withheld: the caller asked for complete
        // answers only.
        return Err(refusal);
    }
    state.metrics.lookups.inc_by(responses.len() as u64);
    state.metrics.hits.inc_by(hits);
    state
        .metrics
        .lookup_batch_seconds
        .observe(started.elapsed().as_secs_f64());
    Ok(responses)
}

/// The responses, the fingerprints of what was asked (for the audit log), the phones and IDs
/// asked about (for sweep detection), and the refusal of a request that required a complete
/// answer and would get an incomplete one.
type Answered = (Vec<proto::LookupResponse>, Vec<u64>, Vec<Numbered>, Option<Status>);

fn answer_batch(
    state: &ServiceState,
    principal: &Principal,
    mut requests: Vec<proto::LookupRequest>,
    deadline: Option<std::time::Instant>,
) -> Result<Answered, Status> {
    let index = state.index_for(principal.role)?;
    let known: HashSet<&str> = index.segments.iter().map(|segment| segment.corpus.as_str()).collect();
    let mut queries = Vec::with_capacity(requests.len());
    let mut problems: Vec<Option<String>> = Vec::with_capacity(requests.len());
    for request in &mut requests {
        let kind = kind_from_proto(request.kind);
        let unknown = request.corpora.iter().find(|corpus| !known.contains(corpus.as_str()));
        let size = prost::Message::encoded_len(request);
        problems.push(match (&kind, unknown) {
            _ if size > MAX_LOOKUP_REQUEST => Some(format!(
                "the request is {size} bytes; at most {MAX_LOOKUP_REQUEST} are answered"
            )),
            (Err(error), _) => Some(error.clone()),
            (_, Some(corpus)) => Some(format!("no corpus named {corpus:?} (or it has no records yet)")),
            _ => None,
        });
        if size > MAX_LOOKUP_REQUEST {
            // Not read at all: its value is no query.
            request.value.clear();
        }
        queries.push(Query {
            // The response does not repeat the value: it moves rather than copies.
            value: std::mem::take(&mut request.value),
            kind: kind.unwrap_or(None),
        });
    }
    let locations = principal.role.sees_locations();
    let contents = principal.role.sees_contents();
    let key = state.data.key();
    // Responses are made on the lookup's threads, each as its answer is ready; their ids are
    // moved in below, in order.
    let probing = super::cluster::Probing {
        metrics: &state.metrics,
        cluster: state.cluster(),
        deadline,
    };
    let answered = lookup_batch_with(&index, &probing, state.region, &queries, |position, answer| {
        let asked = audit::asked(&key, &answer);
        let number = answer
            .kind
            .zip(answer.normalized.as_deref())
            .and_then(|(kind, normalized)| Numbered::of(kind, normalized));
        if let Some(error) = problems[position].clone().or(answer.error) {
            let response = proto::LookupResponse {
                error,
                ..Default::default()
            };
            return (response, asked, number);
        }
        let wanted = &requests[position].corpora;
        let found = answer.hits.as_ref().map_or(0, ExactSizeIterator::len);
        let hits = answer
            .hits
            .into_iter()
            .flatten()
            .filter(|hit| wanted.is_empty() || wanted.iter().any(|corpus| corpus == hit.corpus));
        // A name, username or password hash is no identifier: guessed from a dictionary, its
        // locations would pin redacted records. Roles without contents learn counts for them.
        let guessable = matches!(answer.kind, Some(Kind::Name | Kind::Username | Kind::PasswordHash));
        let hits = if locations && (contents || !guessable) {
            // Sized for every hit found: a filtered iterator would grow the Vec as it goes.
            let mut shown = Vec::with_capacity(found);
            shown.extend(hits.map(|hit| proto::Hit {
                corpus: hit.corpus.clone(),
                // Names of fields and files can themselves be identifiers (a dump keyed by
                // phone number, a file per person).
                file: if contents {
                    hit.file.clone()
                } else {
                    std::borrow::Cow::Owned(redact_field_name(hit.file))
                },
                record: hit.record,
                line: hit.line,
                offset: hit.offset,
                field: if contents {
                    hit.field.clone()
                } else {
                    std::borrow::Cow::Owned(redact_field_name(hit.field))
                },
                acquired: hit.acquired.cloned().unwrap_or_default(),
                count: 1,
            }));
            shown
        } else {
            // Corpus names, counts and acquisition dates only.
            let mut per_corpus: Vec<proto::Hit> = Vec::new();
            for hit in hits {
                match per_corpus.iter_mut().find(|known| known.corpus == *hit.corpus) {
                    Some(known) => known.count += 1,
                    None => per_corpus.push(proto::Hit {
                        corpus: hit.corpus.clone(),
                        acquired: hit.acquired.cloned().unwrap_or_default(),
                        count: 1,
                        ..Default::default()
                    }),
                }
            }
            per_corpus
        };
        let response = proto::LookupResponse {
            id: String::new(),
            incomplete: !answer.missing_partitions.is_empty(),
            missing_partitions: answer.missing_partitions,
            normalized: answer.normalized.unwrap_or_default(),
            kind: answer.kind.map_or(0, |kind| proto::IdentifierKind::from(kind) as i32),
            hits,
            error: String::new(),
            validity: answer
                .validity
                .map(|validity| validity.as_str().to_string())
                .unwrap_or_default(),
        };
        (response, asked, number)
    });
    let mut responses = Vec::with_capacity(answered.len());
    let mut asked = Vec::with_capacity(answered.len());
    let mut numbers = Vec::new();
    let mut refusal = None;
    for ((mut response, fingerprint, number), request) in answered.into_iter().zip(requests) {
        if request.require_complete && response.incomplete && refusal.is_none() {
            refusal = Some(Status::unavailable(format!(
                "request {:?}: no live node holds index partitions {:?}, and it requires a complete answer",
                request.id, response.missing_partitions
            )));
        }
        response.id = request.id;
        responses.push(response);
        asked.push(fingerprint);
        numbers.extend(number);
    }
    Ok((responses, asked, numbers, refusal))
}

/// `leakdex.v1.Lookup`.
pub(super) struct LookupService {
    pub(super) state: Arc<ServiceState>,
}

type ResponseStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<proto::LookupResponse, Status>> + Send>>;
type LookupBatchStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<proto::LookupBatchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl lookup_server::Lookup for LookupService {
    type BatchLookupStream = ResponseStream;

    async fn batch_lookup(
        &self,
        request: Request<Streaming<proto::LookupRequest>>,
    ) -> Result<Response<Self::BatchLookupStream>, Status> {
        let principal = self.state.authorize(&request, Rpc::BatchLookup)?;
        let state = self.state.clone();
        let deadline = super::cluster::deadline_of(request.metadata());
        let answering = (state.clone(), principal.clone());
        let responses = micro_batched(request.into_inner(), MICRO_BATCH, move |batch| {
            answer(&answering.0, &answering.1, Rpc::BatchLookup, batch, deadline)
        });
        // Every failure is on the record: a refused batch, and a message that cannot be read.
        let responses = responses.map(move |answered| state.settle(&principal, Rpc::BatchLookup, answered));
        Ok(Response::new(Box::pin(responses)))
    }

    type LookupBatchesStream = LookupBatchStream;

    async fn lookup_batches(
        &self,
        request: Request<Streaming<proto::LookupBatch>>,
    ) -> Result<Response<Self::LookupBatchesStream>, Status> {
        let principal = self.state.authorize(&request, Rpc::LookupBatches)?;
        let deadline = super::cluster::deadline_of(request.metadata());
        let state = self.state.clone();
        let answering = (state.clone(), principal.clone());
        let responses = micro_batched(request.into_inner(), MICRO_BATCH, move |messages| {
            let (state, principal) = (&answering.0, &answering.1);
            let answers = per_message(
                messages,
                |message: proto::LookupBatch| message.requests,
                |requests| answer(state, principal, Rpc::LookupBatches, requests, deadline),
            )?;
            Ok(answers
                .into_iter()
                .map(|responses| {
                    let mut missing_partitions: Vec<u32> = responses
                        .iter()
                        .flat_map(|response| response.missing_partitions.iter().copied())
                        .collect();
                    missing_partitions.sort_unstable();
                    missing_partitions.dedup();
                    proto::LookupBatchResponse {
                        responses,
                        missing_partitions,
                    }
                })
                .collect())
        });
        let responses = responses.map(move |answered| state.settle(&principal, Rpc::LookupBatches, answered));
        Ok(Response::new(Box::pin(responses)))
    }

    async fn search(&self, request: Request<proto::SearchRequest>) -> Result<Response<proto::SearchResponse>, Status> {
        let principal = self.state.authorize(&request, Rpc::Search)?;
        let request = request.into_inner();
        let state = self.state.clone();
        let searcher = principal.clone();
        let hits = blocking_call(move || -> Result<Vec<proto::SearchHit>, Status> {
            let principal = searcher;
            if request.query.trim().is_empty() {
                return Err(Status::invalid_argument("empty search query"));
            }
            let text = readable(&request.query, request.plain).map_err(status)?;
            // Bounds and role checks before the query is parsed or run; its cost is charged.
            let cost = check_query(&text, principal.role.search_scope()).map_err(status)?;
            state.admit(&principal, cost)?;
            let limit = match request.limit {
                0 => 20,
                limit => (limit as usize).min(principal.role.max_results()),
            };
            let index = state.index_for(principal.role)?;
            let mut hits = search(&index, &text, limit, &request.corpora).map_err(status)?;
            if !principal.role.sees_contents() {
                for hit in &mut hits {
                    // Which field matched is withheld too, in the list and in the snippet's order:
                    // which column holds a guessed word confirms a redacted record field by field.
                    hit.matched.clear();
                    let mut shown = index.show(&hit.corpus, &hit.file, hit.record).map_err(status)?;
                    hit.file = redact_field_name(&hit.file);
                    hit.score = 0.0;
                    hit.snippet = shown
                        .as_mut()
                        .map(|shown| {
                            redact_record(shown);
                            snippet_of(&shown.fields)
                        })
                        .unwrap_or_default();
                }
            }
            if !principal.role.sees_contents() {
                // Scores are withheld; the order is the records' own.
                hits.sort_by(|a, b| (&a.corpus, &a.file, a.record).cmp(&(&b.corpus, &b.file, b.record)));
            }
            let asked = vec![state.fingerprint(Kind::Other, &request.query)];
            state.record(&principal, Rpc::Search, 1, hits.len(), asked)?;
            state.account(&principal, hits.len(), state.points_in_text(&request.query))?;
            Ok(hits.into_iter().map(proto::SearchHit::from).collect())
        })
        .await;
        let hits = self.state.settle(&principal, Rpc::Search, hits)?;
        Ok(Response::new(proto::SearchResponse { hits }))
    }

    async fn range_lookup(
        &self,
        request: Request<proto::RangeLookupRequest>,
    ) -> Result<Response<proto::RangeLookupResponse>, Status> {
        let principal = self.state.authorize(&request, Rpc::RangeLookup)?;
        let prefix = request.into_inner().prefix.to_ascii_lowercase();
        let state = self.state.clone();
        let asker = principal.clone();
        let entries = blocking_call(move || -> Result<Vec<proto::RangeEntry>, Status> {
            let principal = asker;
            // A prefix stands for thousands of identifiers and the server cannot tell which one
            // is meant, so sweeps cannot be seen here: private lookups have an hourly budget.
            state
                .limiter
                .admit_range(&principal.name, principal.role)
                .map_err(|refusal| limited(&principal, &refusal))?;
            let index = state.index_for(principal.role)?;
            let entries = range_lookup(&index, &prefix).map_err(status)?;
            let real = entries.iter().filter(|entry| !entry.corpora.is_empty()).count();
            // What was asked is a prefix shared by thousands of identifiers: it is the record.
            state.record(
                &principal,
                Rpc::RangeLookup,
                1,
                real,
                vec![state.fingerprint(Kind::Other, &prefix)],
            )?;
            state.account(&principal, real, Vec::new())?;
            Ok(entries
                .into_iter()
                .map(|entry| proto::RangeEntry {
                    suffix: entry.suffix,
                    corpora: entry.corpora,
                })
                .collect())
        })
        .await;
        let entries = self.state.settle(&principal, Rpc::RangeLookup, entries)?;
        Ok(Response::new(proto::RangeLookupResponse { entries }))
    }

    async fn get_record(&self, request: Request<proto::GetRecordRequest>) -> Result<Response<proto::Record>, Status> {
        let principal = self.state.authorize(&request, Rpc::GetRecord)?;
        let request = request.into_inner();
        let state = self.state.clone();
        let asker = principal.clone();
        let record = blocking_call(move || -> Result<proto::Record, Status> {
            let principal = asker;
            state.admit(&principal, 1)?;
            let index = state.index_for(principal.role)?;
            let absent = || {
                Status::not_found(format!(
                    "corpus {:?} has no record {} in file {:?}",
                    request.corpus, request.record, request.file
                ))
            };
            if !index.segments.iter().any(|segment| segment.corpus == request.corpus) {
                return Err(absent());
            }
            // A role that sees no contents knows files by their redacted names.
            let file = if principal.role.sees_contents() {
                request.file.clone()
            } else {
                index
                    .segments
                    .iter()
                    .filter(|segment| segment.corpus == request.corpus)
                    .flat_map(|segment| &segment.segment.manifest.files)
                    .map(|file| file.path.as_str())
                    .find(|path| redact_field_name(path) == request.file)
                    .ok_or_else(absent)?
                    .to_string()
            };
            let mut shown = index
                .show(&request.corpus, &file, request.record)
                .map_err(status)?
                .ok_or_else(absent)?;
            let address = format!("{}\u{1f}{}\u{1f}{}", request.corpus, request.file, request.record);
            let asked = vec![state.fingerprint(Kind::Other, &address)];
            state.record(&principal, Rpc::GetRecord, 1, 1, asked)?;
            // Reading records one number after another dumps a corpus: the same detector.
            let point = Numbered::record(&request.corpus, &file, request.record);
            state.account(&principal, 1, vec![point])?;
            if !principal.role.sees_contents() {
                redact_record(&mut shown);
            }
            Ok(record_to_proto(request.corpus, shown))
        })
        .await;
        let record = self.state.settle(&principal, Rpc::GetRecord, record)?;
        Ok(Response::new(record))
    }
}

/// `leakdex.v1.Corpora`.
pub(super) struct CorporaService {
    pub(super) state: Arc<ServiceState>,
}

type JobStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<proto::Job, Status>> + Send>>;

#[tonic::async_trait]
impl corpora_server::Corpora for CorporaService {
    type WatchJobStream = JobStream;

    async fn ingest(&self, request: Request<proto::IngestRequest>) -> Result<Response<proto::Job>, Status> {
        let principal = self.state.authorize(&request, Rpc::Ingest)?;
        let request = request.into_inner();
        let state = self.state.clone();
        let asker = principal.clone();
        let job = blocking_call(move || -> Result<proto::Job, Status> {
            let principal = asker;
            if request.paths.is_empty() {
                return Err(Status::invalid_argument("no paths to ingest"));
            }
            let paths = request
                .paths
                .iter()
                .map(|path| state.confined(path))
                .collect::<Result<Vec<_>, _>>()?;
            let spec = job_spec(&principal, request, paths, None)?;
            state.check_corpus_kind(&principal, &spec)?;
            let asked = vec![state.fingerprint(Kind::Other, &spec.corpus)];
            state.record(&principal, Rpc::Ingest, spec.paths.len(), 0, asked)?;
            Ok(state.jobs.start(state.data.clone(), state.catalog.clone(), spec))
        })
        .await;
        Ok(Response::new(self.state.settle(&principal, Rpc::Ingest, job)?))
    }

    async fn upload(&self, request: Request<Streaming<proto::UploadChunk>>) -> Result<Response<proto::Job>, Status> {
        let principal = self.state.authorize(&request, Rpc::Upload)?;
        let uploaded = self.receive_upload(&principal, request.into_inner()).await;
        Ok(Response::new(self.state.settle(&principal, Rpc::Upload, uploaded)?))
    }

    async fn watch_job(
        &self,
        request: Request<proto::WatchJobRequest>,
    ) -> Result<Response<Self::WatchJobStream>, Status> {
        let principal = self.state.authorize(&request, Rpc::WatchJob)?;
        let id = request.into_inner().id;
        // Another principal's job is as absent as one that never was (admins see every job).
        let receiver = self
            .state
            .jobs
            .watch(&id)
            .filter(|(owner, _)| *owner == principal.name || principal.role == Role::Admin)
            .map(|(_, receiver)| receiver)
            .ok_or_else(|| Status::not_found(format!("no job {id:?}")));
        let receiver = self.state.settle(&principal, Rpc::WatchJob, receiver)?;
        self.state.record(
            &principal,
            Rpc::WatchJob,
            1,
            0,
            vec![self.state.fingerprint(Kind::Other, &id)],
        )?;
        let updates = tokio_stream::wrappers::WatchStream::new(receiver);
        let state = self.state.clone();
        // The current state, then every change, ending after the job is done or failed; the
        // watcher is checked again before each (a revoked token stops watching).
        let stream = futures_util::stream::unfold((updates, false), move |(mut updates, finished)| {
            let (state, principal) = (state.clone(), principal.clone());
            async move {
                if finished {
                    return None;
                }
                let mut job = updates.next().await?;
                let principal = match state.recheck(&principal, Rpc::WatchJob) {
                    Ok(principal) => principal,
                    Err(refusal) => {
                        state.refused(Some(&principal), Rpc::WatchJob, &refusal);
                        return Some((Err(refusal), (updates, true)));
                    }
                };
                if !principal.role.sees_canaries() {
                    // Which records are planted canaries is not for whoever ingests.
                    job.canaries.clear();
                }
                let terminal = job.phase == JobPhase::Done as i32 || job.phase == JobPhase::Failed as i32;
                Some((Ok(job), (updates, terminal)))
            }
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn list(
        &self,
        request: Request<proto::ListCorporaRequest>,
    ) -> Result<Response<proto::ListCorporaResponse>, Status> {
        let principal = self.state.authorize(&request, Rpc::ListCorpora)?;
        self.state.record(&principal, Rpc::ListCorpora, 1, 0, Vec::new())?;
        let state = self.state.clone();
        let corpora = tokio::task::spawn_blocking(move || state.catalog.corpora())
            .await
            .map_err(|join| Status::internal(join.to_string()))?
            .map_err(catalog_status)?;
        Ok(Response::new(proto::ListCorporaResponse {
            corpora: corpora
                .iter()
                .filter(|corpus| principal.role.sees_canaries() || corpus.kind != CorpusKind::Canary)
                .map(|corpus| corpus.summary().into())
                .collect(),
        }))
    }

    async fn get(&self, request: Request<proto::GetCorpusRequest>) -> Result<Response<proto::Corpus>, Status> {
        let principal = self.state.authorize(&request, Rpc::GetCorpus)?;
        let name = request.into_inner().name;
        let state = self.state.clone();
        let role = principal.role;
        let corpus = tokio::task::spawn_blocking(move || state.catalog.corpus(&name).map(|corpus| (name, corpus)))
            .await
            .map_err(|join| Status::internal(join.to_string()))
            .and_then(|read| read.map_err(catalog_status))
            .and_then(|(name, corpus)| {
                corpus
                    .filter(|corpus| role.sees_canaries() || corpus.kind != CorpusKind::Canary)
                    .map(|corpus| (name.clone(), corpus))
                    .ok_or_else(|| Status::not_found(format!("no corpus named {name:?}")))
            });
        let (name, corpus) = self.state.settle(&principal, Rpc::GetCorpus, corpus)?;
        self.state.record(
            &principal,
            Rpc::GetCorpus,
            1,
            0,
            vec![self.state.fingerprint(Kind::Other, &name)],
        )?;
        Ok(Response::new(corpus.summary().into()))
    }

    async fn delete(
        &self,
        request: Request<proto::DeleteCorpusRequest>,
    ) -> Result<Response<proto::DeleteCorpusResponse>, Status> {
        let principal = self.state.authorize(&request, Rpc::DeleteCorpus)?;
        let name = request.into_inner().name;
        self.state.record(
            &principal,
            Rpc::DeleteCorpus,
            1,
            0,
            vec![self.state.fingerprint(Kind::Other, &name)],
        )?;
        let state = self.state.clone();
        let removed = blocking_call(move || -> Result<u32, Status> {
            let removed =
                delete_corpus(&state.data, state.catalog.as_ref(), &name).map_err(|error| status(error.into()))?;
            Ok(removed as u32)
        })
        .await;
        let removed = self.state.settle(&principal, Rpc::DeleteCorpus, removed)?;
        Ok(Response::new(proto::DeleteCorpusResponse {
            segments_removed: removed,
        }))
    }
}

impl CorporaService {
    /// Writes an upload to its own folder under `DATA/uploads` (owner-only, at most
    /// [`ServerPolicy::max_upload_bytes`]) and starts its ingest job, which removes the folder
    /// when it ends. A refused or broken upload leaves nothing behind.
    async fn receive_upload(
        &self,
        principal: &Principal,
        mut chunks: Streaming<proto::UploadChunk>,
    ) -> Result<proto::Job, Status> {
        let Some(first) = chunks.message().await? else {
            return Err(Status::invalid_argument("empty upload"));
        };
        let ingest = first
            .ingest
            .clone()
            .ok_or_else(|| Status::invalid_argument("the first message must carry `ingest`"))?;
        // Only the last path component, so an upload cannot write outside its folder.
        let name = Path::new(&first.file_name)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .filter(|name| !name.is_empty() && name != "..")
            .ok_or_else(|| Status::invalid_argument("the first message must carry a file_name"))?;
        let folder = self
            .state
            .data
            .root()
            .join("uploads")
            .join(format!("{:016x}", rand::random::<u64>()));
        // Removed if anything fails, the client goes away mid-upload (this future is dropped),
        // or the job never starts; the job removes it once it has started.
        let mut guard = UploadFolder(Some(folder.clone()));
        let path = self.write_upload(&folder, &name, first.data, &mut chunks).await?;
        // The principal as it is now: a token revoked during a long upload starts no job.
        let principal = &self.state.recheck(principal, Rpc::Upload)?;
        let spec = job_spec(principal, ingest, vec![path], Some(folder))?;
        // A small read of the catalog, as the call's audit entry is a small write.
        self.state.check_corpus_kind(principal, &spec)?;
        let asked = vec![self.state.fingerprint(Kind::Other, &spec.corpus)];
        self.state.record(principal, Rpc::Upload, 1, 0, asked)?;
        guard.0 = None;
        Ok(self
            .state
            .jobs
            .start(self.state.data.clone(), self.state.catalog.clone(), spec))
    }

    async fn write_upload(
        &self,
        folder: &Path,
        name: &str,
        first: Vec<u8>,
        chunks: &mut Streaming<proto::UploadChunk>,
    ) -> Result<PathBuf, Status> {
        use tokio::io::AsyncWriteExt;
        let internal = |error: std::io::Error| Status::internal(format!("the upload cannot be stored: {error}"));
        tokio::fs::create_dir_all(folder).await.map_err(internal)?;
        let path = folder.join(name);
        let mut file = tokio::fs::File::create(&path).await.map_err(internal)?;
        let limit = self.state.policy.max_upload_bytes;
        let mut received = first.len() as u64;
        let mut data = first;
        loop {
            if received > limit {
                return Err(Status::resource_exhausted(format!(
                    "the upload is larger than this server's limit of {limit} bytes"
                )));
            }
            file.write_all(&data).await.map_err(internal)?;
            let Some(chunk) = chunks.message().await? else {
                break;
            };
            received += chunk.data.len() as u64;
            data = chunk.data;
        }
        file.sync_all().await.map_err(internal)?;
        Ok(path)
    }
}

/// An upload's folder, removed when dropped unless handed to its job.
struct UploadFolder(Option<PathBuf>);

impl Drop for UploadFolder {
    fn drop(&mut self) {
        if let Some(folder) = self.0.take() {
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}

/// An ingest job's specification from its request. Only admins plant canaries: a canary
/// corpus's verdicts are "conclusive", so whoever can create one can forge one.
fn job_spec(
    principal: &Principal,
    request: proto::IngestRequest,
    paths: Vec<PathBuf>,
    upload: Option<PathBuf>,
) -> Result<JobSpec, Status> {
    if request.corpus.trim().is_empty() {
        return Err(Status::invalid_argument("a corpus name is required"));
    }
    let kind = corpus_kind_from_proto(request.kind).map_err(Status::invalid_argument)?;
    if kind == CorpusKind::Canary && principal.role != Role::Admin {
        return Err(Status::permission_denied(format!(
            "role {} may not create canary corpora",
            principal.role
        )));
    }
    let acquired = (!request.acquired.is_empty()).then_some(request.acquired);
    if let Some(date) = &acquired
        && !crate::ingest::normalize::is_iso_date(date)
    {
        return Err(Status::invalid_argument(format!(
            "acquired {date:?} is not a date written YYYY-MM-DD"
        )));
    }
    Ok(JobSpec {
        owner: principal.name.clone(),
        corpus: request.corpus,
        kind,
        acquired,
        source: (!request.source.is_empty()).then_some(request.source),
        paths,
        upload,
        force: request.force,
        skip_text: request.skip_text,
    })
}

/// A batch message is checked against its limit before it is admitted.
impl Batched for proto::LookupBatch {
    fn requests(&self) -> usize {
        self.requests.len()
    }

    fn check(&self) -> Result<(), Status> {
        at_most(self.requests.len(), MAX_LOOKUP_BATCH)
    }
}
