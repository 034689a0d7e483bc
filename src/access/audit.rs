//! The audit log: every request on the record — principal, role, call, time, number of queries and
//! hits, and keyed fingerprints of what was asked (never the values) — in an append-only file in
//! which each entry holds the hash of the one before, so an edited, deleted, inserted or reordered
//! entry breaks the chain at the place it happened.
//!
//! The chain is keyed: each hash is an HMAC-SHA-256 (RFC 2104) under a secret kept outside the
//! log (`DATA/audit.key`, or the file `$LEAKDEX_AUDIT_KEY_FILE` names), so whoever can write the
//! log but not read the key cannot re-chain an edited log. Against whoever holds the key too, an
//! anchor (`audit anchor`: the sequence number and hash of the last entry) stored off the machine
//! is checked by `audit verify --anchor`.
//!
//! `DATA/audit.log`: one JSON object per line. `DATA/audit.head`: the sequence number and hash of
//! the last entry, with their own HMAC, so deleting entries from the end is detected too. Appends
//! from every process (server and command line) are serialized by an exclusive lock on
//! `DATA/audit.lock`. Every file is owner-only.
//!
//! In a cluster ([`DataDir::shared`]) the same entries and head live in the shared state's
//! journal `audit` (PostgreSQL), so every server and command appends to one chain and `audit
//! verify` anywhere checks all of it. Every process then needs the same chain key: the file
//! `$LEAKDEX_AUDIT_KEY_FILE` names, else one derived from the deployment's fingerprint key
//! (HMAC-SHA-256 of a fixed label), which every process already shares.

use crate::storage::{DataDir, DocumentError, Journal, lock_file, write_private};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

/// Bytes first read back from the end of the log to find the entries after its head (more when
/// they do not fit): a lookup micro-batch's entry (4,096 fingerprints) is about 80 KB.
const TAIL: u64 = 1 << 20;

/// The shared journal the chain is kept in, in a cluster.
const JOURNAL: &str = "audit";

/// Entries read from the shared journal at a time by `verify` and `entries`.
const JOURNAL_PAGE: usize = 1_024;

/// The hash before the first entry.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("audit log {path}: {message}")]
    Damaged { path: String, message: String },
    #[error("audit anchor {0:?} is not SEQ:HASH (as `leakdex audit anchor` prints it)")]
    BadAnchor(String),
    /// The write of a group of entries (this call's among them) failed.
    #[error(transparent)]
    Group(Arc<AuditError>),
    /// The cluster's shared journal failed.
    #[error("audit journal: {0}")]
    Shared(#[from] DocumentError),
}

/// What a request did, as the audit log keeps it.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub principal: String,
    pub role: String,
    pub rpc: String,
    pub queries: u64,
    pub hits: u64,
    /// Keyed fingerprints of the identifiers asked about.
    pub asked: Vec<u64>,
    /// Empty for an answered call; else the gRPC code it was refused with
    /// (`PERMISSION_DENIED`, `RESOURCE_EXHAUSTED`, …).
    pub outcome: String,
}

impl Request {
    /// A request answered by the command line on the data directory itself: its principal is the
    /// operating-system user, its role the directory's owner.
    pub fn local(rpc: &str) -> Request {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".into());
        Request {
            principal: format!("local:{user}"),
            role: "owner".into(),
            rpc: rpc.into(),
            ..Request::default()
        }
    }

    /// Records a batch of lookup answers: how many, their hits, and what was asked.
    pub fn with_answers(mut self, key: &[u8; 16], answers: &[crate::query::Answer<'_>]) -> Request {
        self.queries += answers.len() as u64;
        for answer in answers {
            self.hits += answer.hits.as_ref().map_or(0, |hits| hits.len() as u64);
            self.asked.push(asked(key, answer));
        }
        self
    }
}

/// What the log keeps of one lookup's question: the lookup's own fingerprint, or for a value it
/// could not read, the value's as written.
pub fn asked<H>(key: &[u8; 16], answer: &crate::query::Answer<'_, H>) -> u64 {
    answer
        .fingerprint
        .unwrap_or_else(|| crate::fingerprint::fingerprint(key, crate::ingest::Kind::Other, answer.query))
}

/// The hashed part of an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    pub seq: u64,
    pub time: String,
    pub principal: String,
    pub role: String,
    pub rpc: String,
    pub queries: u64,
    pub hits: u64,
    /// Keyed fingerprints of the identifiers asked about.
    pub asked: Vec<Asked>,
    /// Empty for an answered call; else the code it was refused with.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub outcome: String,
    /// How many entries after this one were written with it, in one group (see
    /// [`AuditLog::append`]); absent for the last of a group. Under the hash, so the extent of
    /// the last group is known for certain when a head must catch up with it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rest: u64,
    /// Hash of the previous entry.
    pub prev: String,
}

fn is_zero(number: &u64) -> bool {
    *number == 0
}

/// The keyed fingerprint of something asked about, written as 16 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asked(pub u64);

impl Serialize for Asked {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A batch's entry holds thousands: written from the stack, not a String each.
        let mut digits = [0u8; 16];
        hex::encode_to_slice(self.0.to_be_bytes(), &mut digits).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(std::str::from_utf8(&digits).map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> Deserialize<'de> for Asked {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let digits = String::deserialize(deserializer)?;
        u64::from_str_radix(&digits, 16)
            .map(Asked)
            .map_err(|_| serde::de::Error::custom(format!("fingerprint {digits:?} is not 16 hex digits")))
    }
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(flatten)]
    pub body: Body,
    /// HMAC-SHA-256, under the audit key, of `prev` and this entry's body.
    pub hash: String,
}

