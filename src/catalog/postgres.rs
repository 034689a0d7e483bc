//! The cluster's catalog on PostgreSQL: every change one transaction, a generation row that
//! readers poll (and a `NOTIFY leakdex_catalog` for those that listen), and migrations applied
//! under an advisory lock so that processes starting together agree on the schema.
//!
//! Tables are prefixed `leakdex_`, so the catalog can share a database with other services.

use super::{Catalog, CatalogError, Corpus, CorpusKind, FileEntry, SegmentEntry, SegmentState};
use crate::background::Background;
use crate::storage::documents::{Change, Counters, DocumentError, Documents, Extension, Journal, Merge};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls, Transaction};

/// The schema, in order; a migration is applied once and recorded in `leakdex_migrations`.
/// Never edit one that has shipped: add the next.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE leakdex_corpora (
         position bigserial UNIQUE,
         name text PRIMARY KEY,
         kind text NOT NULL,
         acquired text,
         source text,
         created text NOT NULL
     );
     CREATE TABLE leakdex_segments (
         position bigserial UNIQUE,
         id text PRIMARY KEY,
         corpus text NOT NULL,
         state text NOT NULL CHECK (state IN ('staged', 'published', 'deleted')),
         records bigint NOT NULL DEFAULT 0,
         files jsonb NOT NULL DEFAULT '[]'::jsonb,
         changed timestamptz NOT NULL DEFAULT now()
     );
     CREATE INDEX leakdex_segments_corpus ON leakdex_segments (corpus);
     CREATE TABLE leakdex_generation (
         only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
         generation bigint NOT NULL
     );
     INSERT INTO leakdex_generation VALUES (true, 0);",
    ),
    (
        2,
        "CREATE TABLE leakdex_settings (
             name text PRIMARY KEY,
             value text NOT NULL
         );",
    ),
    (
        3,
        "CREATE TABLE leakdex_documents (
             name text PRIMARY KEY,
             body bytea NOT NULL,
             version bigint NOT NULL
         );",
    ),
    (
        4,
        "CREATE TABLE leakdex_journal_heads (
             name text PRIMARY KEY,
             length bigint NOT NULL,
             head bytea NOT NULL
         );
         CREATE TABLE leakdex_journal_entries (
             name text NOT NULL,
             position bigint NOT NULL,
             entry bytea NOT NULL,
             PRIMARY KEY (name, position)
         );
         CREATE TABLE leakdex_counters (
             name text PRIMARY KEY,
             value bigint NOT NULL,
             expires bigint NOT NULL
         );
         CREATE INDEX leakdex_counters_expires ON leakdex_counters (expires);",
    ),
];

/// Attempts of a document update that keeps losing the race to other writers.
const DOCUMENT_ATTEMPTS: usize = 32;

/// Key of the advisory lock that serializes migrations (`leakdex` in ASCII).
const MIGRATION_LOCK: i64 = 0x006c_6561_6b64_6578;

/// The catalog in a PostgreSQL database.
pub struct PgCatalog {
    /// The URL as given, password included: only for connecting.
    connect_to: String,
    /// The URL with its password hidden, for messages.
    url: String,
    /// The connection, made again when it is found closed.
    client: Arc<Mutex<Option<Client>>>,
    /// A connection of the journal's own: an append holds it (and its transaction's lock)
    /// while the caller makes the entries, without stopping the catalog's other calls.
    journal_client: Arc<Mutex<Option<Client>>>,
    /// The catalog's generation as this process last saw it: its own changes at once, other
    /// processes' within [`WATCH_EVERY`] (a task polls the one row), so asking costs nothing.
    generation: Arc<AtomicU64>,
    /// When the watch last read the row (milliseconds since the Unix epoch).
    watched: Arc<AtomicU64>,
    background: Background,
}

/// Past this without a successful watch, [`Catalog::generation`] reads the row itself (and
/// fails if it cannot), rather than let a server answer from an index it cannot know is current.
const STALE_AFTER_MS: u64 = 2_000;

/// How often a process polls the generation row.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

impl std::fmt::Debug for PgCatalog {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("PgCatalog").field("url", &self.url).finish()
    }
}