/// The audit chain's secret.
type AuditKey = [u8; 32];

fn hash_of(key: &AuditKey, body: &Body) -> String {
    // Serializing a struct of strings and integers cannot fail.
    hash_of_json(key, &body.prev, &serde_json::to_vec(body).unwrap_or_default())
}

/// HMAC-SHA-256 of the parts, each followed by a newline.
fn mac(key: &AuditKey, parts: &[&[u8]]) -> String {
    // An HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
        mac.update(b"\n");
    }
    hex::encode(mac.finalize().into_bytes())
}

/// The hash of a body already serialized.
fn hash_of_json(key: &AuditKey, prev: &str, body: &[u8]) -> String {
    mac(key, &[prev.as_bytes(), body])
}

/// The MAC of the head record: without the key, a head cannot be moved back to match a log
/// cut short.
fn head_mac(key: &AuditKey, seq: u64, hash: &str) -> String {
    mac(key, &[b"head", seq.to_string().as_bytes(), hash.as_bytes()])
}

/// A cluster's chain key: HMAC-SHA-256 of a fixed label under the deployment's fingerprint key,
/// so knowing the chain key tells nothing of the fingerprint key.
fn derived_key(deployment_key: &[u8; 16]) -> AuditKey {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(deployment_key).expect("HMAC takes any key length");
    mac.update(b"leakdex audit chain key, version 1");
    mac.finalize().into_bytes().into()
}

/// The head record of entry `seq` with hash `hash`: `SEQ HASH MAC`, fixed width.
fn head_record(key: &AuditKey, seq: u64, hash: &str) -> Vec<u8> {
    format!("{seq:020} {hash} {}\n", head_mac(key, seq, hash)).into_bytes()
}

/// (sequence number, hash) of a head record, its MAC checked; `place` names it in errors.
fn parse_head(key: &AuditKey, text: &str, place: &str) -> Result<(u64, String), AuditError> {
    let damaged = |message: String| AuditError::Damaged {
        path: place.to_string(),
        message,
    };
    let mut parts = text.split_whitespace();
    let (seq, hash, mac) = (parts.next(), parts.next(), parts.next());
    let seq: u64 = seq
        .and_then(|seq| seq.parse().ok())
        .ok_or_else(|| damaged(format!("unreadable head {:?}", text.trim())))?;
    let hash = hash.unwrap_or_default().to_string();
    if mac != Some(head_mac(key, seq, &hash).as_str()) {
        return Err(damaged(
            "the head was altered: its MAC does not match (entries may have been deleted from the end)".into(),
        ));
    }
    Ok((seq, hash))
}

/// The entries of `requests`, one group, chained from entry `seq` with hash `prev`, and each
/// one's line (without its newline).
fn chained(
    key: &AuditKey,
    mut seq: u64,
    mut prev: String,
    requests: &[Request],
) -> io::Result<(Vec<Entry>, Vec<Vec<u8>>)> {
    let time = crate::clock::now_rfc3339();
    let mut lines = Vec::with_capacity(requests.len());
    let mut entries = Vec::with_capacity(requests.len());
    for (position, request) in requests.iter().enumerate() {
        let body = Body {
            seq: seq + 1,
            time: time.clone(),
            principal: request.principal.clone(),
            role: request.role.clone(),
            rpc: request.rpc.clone(),
            queries: request.queries,
            hits: request.hits,
            asked: request.asked.iter().copied().map(Asked).collect(),
            outcome: request.outcome.clone(),
            rest: (requests.len() - 1 - position) as u64,
            prev,
        };
        let json = serde_json::to_vec(&body).map_err(io::Error::other)?;
        let hash = hash_of_json(key, &body.prev, &json);
        lines.push(entry_line(&json, &hash));
        (seq, prev) = (body.seq, hash.clone());
        entries.push(Entry { hash, body });
    }
    Ok((entries, lines))
}

/// A point of the chain kept off the machine: entry `seq` has hash `hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub seq: u64,
    pub hash: String,
}

impl std::fmt::Display for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl std::str::FromStr for Anchor {
    type Err = AuditError;

    fn from_str(text: &str) -> Result<Anchor, AuditError> {
        let bad = || AuditError::BadAnchor(text.to_string());
        let (seq, hash) = text.trim().split_once(':').ok_or_else(bad)?;
        let hash = hash.to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Anchor {
            seq: seq.parse().map_err(|_| bad())?,
            hash,
        })
    }
}

/// An entry's line (without the newline) from its body's JSON and its hash, as serializing the
/// [`Entry`] would write it, without serializing the body a second time.
fn entry_line(body: &[u8], hash: &str) -> Vec<u8> {
    debug_assert_eq!(body.last(), Some(&b'}'));
    let mut line = Vec::with_capacity(body.len() + hash.len() + 12);
    line.extend_from_slice(&body[..body.len() - 1]);
    line.extend_from_slice(b",\"hash\":\"");
    line.extend_from_slice(hash.as_bytes());
    line.extend_from_slice(b"\"}");
    line
}

/// A break in the chain, naming the entry where it shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tampering {
    /// 1-based line of the log (0: the log as a whole).
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for Tampering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The audit log of a data directory.
pub struct AuditLog {
    log: PathBuf,
    head: PathBuf,
    lock: PathBuf,
    /// The chain key's file; in a cluster without `$LEAKDEX_AUDIT_KEY_FILE`, none: the key is
    /// derived from the deployment's.
    key_path: Option<PathBuf>,
    /// In a cluster, the shared journal that holds the chain instead of the files above.
    journal: Option<Arc<dyn Journal>>,
    /// The deployment's fingerprint key, from which a cluster's chain key is derived.
    deployment_key: [u8; 16],
    /// Where the chain is kept, for messages.
    place: String,
    key: OnceLock<AuditKey>,
    /// The log's length after this process's last append, with its head written (`u64::MAX`:
    /// none yet).
    left_at: AtomicU64,
    /// Entries waiting to be written by the next group commit (see [`AuditLog::append`]).
    queue: Mutex<Queue>,
    /// Signalled when a group has been written (or failed).
    group_written: Condvar,
    /// Groups written by this process.
    groups: AtomicU64,
}

/// The group being written by one call; when it is done (or the write panicked), the group's
/// calls are woken and the next group may be written.
struct Writing<'a> {
    log: &'a AuditLog,
    written: Arc<OnceLock<Result<Vec<Entry>, Arc<AuditError>>>>,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let _ = self.written.set(Err(Arc::new(AuditError::Damaged {
            path: self.log.place(),
            message: "writing the entries panicked".to_string(),
        })));
        let mut queue = self.log.queue.lock().unwrap_or_else(|poison| poison.into_inner());
        queue.writing = false;
        self.log.group_written.notify_all();
    }
}

/// The calls waiting for their entries to be written, and whether a group is being written.
#[derive(Default)]
struct Queue {
    requests: Vec<Request>,
    /// Set, for every call in `requests`, when their group has been written: the entries in
    /// the order of `requests`, or why they could not be.
    written: Arc<OnceLock<Result<Vec<Entry>, Arc<AuditError>>>>,
    writing: bool,
}

impl AuditLog {
    /// The log of `data`, keyed by `$LEAKDEX_AUDIT_KEY_FILE` if set, else `DATA/audit.key` on
    /// one machine and a key derived from the deployment's in a cluster (see the module).
    pub fn new(data: &DataDir) -> AuditLog {
        let journal = data.shared().cloned().map(|shared| -> Arc<dyn Journal> { shared });
        let key_file = std::env::var_os("LEAKDEX_AUDIT_KEY_FILE").map(PathBuf::from);
        AuditLog {
            log: data.root().join("audit.log"),
            head: data.root().join("audit.head"),
            lock: data.root().join("audit.lock"),
            key_path: match (key_file, &journal) {
                (Some(path), _) => Some(path),
                (None, Some(_)) => None,
                (None, None) => Some(data.root().join("audit.key")),
            },
            place: match data.shared() {
                Some(shared) => format!("{} (journal {JOURNAL})", shared.store()),
                None => data.root().join("audit.log").display().to_string(),
            },
            journal,
            deployment_key: data.key(),
            key: OnceLock::new(),
            left_at: AtomicU64::new(u64::MAX),
            queue: Mutex::new(Queue::default()),
            group_written: Condvar::new(),
            groups: AtomicU64::new(0),
        }
    }