/// What a connection string names, for messages and logs: user, hosts, ports and database,
/// never the password (in a URL, a `?password=` parameter or a `key=value` string alike).
fn redacted(url: &str) -> String {
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return "postgres://(an unreadable connection string)".to_string();
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            tokio_postgres::config::Host::Unix(path) => format!("{}:{port}", path.display()),
        })
        .collect();
    format!(
        "postgres://{}@{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

/// Connection settings added to the caller's: a dead server or network is found out in
/// seconds, not at the operating system's TCP timeout, and no statement runs unbounded.
fn connection_config(url: &str) -> Result<tokio_postgres::Config, tokio_postgres::Error> {
    let mut config: tokio_postgres::Config = url.parse()?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    config.keepalives(true);
    config.keepalives_idle(std::time::Duration::from_secs(30));
    if config.get_options().is_none() {
        config.options("-c statement_timeout=30000");
    }
    Ok(config)
}

fn state_name(state: SegmentState) -> &'static str {
    match state {
        SegmentState::Staged => "staged",
        SegmentState::Published => "published",
    }
}

/// A database step: `Err` for a database error, `Ok(Err)` for a catalog error (no such corpus).
type Step<'c, T> = Pin<Box<dyn Future<Output = Result<Result<T, CatalogError>, tokio_postgres::Error>> + Send + 'c>>;

impl PgCatalog {
    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`) and brings the
    /// schema up to date.
    ///
    /// Errors: [`CatalogError::Postgres`] when the server cannot be reached or refuses the
    /// migrations; [`CatalogError::Io`] when the catalog's runtime cannot start.
    pub fn connect(url: &str) -> Result<PgCatalog, CatalogError> {
        let shown = redacted(url);
        let background = Background::start("catalog").map_err(|source| CatalogError::Io {
            path: shown.clone(),
            source,
        })?;
        let catalog = PgCatalog {
            connect_to: url.to_string(),
            url: shown,
            client: Arc::new(Mutex::new(None)),
            journal_client: Arc::new(Mutex::new(None)),
            generation: Arc::new(AtomicU64::new(0)),
            watched: Arc::new(AtomicU64::new(crate::clock::now_millis())),
            background,
        };
        catalog.run(|client| {
            Box::pin(async move {
                let transaction = client.transaction().await?;
                transaction
                    .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                    .await?;
                transaction
                    .batch_execute(
                        "CREATE TABLE IF NOT EXISTS leakdex_migrations (
                             version integer PRIMARY KEY,
                             applied timestamptz NOT NULL DEFAULT now()
                         )",
                    )
                    .await?;
                let applied: Vec<i32> = transaction
                    .query("SELECT version FROM leakdex_migrations", &[])
                    .await?
                    .iter()
                    .map(|row| row.get(0))
                    .collect();
                for (version, sql) in MIGRATIONS {
                    if !applied.contains(version) {
                        transaction.batch_execute(sql).await?;
                        transaction
                            .execute("INSERT INTO leakdex_migrations (version) VALUES ($1)", &[version])
                            .await?;
                    }
                }
                transaction.commit().await?;
                Ok(Ok(()))
            })
        })?;
        let now = catalog.run(|client| Box::pin(async move { Ok(Ok(read_generation(client).await?)) }))?;
        catalog.generation.fetch_max(now, Ordering::AcqRel);
        catalog.watch();
        Ok(catalog)
    }

    /// Polls the generation row every [`WATCH_EVERY`] on a connection of its own, for as long
    /// as the catalog lives.
    fn watch(&self) {
        let (connect_to, generation, watched) = (
            self.connect_to.clone(),
            Arc::downgrade(&self.generation),
            self.watched.clone(),
        );
        self.background.spawn(async move {
            let mut client: Option<Client> = None;
            loop {
                tokio::time::sleep(WATCH_EVERY).await;
                let Some(generation) = generation.upgrade() else {
                    return;
                };
                let open = match checkout(&mut client, &connect_to).await {
                    Ok(open) => open,
                    Err(error) => {
                        tracing::warn!(%error, "the catalog cannot be watched; retrying");
                        continue;
                    }
                };
                if let Ok(now) = read_generation(open).await {
                    generation.fetch_max(now, Ordering::AcqRel);
                    watched.store(crate::clock::now_millis(), Ordering::Release);
                }
            }
        });
    }

    /// Runs `work` with a connected client on the catalog's runtime and waits for it.
    fn run<T: Send + 'static>(
        &self,
        work: impl for<'c> FnOnce(&'c mut Client) -> Step<'c, T> + Send + 'static,
    ) -> Result<T, CatalogError> {
        let (client, connect_to, url) = (self.client.clone(), self.connect_to.clone(), self.url.clone());
        let failed = |url: &String| {
            let url = url.clone();
            move |source| CatalogError::Postgres { url, source }
        };
        let stopped = CatalogError::Io {
            path: url.clone(),
            source: std::io::Error::other("the catalog's runtime stopped"),
        };
        self.background
            .run(async move {
                let mut slot = client.lock().await;
                let connected = checkout(&mut slot, &connect_to).await.map_err(failed(&url))?;
                work(connected).await.map_err(failed(&url))?
            })
            .unwrap_or(Err(stopped))
    }

    /// Runs `work` in one transaction that, when `work` succeeds, also advances the generation
    /// and notifies listeners; a catalog error rolls it back.
    fn change<T: Send + 'static>(
        &self,
        work: impl for<'t> FnOnce(&'t Transaction<'t>) -> Step<'t, T> + Send + 'static,
    ) -> Result<T, CatalogError> {
        let generation = self.generation.clone();
        self.run(|client| {
            Box::pin(async move {
                let transaction = client.transaction().await?;
                let answer = match work(&transaction).await? {
                    Ok(answer) => answer,
                    Err(error) => {
                        transaction.rollback().await?;
                        return Ok(Err(error));
                    }
                };
                let now: i64 = transaction
                    .query_one(
                        "UPDATE leakdex_generation SET generation = generation + 1 RETURNING generation",
                        &[],
                    )
                    .await?
                    .get(0);
                transaction.batch_execute("NOTIFY leakdex_catalog").await?;
                transaction.commit().await?;
                generation.fetch_max(now.max(0) as u64, Ordering::AcqRel);
                Ok(Ok(answer))
            })
        })
    }
}

/// The client in `slot`, connected again if it is missing or its connection closed.
async fn checkout<'s>(slot: &'s mut Option<Client>, connect_to: &str) -> Result<&'s mut Client, tokio_postgres::Error> {
    if let Some(open) = slot.take_if(|open| !open.is_closed()) {
        return Ok(slot.insert(open));
    }
    let (open, connection) = connection_config(connect_to)?.connect(NoTls).await?;
    // Ends when the connection does; the next call connects again.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(slot.insert(open))
}

/// Whether the corpus exists (locking its row until the transaction ends).
async fn lock_corpus(transaction: &Transaction<'_>, name: &str) -> Result<bool, tokio_postgres::Error> {
    Ok(transaction
        .query_opt("SELECT 1 FROM leakdex_corpora WHERE name = $1 FOR UPDATE", &[&name])
        .await?
        .is_some())
}

impl Catalog for PgCatalog {
    fn corpora(&self) -> Result<Vec<Corpus>, CatalogError> {
        self.run(|client| {
            Box::pin(async move {
                // One snapshot for both tables.
                let transaction = client
                    .build_transaction()
                    .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .await?;
                let corpora = transaction
                    .query(
                        "SELECT name, kind, acquired, source, created FROM leakdex_corpora ORDER BY position",
                        &[],
                    )
                    .await?;
                let segments = transaction
                    .query(
                        "SELECT corpus, id, state, records, files FROM leakdex_segments
                         WHERE state <> 'deleted' ORDER BY position",
                        &[],
                    )
                    .await?;
                transaction.commit().await?;
                let mut out = Vec::with_capacity(corpora.len());
                for row in &corpora {
                    let kind: String = row.get(1);
                    let Ok(kind) = kind.parse::<CorpusKind>() else {
                        return Ok(Err(CatalogError::Corrupt {
                            path: "leakdex_corpora".into(),
                            message: format!("corpus {:?} has kind {kind:?}", row.get::<_, String>(0)),
                        }));
                    };
                    out.push(Corpus {
                        name: row.get(0),
                        kind,
                        acquired: row.get(2),
                        source: row.get(3),
                        created: row.get(4),
                        segments: Vec::new(),
                    });
                }
                for row in &segments {
                    let corpus: String = row.get(0);
                    let state = match row.get::<_, String>(2).as_str() {
                        "published" => SegmentState::Published,
                        _ => SegmentState::Staged,
                    };
                    let files: serde_json::Value = row.get(4);
                    let files: Vec<FileEntry> = match serde_json::from_value(files) {
                        Ok(files) => files,
                        Err(error) => {
                            return Ok(Err(CatalogError::Corrupt {
                                path: "leakdex_segments".into(),
                                message: format!("segment {}: {error}", row.get::<_, String>(1)),
                            }));
                        }
                    };
                    if let Some(owner) = out.iter_mut().find(|owner| owner.name == corpus) {
                        owner.segments.push(SegmentEntry {
                            id: row.get(1),
                            state,
                            records: row.get::<_, i64>(3).max(0) as u64,
                            files,
                        });
                    }
                }
                Ok(Ok(out))
            })
        })
    }

    fn ensure_corpus(&self, corpus: &Corpus) -> Result<(), CatalogError> {
        let corpus = corpus.clone();
        self.change(move |transaction| {
            Box::pin(async move {
                transaction
                    .execute(
                        "INSERT INTO leakdex_corpora (name, kind, acquired, source, created)
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
                        &[
                            &corpus.name,
                            &corpus.kind.to_string(),
                            &corpus.acquired,
                            &corpus.source,
                            &corpus.created,
                        ],
                    )
                    .await?;
                let row = transaction
                    .query_one(
                        "SELECT kind FROM leakdex_corpora WHERE name = $1 FOR UPDATE",
                        &[&corpus.name],
                    )
                    .await?;
                let existing: String = row.get(0);
                if existing != corpus.kind.to_string() {
                    return Ok(Err(CatalogError::KindMismatch {
                        name: corpus.name.clone(),
                        existing: existing.parse().unwrap_or(CorpusKind::Leak),
                        requested: corpus.kind,
                    }));
                }
                transaction
                    .execute(
                        "UPDATE leakdex_corpora SET acquired = coalesce($2, acquired), source = coalesce($3, source)
                         WHERE name = $1",
                        &[&corpus.name, &corpus.acquired, &corpus.source],
                    )
                    .await?;
                Ok(Ok(()))
            })
        })
    }

    fn stage_segment(&self, corpus: &str, id: &str) -> Result<(), CatalogError> {
        let (corpus, id) = (corpus.to_string(), id.to_string());
        self.change(move |transaction| {
            Box::pin(async move {
                if !lock_corpus(transaction, &corpus).await? {
                    return Ok(Err(CatalogError::NoCorpus(corpus)));
                }
                transaction
                    .execute(
                        "INSERT INTO leakdex_segments (id, corpus, state) VALUES ($1, $2, 'staged')
                         ON CONFLICT (id) DO NOTHING",
                        &[&id, &corpus],
                    )
                    .await?;
                Ok(Ok(()))
            })
        })
    }

    fn publish_segment(&self, corpus: &str, segment: SegmentEntry) -> Result<(), CatalogError> {
        let corpus = corpus.to_string();
        self.change(move |transaction| {
            Box::pin(async move {
                if !lock_corpus(transaction, &corpus).await? {
                    return Ok(Err(CatalogError::NoCorpus(corpus)));
                }
                let files = serde_json::to_value(&segment.files).unwrap_or_default();
                let records = i64::try_from(segment.records).unwrap_or(i64::MAX);
                transaction
                    .execute(
                        "INSERT INTO leakdex_segments (id, corpus, state, records, files)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (id) DO UPDATE SET corpus = $2, state = $3, records = $4, files = $5,
                             changed = now()",
                        &[
                            &segment.id,
                            &corpus,
                            &state_name(SegmentState::Published),
                            &records,
                            &files,
                        ],
                    )
                    .await?;
                Ok(Ok(()))
            })
        })
    }

    fn delete_corpus(&self, name: &str) -> Result<Vec<String>, CatalogError> {
        let name = name.to_string();
        self.change(move |transaction| {
            Box::pin(async move {
                if transaction
                    .execute("DELETE FROM leakdex_corpora WHERE name = $1", &[&name])
                    .await?
                    == 0
                {
                    return Ok(Err(CatalogError::NoCorpus(name)));
                }
                let deleted = transaction
                    .query(
                        "UPDATE leakdex_segments SET state = 'deleted', changed = now()
                         WHERE corpus = $1 RETURNING id, position",
                        &[&name],
                    )
                    .await?;
                let mut deleted: Vec<(i64, String)> = deleted.iter().map(|row| (row.get(1), row.get(0))).collect();
                deleted.sort();
                Ok(Ok(deleted.into_iter().map(|(_, id)| id).collect()))
            })
        })
    }

    fn forget_segments(&self, ids: &[String]) -> Result<(), CatalogError> {
        let ids = ids.to_vec();
        self.change(move |transaction| {
            Box::pin(async move {
                transaction
                    .execute(
                        "DELETE FROM leakdex_segments WHERE id = ANY($1) AND state <> 'published'",
                        &[&ids],
                    )
                    .await?;
                Ok(Ok(()))
            })
        })
    }

    fn check_key(&self, check: &str) -> Result<(), CatalogError> {
        let (check, url) = (check.to_string(), self.url.clone());
        self.run(move |client| {
            Box::pin(async move {
                // Read first: a process starting writes nothing once the check is recorded.
                let select = "SELECT value FROM leakdex_settings WHERE name = 'key_check'";
                let stored: String = match client.query_opt(select, &[]).await? {
                    Some(row) => row.get(0),
                    None => {
                        client
                            .execute(
                                "INSERT INTO leakdex_settings (name, value) VALUES ('key_check', $1)
                                 ON CONFLICT (name) DO NOTHING",
                                &[&check],
                            )
                            .await?;
                        client.query_one(select, &[]).await?.get(0)
                    }
                };
                Ok(if stored == check {
                    Ok(())
                } else {
                    Err(CatalogError::KeyMismatch { catalog: url })
                })
            })
        })
    }

    fn generation(&self) -> Result<u64, CatalogError> {
        if crate::clock::now_millis().saturating_sub(self.watched.load(Ordering::Acquire)) > STALE_AFTER_MS {
            let now = self.run(|client| Box::pin(async move { Ok(Ok(read_generation(client).await?)) }))?;
            self.generation.fetch_max(now, Ordering::AcqRel);
            self.watched.store(crate::clock::now_millis(), Ordering::Release);
        }
        Ok(self.generation.load(Ordering::Acquire))
    }
}

impl PgCatalog {
    fn document_error(&self, name: &str) -> impl Fn(CatalogError) -> DocumentError + '_ {
        let name = name.to_string();
        move |error| DocumentError::Backend {
            store: self.url.clone(),
            name: name.clone(),
            source: Box::new(error),
        }
    }
}

/// Documents as rows of `leakdex_documents`, each replaced by compare-and-swap on its version:
/// the change runs in the caller's thread, never holding a lock across it.
impl Documents for PgCatalog {
    fn store(&self) -> String {
        self.url.clone()
    }

    fn read(&self, name: &str) -> Result<(Option<Vec<u8>>, u64), DocumentError> {
        let owned = name.to_string();
        self.run(move |client| {
            Box::pin(async move {
                let row = client
                    .query_opt("SELECT body, version FROM leakdex_documents WHERE name = $1", &[&owned])
                    .await?;
                Ok(Ok(row.map_or((None, 0), |row| {
                    (Some(row.get::<_, Vec<u8>>(0)), row.get::<_, i64>(1).max(0) as u64)
                })))
            })
        })
        .map_err(self.document_error(name))
    }

    fn version(&self, name: &str) -> Result<u64, DocumentError> {
        let owned = name.to_string();
        self.run(move |client| {
            Box::pin(async move {
                let row = client
                    .query_opt("SELECT version FROM leakdex_documents WHERE name = $1", &[&owned])
                    .await?;
                Ok(Ok(row.map_or(0, |row| row.get::<_, i64>(0).max(0) as u64)))
            })
        })
        .map_err(self.document_error(name))
    }

    fn update(&self, name: &str, change: &mut Change<'_>) -> Result<(), DocumentError> {
        for _ in 0..DOCUMENT_ATTEMPTS {
            let (body, version) = self.read(name)?;
            let next = change(body.as_deref()).map_err(DocumentError::Refused)?;
            let (owned, expected) = (name.to_string(), version as i64);
            let swapped = self
                .run(move |client| {
                    Box::pin(async move {
                        let changed = if expected == 0 {
                            client
                                .execute(
                                    "INSERT INTO leakdex_documents (name, body, version) VALUES ($1, $2, 1)
                                     ON CONFLICT (name) DO NOTHING",
                                    &[&owned, &next],
                                )
                                .await?
                        } else {
                            client
                                .execute(
                                    "UPDATE leakdex_documents SET body = $2, version = version + 1
                                     WHERE name = $1 AND version = $3",
                                    &[&owned, &next, &expected],
                                )
                                .await?
                        };
                        Ok(Ok(changed == 1))
                    })
                })
                .map_err(self.document_error(name))?;
            if swapped {
                return Ok(());
            }
        }
        Err(DocumentError::Backend {
            store: self.url.clone(),
            name: name.to_string(),
            source: format!("{DOCUMENT_ATTEMPTS} attempts lost to other writers").into(),
        })
    }
}

/// Journals as rows of `leakdex_journal_entries` under a head row in `leakdex_journal_heads`.
/// An append is one transaction that holds an advisory lock of the journal's name: it reads the
/// head, hands it to the caller's `extend` (on the caller's thread) and writes what comes back,
/// so appends from every process follow each other and the head and its entries are written
/// together.
impl Journal for PgCatalog {
    fn append(&self, name: &str, extend: &mut Extension<'_>) -> Result<(), DocumentError> {
        let (head_sender, head_read) = std::sync::mpsc::sync_channel(1);
        let (made_sender, made) = tokio::sync::oneshot::channel::<(Vec<Vec<u8>>, Vec<u8>)>();
        let (done_sender, done) = std::sync::mpsc::sync_channel(1);
        let (slot, connect_to, owned) = (self.journal_client.clone(), self.connect_to.clone(), name.to_string());
        self.background.spawn(async move {
            let appended = async {
                let mut slot = slot.lock().await;
                let client = checkout(&mut slot, &connect_to).await?;
                let transaction = client.transaction().await?;
                transaction
                    .execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&owned])
                    .await?;
                let row = transaction
                    .query_opt(
                        "SELECT head, length FROM leakdex_journal_heads WHERE name = $1",
                        &[&owned],
                    )
                    .await?;
                let (head, length) = row.map_or((None, 0i64), |row| (Some(row.get::<_, Vec<u8>>(0)), row.get(1)));
                if head_sender.send(head).is_err() {
                    return Ok(());
                }
                // The caller's refusal (or its thread gone): nothing is written.
                let Ok((entries, next_head)) = made.await else {
                    return Ok(());
                };
                let next_length = length + entries.len() as i64;
                transaction
                    .execute(
                        "INSERT INTO leakdex_journal_heads (name, length, head) VALUES ($1, $2, $3)
                         ON CONFLICT (name) DO UPDATE SET length = EXCLUDED.length, head = EXCLUDED.head",
                        &[&owned, &next_length, &next_head],
                    )
                    .await?;
                transaction
                    .execute(
                        "INSERT INTO leakdex_journal_entries (name, position, entry)
                         SELECT $1, $2 + ordinality - 1, entry
                         FROM unnest($3::bytea[]) WITH ORDINALITY AS appended(entry, ordinality)",
                        &[&owned, &length, &entries],
                    )
                    .await?;
                transaction.commit().await
            }
            .await;
            let _ = done_sender.send(appended);
        });
        let failed = |source| {
            self.document_error(name)(CatalogError::Postgres {
                url: self.url.clone(),
                source,
            })
        };
        let stopped = || DocumentError::Backend {
            store: self.url.clone(),
            name: name.to_string(),
            source: "the catalog's runtime stopped".into(),
        };
        let Ok(head) = head_read.recv() else {
            // The transaction failed before reading the head: its error.
            return match done.recv() {
                Ok(Err(error)) => Err(failed(error)),
                _ => Err(stopped()),
            };
        };
        let refused = match extend(head.as_deref()) {
            Ok(next) => {
                let _ = made_sender.send(next);
                None
            }
            Err(refusal) => Some(refusal),
        };
        // Refused: the sender is dropped and the transaction rolled back.
        let written = done.recv().map_err(|_| stopped())?;
        if let Some(refusal) = refused {
            return Err(DocumentError::Refused(refusal));
        }
        written.map_err(failed)
    }

    fn head(&self, name: &str) -> Result<Option<Vec<u8>>, DocumentError> {
        let owned = name.to_string();
        self.run(move |client| {
            Box::pin(async move {
                let row = client
                    .query_opt("SELECT head FROM leakdex_journal_heads WHERE name = $1", &[&owned])
                    .await?;
                Ok(Ok(row.map(|row| row.get::<_, Vec<u8>>(0))))
            })
        })
        .map_err(self.document_error(name))
    }

    fn entries(&self, name: &str, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, DocumentError> {
        let (owned, from, limit) = (name.to_string(), from.min(i64::MAX as u64) as i64, limit as i64);
        self.run(move |client| {
            Box::pin(async move {
                let rows = client
                    .query(
                        "SELECT position, entry FROM leakdex_journal_entries
                         WHERE name = $1 AND position >= $2 ORDER BY position LIMIT $3",
                        &[&owned, &from, &limit],
                    )
                    .await?;
                Ok(Ok(rows
                    .iter()
                    .map(|row| (row.get::<_, i64>(0).max(0) as u64, row.get::<_, Vec<u8>>(1)))
                    .collect()))
            })
        })
        .map_err(self.document_error(name))
    }
}

/// Counters as rows of `leakdex_counters`, changed by one `INSERT … ON CONFLICT` per kind of
/// change in one transaction (a change of nothing is only read); rows are taken in name order,
/// so two processes merging the same counters do not deadlock on them. Expired rows are deleted
/// by the merge that finds them.
impl Counters for PgCatalog {
    fn merge(&self, changes: &[(String, Merge, u64)]) -> Result<Vec<i64>, DocumentError> {
        let clamp = |value: u64| value.min(i64::MAX as u64) as i64;
        let mut adds: (Vec<String>, Vec<i64>, Vec<i64>) = Default::default();
        let mut maxes: (Vec<String>, Vec<i64>, Vec<i64>) = Default::default();
        // A change that changes nothing (a new counter starts at 0) is a read: no row written.
        let mut reads: Vec<String> = Vec::new();
        for (name, change, expires) in changes {
            let (names, values, expiries) = match change {
                Merge::Add(0) | Merge::Max(0) => {
                    reads.push(name.clone());
                    continue;
                }
                Merge::Add(_) => &mut adds,
                Merge::Max(_) => &mut maxes,
            };
            let (Merge::Add(value) | Merge::Max(value)) = change;
            names.push(name.clone());
            values.push(*value);
            expiries.push(clamp(*expires));
        }
        let now = clamp(crate::clock::now_seconds());
        let values = self
            .run(move |client| {
                Box::pin(async move {
                    let transaction = client.transaction().await?;
                    transaction
                        .execute("DELETE FROM leakdex_counters WHERE expires < $1", &[&now])
                        .await?;
                    let mut values = std::collections::HashMap::new();
                    if !reads.is_empty() {
                        let rows = transaction
                            .query(
                                "SELECT name, value FROM leakdex_counters WHERE name = ANY($1)",
                                &[&reads],
                            )
                            .await?;
                        values.extend(rows.iter().map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1))));
                    }
                    for (statement, (names, changes, expiries)) in [
                        ("counter.value + EXCLUDED.value", adds),
                        ("GREATEST(counter.value, EXCLUDED.value)", maxes),
                    ] {
                        if names.is_empty() {
                            continue;
                        }
                        let rows = transaction
                            .query(
                                &format!(
                                    "INSERT INTO leakdex_counters AS counter (name, value, expires)
                                     SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) ORDER BY 1
                                     ON CONFLICT (name) DO UPDATE SET value = {statement},
                                         expires = GREATEST(counter.expires, EXCLUDED.expires)
                                     RETURNING name, value"
                                ),
                                &[&names, &changes, &expiries],
                            )
                            .await?;
                        values.extend(rows.iter().map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1))));
                    }
                    transaction.commit().await?;
                    Ok(Ok(values))
                })
            })
            .map_err(self.document_error("counters"))?;
        Ok(changes
            .iter()
            .map(|(name, _, _)| values.get(name).copied().unwrap_or(0))
            .collect())
    }
}

async fn read_generation(client: &Client) -> Result<u64, tokio_postgres::Error> {
    let row = client
        .query_one("SELECT generation FROM leakdex_generation", &[])
        .await?;
    Ok(row.get::<_, i64>(0).max(0) as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        for (given, shown) in [
            (
                "postgres://leakdex:s3cret@db.internal:5433/evidence",
                "postgres://leakdex@db.internal:5433/evidence",
            ),
            (
                "postgres://leakdex@db.internal/evidence?password=s3cret",
                "postgres://leakdex@db.internal:5432/evidence",
            ),
            (
                "host=db.internal user=leakdex password=s3cret dbname=evidence",
                "postgres://leakdex@db.internal:5432/evidence",
            ),
        ] {
            assert_eq!(super::redacted(given), shown);
        }
        assert!(!super::redacted("postgres://a:s3cret@[bad").contains("s3cret"));
    }
}