    /// The chain's key, created (owner-only) when the log is first written.
    fn key(&self) -> Result<AuditKey, AuditError> {
        if let Some(key) = self.key.get() {
            return Ok(*key);
        }
        let Some(key_path) = &self.key_path else {
            return Ok(*self.key.get_or_init(|| derived_key(&self.deployment_key)));
        };
        let key_error = |message: &str| AuditError::Damaged {
            path: key_path.display().to_string(),
            message: message.to_string(),
        };
        // Made under the log's lock: two first appends (threads, or the server and the command
        // line) must not each make a key of their own.
        let _lock = lock_file(&self.lock, true).map_err(|source| self.io(source))?;
        let key: AuditKey = match std::fs::read_to_string(key_path) {
            Ok(text) => hex::decode(text.trim())
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| key_error("the audit key is not 64 hex digits"))?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                // A cluster's key is the deployment's to mount, never one process's to make.
                if self.journal.is_some() {
                    return Err(key_error(
                        "the audit key file is missing: every process of a cluster must be given the same one",
                    ));
                }
                if std::fs::metadata(&self.log).is_ok() {
                    return Err(key_error(
                        "the audit key is missing but the log exists: without it the chain cannot be checked or continued",
                    ));
                }
                let key: AuditKey = rand::random();
                write_private(key_path, hex::encode(key).as_bytes()).map_err(|source| self.io(source))?;
                key
            }
            Err(source) => return Err(self.io(source)),
        };
        Ok(*self.key.get_or_init(|| key))
    }

    fn io(&self, source: io::Error) -> AuditError {
        AuditError::Io {
            path: self.place(),
            source,
        }
    }

    /// Where the chain is kept, for messages.
    fn place(&self) -> String {
        self.place.clone()
    }

    /// (sequence number, hash) of the last entry, its MAC checked.
    fn head(&self, key: &AuditKey) -> Result<(u64, String), AuditError> {
        if let Some(journal) = &self.journal {
            return match journal.head(JOURNAL)? {
                Some(head) => parse_head(key, &String::from_utf8_lossy(&head), &self.place()),
                None => Ok((0, GENESIS.to_string())),
            };
        }
        match std::fs::read_to_string(&self.head) {
            Ok(text) => parse_head(key, &text, &self.head.display().to_string()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok((0, GENESIS.to_string())),
            Err(source) => Err(self.io(source)),
        }
    }

    /// Overwrites the head in place: a fixed-width record far smaller than a disk sector, so one
    /// write and one sync replace it whole (a rename would cost two more syncs per entry).
    fn write_head(&self, key: &AuditKey, seq: u64, hash: &str) -> io::Result<()> {
        let mut options = File::options();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut head = options.open(&self.head)?;
        head.write_all(&head_record(key, seq, hash))?;
        head.sync_data()
    }

    /// The last entry of a group written without its head (the process stopped between the
    /// log's sync and the head's write), if the log ends with one. The entries after the head's
    /// must be exactly one group (as their `rest` counts say), chain from the head's entry, and
    /// each be what its hash says. Anything else is left for `verify` to report: a log longer
    /// than its head by more than a group is what cutting a log back and putting an older head
    /// in place looks like (with no head at all, the log must be that one group). A last line
    /// cut short (a write that never finished) is passed over. Reads back from the end, no
    /// further than the group; nothing when the log is as this process left it.
    fn written_after_head(&self, key: &AuditKey, head_seq: u64, head_hash: &str) -> Result<Option<Entry>, AuditError> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = match File::open(&self.log) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(self.io(source)),
        };
        let length = file.metadata().map_err(|source| self.io(source))?.len();
        if length == self.left_at.load(Ordering::Acquire) {
            return Ok(None);
        }
        let mut tail_length = TAIL.min(length);
        loop {
            file.seek(SeekFrom::Start(length - tail_length))
                .map_err(|source| self.io(source))?;
            let mut tail = Vec::new();
            Read::by_ref(&mut file)
                .take(tail_length)
                .read_to_end(&mut tail)
                .map_err(|source| self.io(source))?;
            let whole = tail_length == length;
            // Whole lines only: the tail's first line may be cut by where it starts, its last by
            // a write cut short.
            let complete = match tail.iter().rposition(|byte| *byte == b'\n') {
                Some(end) => &tail[..end],
                None => &tail[..0],
            };
            let mut lines: Vec<&[u8]> = complete.split(|byte| *byte == b'\n').collect();
            if !whole {
                lines.remove(0);
            }
            // Newest first: the entries after the head's, while they are one group.
            let mut group: Vec<Entry> = Vec::new();
            let mut reached = false;
            let mut all_read = true;
            for line in lines.iter().rev().filter(|line| !line.is_empty()) {
                let Ok(entry) = serde_json::from_slice::<Entry>(line) else {
                    all_read = false;
                    break;
                };
                if entry.body.seq <= head_seq {
                    reached = entry.body.seq == head_seq && entry.hash == head_hash;
                    all_read = false;
                    break;
                }
                if entry.body.rest != group.len() as u64 {
                    all_read = false;
                    break;
                }
                group.push(entry);
            }
            if all_read && !whole {
                tail_length = (tail_length * 2).min(length);
                continue;
            }
            // With no head, the group must be the whole log.
            let reached = reached || (head_seq == 0 && whole && all_read);
            if group.is_empty() || !reached {
                return Ok(None);
            }
            // Oldest first, from the head: each entry follows the one before and is what its
            // hash says.
            group.reverse();
            let (mut seq, mut prev) = (head_seq, head_hash);
            for entry in &group {
                if entry.body.seq != seq + 1 || entry.body.prev != prev || hash_of(key, &entry.body) != entry.hash {
                    return Ok(None);
                }
                (seq, prev) = (entry.body.seq, &entry.hash);
            }
            tracing::warn!(
                entries = group.len(),
                "the audit head is caught up with entries written without it (a process stopped between the two writes)"
            );
            return Ok(group.pop());
        }
    }

    /// The last entry's sequence number and hash, to keep off the machine and give to
    /// [`AuditLog::verify_anchored`] later.
    pub fn anchor(&self) -> Result<Anchor, AuditError> {
        let key = self.key()?;
        let (seq, hash) = self.head(&key)?;
        Ok(Anchor { seq, hash })
    }

    /// Appends one entry for `request` and makes it durable before returning.
    ///
    /// Group commit: the entries of calls that arrive while another group is being written
    /// wait and are then written together, with one write and one `fdatasync` of the log and
    /// of its head for the whole group (as PostgreSQL and InnoDB commit transactions). No call
    /// is delayed to gather a group: the first to arrive writes at once, and a group is
    /// whatever queued during the write before it. Each call still returns only once its own
    /// entry is on disk; if the group's write fails, every call in it gets the error.
    pub fn append(&self, request: &Request) -> Result<Entry, AuditError> {
        let mut queue = self.queue.lock().unwrap_or_else(|poison| poison.into_inner());
        let position = queue.requests.len();
        queue.requests.push(request.clone());
        let mine = queue.written.clone();
        loop {
            if let Some(written) = mine.get() {
                return match written {
                    Ok(entries) => Ok(entries[position].clone()),
                    Err(error) => Err(AuditError::Group(error.clone())),
                };
            }
            if !queue.writing {
                // Not written and nobody writing: this call's group is the queued one, and
                // this call writes it.
                let requests = std::mem::take(&mut queue.requests);
                let group = Writing {
                    log: self,
                    written: std::mem::take(&mut queue.written),
                };
                queue.writing = true;
                drop(queue);
                let _ = group.written.set(self.write_group(&requests).map_err(Arc::new));
                drop(group);
                queue = self.queue.lock().unwrap_or_else(|poison| poison.into_inner());
                continue;
            }
            queue = self
                .group_written
                .wait(queue)
                .unwrap_or_else(|poison| poison.into_inner());
        }
    }

    /// The byte before `length` in `log`.
    fn last_byte(&self, log: &mut File, length: u64) -> Result<u8, AuditError> {
        use std::io::{Read, Seek, SeekFrom};
        let mut last = [0u8];
        log.seek(SeekFrom::Start(length - 1))
            .and_then(|_| log.read_exact(&mut last))
            .map_err(|source| self.io(source))?;
        Ok(last[0])
    }

    /// How many groups of entries this process has written: each cost one write and one
    /// `fdatasync` of the log and one of its head.
    pub fn groups_written(&self) -> u64 {
        self.groups.load(Ordering::Relaxed)
    }

    /// Appends one entry per request, in order, with one write and one sync of the log and of
    /// its head (in a cluster, one transaction of the journal).
    fn write_group(&self, requests: &[Request]) -> Result<Vec<Entry>, AuditError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.key()?;
        if let Some(journal) = &self.journal {
            let mut written = Vec::new();
            let place = self.place();
            journal
                .append(JOURNAL, &mut |head| {
                    let (seq, prev) = match head {
                        Some(head) => parse_head(&key, &String::from_utf8_lossy(head), &place)?,
                        None => (0, GENESIS.to_string()),
                    };
                    let (entries, lines) = chained(&key, seq, prev, requests).map_err(|error| self.io(error))?;
                    let last = entries.last().map(|entry| (entry.body.seq, entry.hash.clone()));
                    written = entries;
                    let (seq, hash) = last.unwrap_or((seq, String::new()));
                    Ok((lines, head_record(&key, seq, &hash)))
                })
                .map_err(|error| match error {
                    DocumentError::Refused(refusal) => match refusal.downcast::<AuditError>() {
                        Ok(audit) => *audit,
                        Err(other) => AuditError::Damaged {
                            path: place.clone(),
                            message: other.to_string(),
                        },
                    },
                    other => AuditError::Shared(other),
                })?;
            self.groups.fetch_add(1, Ordering::Relaxed);
            return Ok(written);
        }
        let _lock = lock_file(&self.lock, true).map_err(|source| self.io(source))?;
        let (mut seq, mut prev) = self.head(&key)?;
        if let Some(last) = self.written_after_head(&key, seq, &prev)? {
            // A process stopped after writing entries and before their head: the head catches
            // up, rather than the next entry reusing a sequence number.
            self.write_head(&key, last.body.seq, &last.hash)
                .map_err(|source| self.io(source))?;
            (seq, prev) = (last.body.seq, last.hash);
        }
        let (entries, entry_lines) = chained(&key, seq, prev, requests).map_err(|error| self.io(error))?;
        let (seq, prev) = entries
            .last()
            .map_or((seq, GENESIS), |last| (last.body.seq, last.hash.as_str()));
        let mut lines = Vec::new();
        for line in entry_lines {
            lines.extend_from_slice(&line);
            lines.push(b'\n');
        }
        let mut options = OpenOptions::new();
        options.create(true).read(true).append(true);
        // What was asked, and by whom, is for the owner's eyes only.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut log = options.open(&self.log).map_err(|source| self.io(source))?;
        let start = log.metadata().map_err(|source| self.io(source))?.len();
        // As this process left it, the log ends with its own last line: no read needed.
        let ours = start == self.left_at.load(Ordering::Acquire);
        if start > 0 && !ours && self.last_byte(&mut log, start)? != b'\n' {
            // A write cut short (the process stopped) left a torn line: it stays a line of its
            // own, for `verify` to name, rather than the start of this group's first entry.
            lines.insert(0, b'\n');
        }
        let written = log.write_all(&lines).and_then(|()| log.sync_data());
        if let Err(source) = written {
            // Nobody is answered: nothing of the group may stay to be taken for answered calls,
            // nor a torn line (the log's lock is held, so nobody else wrote since `start`).
            let _ = log.set_len(start);
            return Err(self.io(source));
        }
        self.write_head(&key, seq, prev).map_err(|source| self.io(source))?;
        self.left_at.store(start + lines.len() as u64, Ordering::Release);
        self.groups.fetch_add(1, Ordering::Relaxed);
        Ok(entries)
    }

    /// The log's lines (the journal's entries, in a cluster), in order. The iterator may be
    /// asked again after it ended: it goes on with what was appended since.
    fn lines(&self) -> Result<Box<dyn Iterator<Item = Result<String, AuditError>> + '_>, AuditError> {
        if let Some(journal) = &self.journal {
            let mut from = 0u64;
            let mut page = Vec::<(u64, Vec<u8>)>::new().into_iter();
            return Ok(Box::new(std::iter::from_fn(move || {
                if let Some((position, line)) = page.next() {
                    from = position + 1;
                    return Some(Ok(String::from_utf8_lossy(&line).into_owned()));
                }
                match journal.entries(JOURNAL, from, JOURNAL_PAGE) {
                    Ok(read) => {
                        page = read.into_iter();
                        let (position, line) = page.next()?;
                        from = position + 1;
                        Some(Ok(String::from_utf8_lossy(&line).into_owned()))
                    }
                    Err(error) => Some(Err(error.into())),
                }
            })));
        }
        match File::open(&self.log) {
            Ok(file) => Ok(Box::new(
                BufReader::new(file)
                    .lines()
                    .map(|line| line.map_err(|source| self.io(source))),
            )),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Box::new(std::iter::empty())),
            Err(source) => Err(self.io(source)),
        }
    }

    /// Every entry, in log order; lines that are not entries are errors.
    pub fn entries(&self) -> Result<Vec<Entry>, AuditError> {
        let mut entries = Vec::new();
        for (number, line) in self.lines()?.enumerate() {
            entries.push(serde_json::from_str(&line?).map_err(|error| AuditError::Damaged {
                path: self.place(),
                message: format!("line {}: not an audit entry ({error})", number + 1),
            })?);
        }
        Ok(entries)
    }

    /// Checks the whole chain; returns the number of entries, or every break found.
    pub fn verify(&self) -> Result<Result<u64, Vec<Tampering>>, AuditError> {
        self.verify_anchored(None)
    }

    /// [`AuditLog::verify`], and checks that the log still holds the entry `anchor` names,
    /// unchanged: a log cut back before it, or re-chained by someone holding the key, fails.
    pub fn verify_anchored(&self, anchor: Option<&Anchor>) -> Result<Result<u64, Vec<Tampering>>, AuditError> {
        let key = self.key()?;
        let mut check = ChainCheck {
            key: &key,
            anchor,
            anchored: false,
            problems: Vec::new(),
            expected_seq: 1,
            previous_hash: GENESIS.to_string(),
            line_number: 0,
        };
        let mut lines = self.lines()?;
        for line in lines.by_ref() {
            check.line(&line?);
        }
        // Appends go on while the log is read, and every entry is written before (or with) the
        // head that counts it: a head ahead of the last line read means entries appended since,
        // which are read up to the head's before the two are compared.
        let head = self.head(&key);
        if let Ok((head_seq, _)) = &head {
            while check.expected_seq <= *head_seq {
                let Some(line) = lines.next() else { break };
                check.line(&line?);
            }
        }
        let ChainCheck {
            anchored,
            mut problems,
            expected_seq,
            previous_hash,
            line_number,
            ..
        } = check;
        if let Some(anchor) = anchor
            && !anchored
        {
            problems.push(Tampering {
                line: 0,
                message: format!(
                    "the log no longer holds entry {} with the anchored hash: it was cut back or rewritten",
                    anchor.seq
                ),
            });
        }
        match head {
            Ok((head_seq, head_hash)) => {
                if head_seq + 1 != expected_seq || (head_seq > 0 && head_hash != previous_hash) {
                    problems.push(Tampering {
                        line: line_number,
                        message: format!(
                            "the log ends at entry {} but {} entries were written: entries were deleted from the end or the head was altered",
                            expected_seq - 1,
                            head_seq
                        ),
                    });
                }
            }
            Err(AuditError::Damaged { message, .. }) => problems.push(Tampering { line: 0, message }),
            Err(error) => return Err(error),
        }
        Ok(if problems.is_empty() {
            Ok(line_number)
        } else {
            Err(problems)
        })
    }
}

/// The chain checked line by line, as [`AuditLog::verify_anchored`] reads it.
struct ChainCheck<'a> {
    key: &'a AuditKey,
    anchor: Option<&'a Anchor>,
    /// Whether the anchor's entry was met, unchanged.
    anchored: bool,
    problems: Vec<Tampering>,
    expected_seq: u64,
    previous_hash: String,
    line_number: u64,
}

impl ChainCheck<'_> {
    fn line(&mut self, line: &str) {
        self.line_number += 1;
        let line_number = self.line_number;
        let problem = |message: String| Tampering {
            line: line_number,
            message,
        };
        let entry: Entry = match serde_json::from_str(line) {
            Ok(entry) => entry,
            Err(error) => {
                self.problems.push(problem(format!("not an audit entry ({error})")));
                return;
            }
        };
        let seq = entry.body.seq;
        if let Some(anchor) = self.anchor
            && anchor.seq == seq
        {
            self.anchored = anchor.hash == entry.hash;
        }
        if hash_of(self.key, &entry.body) != entry.hash {
            self.problems.push(problem(format!(
                "entry {seq} was edited: its hash does not match its content"
            )));
        }
        let expected_seq = self.expected_seq;
        if seq < expected_seq {
            self.problems.push(problem(format!(
                "entry {seq} comes after entry {}: entries were reordered or one was inserted",
                expected_seq - 1
            )));
        } else if seq > expected_seq {
            self.problems.push(problem(format!(
                "entries {expected_seq} to {} are missing: deleted before entry {seq}",
                seq - 1
            )));
        } else if entry.body.prev != self.previous_hash {
            self.problems.push(problem(format!(
                "entry {seq} does not follow the entry before it: that entry was edited or replaced"
            )));
        }
        self.expected_seq = seq + 1;
        self.previous_hash = entry.hash;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(count: u64) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let log = AuditLog::new(&data);
        for number in 0..count {
            log.append(&Request {
                principal: format!("agency-{}", number % 2),
                role: "partner".into(),
                rpc: "BatchLookup".into(),
                queries: number,
                hits: number / 2,
                asked: vec![number, number * 7],
                outcome: if number == 3 {
                    "PERMISSION_DENIED".into()
                } else {
                    String::new()
                },
            })
            .unwrap();
        }
        (dir, log)
    }

    fn lines(log: &AuditLog) -> Vec<String> {
        std::fs::read_to_string(&log.log)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn rewrite(log: &AuditLog, lines: &[String]) {
        std::fs::write(
            &log.log,
            lines.iter().map(|line| format!("{line}\n")).collect::<String>(),
        )
        .unwrap();
    }

    fn broken_at(log: &AuditLog) -> Vec<(u64, String)> {
        match log.verify().unwrap() {
            Ok(count) => panic!("tampering not detected ({count} entries)"),
            Err(problems) => problems
                .into_iter()
                .map(|problem| (problem.line, problem.message))
                .collect(),
        }
    }

    #[test]
    fn an_intact_log_verifies_and_keeps_no_raw_values() {
        let (_dir, log) = logged(5);
        assert_eq!(log.verify().unwrap(), Ok(5));
        let entries = log.entries().unwrap();
        assert_eq!(entries.len(), 5);
        assert_eq!(entries[4].body.asked, vec![Asked(4), Asked(28)]);
        // Written as the entry serializes, fingerprints as hex.
        let last = lines(&log).pop().unwrap();
        assert_eq!(last.as_bytes(), serde_json::to_vec(&entries[4]).unwrap());
        assert!(
            last.contains(r#""asked":["0000000000000004","000000000000001c"]"#),
            "{last}"
        );
        assert_eq!(entries[1].body.prev, entries[0].hash);
    }

    #[test]
    fn every_kind_of_tampering_is_detected_and_named() {
        // Edited: a hit count lowered.
        let (_dir, log) = logged(5);
        let mut edited = lines(&log);
        edited[2] = edited[2].replace("\"hits\":1", "\"hits\":0");
        rewrite(&log, &edited);
        let problems = broken_at(&log);
        assert_eq!(problems[0].0, 3, "{problems:?}");
        assert!(problems[0].1.contains("entry 3 was edited"), "{problems:?}");

        // Edited with its hash recomputed: the next entry no longer follows it.
        let (_dir, log) = logged(5);
        let mut entries = log.entries().unwrap();
        entries[1].body.principal = "someone-else".into();
        entries[1].hash = hash_of(&log.key().unwrap(), &entries[1].body);
        rewrite(
            &log,
            &entries
                .iter()
                .map(|entry| serde_json::to_string(entry).unwrap())
                .collect::<Vec<_>>(),
        );
        let problems = broken_at(&log);
        assert_eq!(problems[0].0, 3, "{problems:?}");
        assert!(problems[0].1.contains("entry 3 does not follow"), "{problems:?}");

        // Deleted from the middle.
        let (_dir, log) = logged(5);
        let mut deleted = lines(&log);
        deleted.remove(1);
        rewrite(&log, &deleted);
        let problems = broken_at(&log);
        assert!(problems[0].1.contains("entries 2 to 2 are missing"), "{problems:?}");

        // Deleted from the end.
        let (_dir, log) = logged(5);
        let mut truncated = lines(&log);
        truncated.pop();
        rewrite(&log, &truncated);
        let problems = broken_at(&log);
        assert!(problems[0].1.contains("deleted from the end"), "{problems:?}");

        // Inserted: a copy of an entry placed again.
        let (_dir, log) = logged(5);
        let mut inserted = lines(&log);
        inserted.insert(3, inserted[1].clone());
        rewrite(&log, &inserted);
        let problems = broken_at(&log);
        assert_eq!(problems[0].0, 4, "{problems:?}");
        assert!(problems[0].1.contains("reordered or one was inserted"), "{problems:?}");

        // Reordered: two entries swapped.
        let (_dir, log) = logged(5);
        let mut swapped = lines(&log);
        swapped.swap(1, 2);
        rewrite(&log, &swapped);
        let problems = broken_at(&log);
        assert_eq!(problems[0].0, 2, "{problems:?}");
        assert!(
            problems.iter().any(|problem| problem.1.contains("reordered")),
            "{problems:?}"
        );
    }

    /// The log's entries re-chained under `key` from the first, with `edit` applied to each.
    fn rechained(log: &AuditLog, key: &AuditKey, edit: impl Fn(&mut Body)) -> Vec<String> {
        let mut prev = GENESIS.to_string();
        log.entries()
            .unwrap()
            .into_iter()
            .map(|mut entry| {
                edit(&mut entry.body);
                entry.body.prev = prev.clone();
                entry.hash = hash_of(key, &entry.body);
                prev = entry.hash.clone();
                serde_json::to_string(&entry).unwrap()
            })
            .collect()
    }

    #[test]
    fn refusals_are_kept_and_the_files_are_private() {
        let (_dir, log) = logged(5);
        let entries = log.entries().unwrap();
        assert_eq!(entries[3].body.outcome, "PERMISSION_DENIED");
        assert!(lines(&log)[3].contains(r#""outcome":"PERMISSION_DENIED""#));
        assert!(
            !lines(&log)[2].contains("outcome"),
            "an answered call writes no outcome"
        );
        #[cfg(unix)]
        for path in [&log.log, &log.head, log.key_path.as_ref().unwrap()] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{}", path.display());
        }
    }

    #[test]
    fn a_log_cut_short_or_rechained_without_the_key_does_not_verify() {
        // The tail cut and the head rewritten to match, as the head was written before it had
        // a MAC.
        let (_dir, log) = logged(5);
        let mut truncated = lines(&log);
        truncated.pop();
        rewrite(&log, &truncated);
        let last = log.entries().unwrap().pop().unwrap();
        std::fs::write(&log.head, format!("{:020} {}\n", last.body.seq, last.hash)).unwrap();
        let problems = broken_at(&log);
        assert!(problems[0].1.contains("head was altered"), "{problems:?}");

        // The whole log re-chained, an entry edited, under a key that is not the log's.
        let (_dir, log) = logged(5);
        let forged = rechained(&log, &[7; 32], |body| {
            if body.seq == 2 {
                body.hits = 0;
            }
        });
        rewrite(&log, &forged);
        let problems = broken_at(&log);
        assert_eq!(problems[0].0, 1, "{problems:?}");
        assert!(problems[0].1.contains("entry 1 was edited"), "{problems:?}");
    }

    #[test]
    fn an_entry_written_without_its_head_is_taken_up_by_the_next_append() {
        let (dir, log) = logged(3);
        let head = std::fs::read(&log.head).unwrap();
        log.append(&Request::local("Lookup")).unwrap();
        // As if the process had stopped between the entry's write and the head's, and another
        // had started.
        std::fs::write(&log.head, &head).unwrap();
        let log = AuditLog::new(&DataDir::open(dir.path()).unwrap());
        let next = log.append(&Request::local("Search")).unwrap();
        assert_eq!(next.body.seq, 5);
        assert_eq!(log.verify().unwrap(), Ok(5));
        assert_eq!(
            log.anchor().unwrap(),
            Anchor {
                seq: 5,
                hash: next.hash
            }
        );
    }

    #[test]
    fn a_group_written_without_its_head_is_taken_up_by_the_next_append() {
        let (dir, log) = logged(2);
        let head = std::fs::read(&log.head).unwrap();
        // Large entries, so that the group spans more than the first tail read back.
        let large = Request {
            asked: (0..40_000).collect(),
            ..Request::local("Lookup")
        };
        log.write_group(&vec![large; 40]).unwrap();
        assert!(std::fs::metadata(&log.log).unwrap().len() > 2 * TAIL);
        // As if the process had stopped after the group's entries and before its head.
        std::fs::write(&log.head, &head).unwrap();
        let log = AuditLog::new(&DataDir::open(dir.path()).unwrap());
        let next = log.append(&Request::local("Search")).unwrap();
        assert_eq!(next.body.seq, 43);
        assert_eq!(log.verify().unwrap(), Ok(43));
    }

    #[test]
    fn a_head_behind_by_more_than_one_group_is_not_caught_up() {
        let (dir, log) = logged(2);
        let head = std::fs::read(&log.head).unwrap();
        log.write_group(&[Request::local("Lookup"), Request::local("Lookup")])
            .unwrap();
        log.write_group(&[Request::local("Search")]).unwrap();
        // An older head put back over a longer log: not a process stopped mid-write.
        std::fs::write(&log.head, &head).unwrap();
        let log = AuditLog::new(&DataDir::open(dir.path()).unwrap());
        assert!(log.verify().unwrap().is_err());
        log.append(&Request::local("Show")).unwrap();
        assert!(log.verify().unwrap().is_err(), "still reported after the next append");

        // No head at all, over a log of two groups.
        let (dir, log) = logged(3);
        std::fs::remove_file(&log.head).unwrap();
        let log = AuditLog::new(&DataDir::open(dir.path()).unwrap());
        log.append(&Request::local("Show")).unwrap();
        assert!(log.verify().unwrap().is_err());
    }

    #[test]
    fn a_write_cut_short_leaves_a_line_of_its_own_and_the_chain_goes_on() {
        let (dir, log) = logged(3);
        let head = std::fs::read(&log.head).unwrap();
        log.write_group(&[Request::local("Lookup"), Request::local("Lookup")])
            .unwrap();
        // The process stopped while writing the next group, and before the head above.
        std::fs::write(&log.head, &head).unwrap();
        let mut file = OpenOptions::new().append(true).open(&log.log).unwrap();
        file.write_all(br#"{"seq":6,"time":"2026-"#).unwrap();
        let log = AuditLog::new(&DataDir::open(dir.path()).unwrap());
        let next = log.append(&Request::local("Search")).unwrap();
        assert_eq!(next.body.seq, 6, "the group before the torn line is caught up");
        let problems = log.verify().unwrap().unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, 6, "the torn line is named: {problems:?}");
        assert_eq!(lines(&log).len(), 7);
    }

    #[test]
    fn entries_appended_at_once_from_many_threads_form_one_chain() {
        let (_dir, log) = logged(0);
        let written: Vec<Entry> = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..8)
                .map(|thread| {
                    let log = &log;
                    scope.spawn(move || {
                        (0..50)
                            .map(|number| {
                                log.append(&Request {
                                    principal: format!("thread-{thread}"),
                                    queries: number,
                                    ..Request::default()
                                })
                                .unwrap()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            writers.into_iter().flat_map(|writer| writer.join().unwrap()).collect()
        });
        assert_eq!(log.verify().unwrap(), Ok(400));
        assert!(
            log.groups_written() < 400,
            "calls arriving while a group was written were written together"
        );
        // Each call got its own entry, as the log holds it.
        let logged = log.entries().unwrap();
        for entry in &written {
            assert_eq!(&logged[entry.body.seq as usize - 1], entry);
        }
        let mut seqs: Vec<u64> = written.iter().map(|entry| entry.body.seq).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=400).collect::<Vec<_>>());
        // A thread's entries are in the order it wrote them.
        for thread in 0..8 {
            let mine: Vec<u64> = logged
                .iter()
                .filter(|entry| entry.body.principal == format!("thread-{thread}"))
                .map(|entry| entry.body.queries)
                .collect();
            assert_eq!(mine, (0..50).collect::<Vec<_>>());
        }
    }

    #[test]
    fn an_anchor_kept_elsewhere_catches_what_the_key_holder_rewrites() {
        let (_dir, log) = logged(5);
        let anchor = log.anchor().unwrap();
        assert_eq!(anchor.seq, 5);
        assert_eq!(anchor.to_string().parse::<Anchor>().unwrap(), anchor);
        assert!("5:abc".parse::<Anchor>().is_err());
        assert_eq!(log.verify_anchored(Some(&anchor)).unwrap(), Ok(5));
        // Whoever holds the key re-chains an edited log and writes a head that matches: the
        // chain verifies, the anchor does not.
        let key = log.key().unwrap();
        let forged = rechained(&log, &key, |body| body.principal = "someone-else".into());
        rewrite(&log, &forged);
        log.write_head(&key, 5, &log.entries().unwrap()[4].hash).unwrap();
        assert_eq!(log.verify().unwrap(), Ok(5));
        let problems = log.verify_anchored(Some(&anchor)).unwrap().unwrap_err();
        assert!(problems[0].message.contains("no longer holds entry 5"), "{problems:?}");
    }
}
