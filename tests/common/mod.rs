//! Helpers shared by the integration tests.

pub mod scene;
pub mod setup;
pub mod tls;

use leakdex::catalog::{Catalog, Corpus, CorpusKind, FileCatalog, PgCatalog};
use leakdex::ingest::{
    Error, FileInfo, FileSummary, Format, Kind, Location, RecordBatch, RecordSink, ScanOptions, SourceFile, Validity,
};
use leakdex::segment::{BuildOptions, build_segment};
use leakdex::storage::DataDir;
use leakdex::synth::{Corpus as Generated, generate};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A fixture under `tests/data`.
pub fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(relative)
}

/// One field as collected, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedField {
    pub name: String,
    pub kind: Kind,
    pub validity: Validity,
    pub raw: String,
    pub normalized: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedRecord {
    pub location: Location,
    pub latin1: bool,
    pub fields: Vec<OwnedField>,
}

impl OwnedRecord {
    /// The first field with this name.
    pub fn field(&self, name: &str) -> Option<&OwnedField> {
        self.fields.iter().find(|field| field.name == name)
    }
}

/// Everything a scan produced for one file.
#[derive(Debug, Default)]
pub struct Collected {
    pub format: Option<Format>,
    pub info: Option<String>,
    pub records: Vec<OwnedRecord>,
    pub rejects: Vec<(u64, u64, String)>,
    pub summary: Option<Result<FileSummary, String>>,
}

/// A sink that keeps every record, by file path.
#[derive(Default)]
pub struct Collector {
    pub files: Mutex<BTreeMap<String, Collected>>,
    pub unreadable: Mutex<Vec<String>>,
}

impl RecordSink for Collector {
    fn begin(&self, file: &SourceFile, info: &FileInfo) {
        let mut files = self.files.lock().unwrap();
        let entry = files.entry(file.path.clone()).or_default();
        entry.format = Some(info.format);
        entry.info = Some(format!(
            "{} {} {:?}",
            info.encoding.label(),
            info.header,
            info.compression.label()
        ));
    }

    fn batch(&self, file: &SourceFile, batch: RecordBatch) {
        let mut files = self.files.lock().unwrap();
        let entry = files.entry(file.path.clone()).or_default();
        for reject in batch.rejects() {
            entry.rejects.push((reject.line, reject.offset, reject.reason.clone()));
        }
        for record in batch.iter() {
            entry.records.push(OwnedRecord {
                location: record.location(),
                latin1: record.decoded_latin1(),
                fields: record
                    .fields()
                    .map(|field| OwnedField {
                        name: field.name.to_string(),
                        kind: field.kind,
                        validity: field.validity,
                        raw: field.raw.to_string(),
                        normalized: field.normalized.to_string(),
                    })
                    .collect(),
            });
        }
    }

    fn end(&self, file: &SourceFile, outcome: Result<FileSummary, Error>) {
        let mut files = self.files.lock().unwrap();
        files.entry(file.path.clone()).or_default().summary = Some(outcome.map_err(|error| error.to_string()));
    }

    fn unreadable(&self, path: &str, error: Error) {
        self.unreadable.lock().unwrap().push(format!("{path}: {error}"));
    }
}

/// Scans `paths` and returns what each file gave.
pub fn collect(paths: &[PathBuf], options: &ScanOptions) -> (BTreeMap<String, Collected>, Vec<String>) {
    let collector = Collector::default();
    leakdex::ingest::scan(paths, options, &collector);
    (
        collector.files.into_inner().unwrap(),
        collector.unreadable.into_inner().unwrap(),
    )
}

/// Scans one file with default options.
pub fn collect_file(path: &Path) -> Collected {
    let (mut files, unreadable) = collect(&[path.to_path_buf()], &ScanOptions::default());
    assert!(unreadable.is_empty(), "{unreadable:?}");
    assert_eq!(files.len(), 1, "{:?}", files.keys().collect::<Vec<_>>());
    files.pop_first().unwrap().1
}

/// Byte offset and 1-based line of the first occurrence of `needle` in `text`.
pub fn position_of(text: &str, needle: &str) -> (u64, u64) {
    let offset = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in text"));
    let line = text[..offset].matches('\n').count() + 1;
    (offset as u64, line as u64)
}

pub fn corpus(name: &str) -> Corpus {
    Corpus {
        acquired: Some("2023-06-12".into()),
        ..Corpus::new(name, CorpusKind::Leak)
    }
}

pub fn corpus_name(generated: Generated) -> &'static str {
    generated.file_name().split('.').next().unwrap()
}

/// Whether this run's deployments are clusters: `LEAKDEX_TEST_BACKEND=cluster` runs the
/// suites that build deployments through [`deployment`] against PostgreSQL and S3 (the servers
/// of [`setup`]) instead of the embedded default; `.ci/run` runs the service, access and index
/// suites once so.
pub fn clustered() -> bool {
    std::env::var("LEAKDEX_TEST_BACKEND").as_deref() == Ok("cluster")
}

/// A cluster deployment of this run: its catalog, and what a `leakdex` process is given to
/// join it.
struct Cluster {
    catalog: Arc<PgCatalog>,
    url: String,
    prefix: String,
    key_file: PathBuf,
}

/// Each cluster deployment, by its data directories (its own and its server's).
fn clusters() -> &'static Mutex<HashMap<PathBuf, Arc<Cluster>>> {
    static CLUSTERS: OnceLock<Mutex<HashMap<PathBuf, Arc<Cluster>>>> = OnceLock::new();
    CLUSTERS.get_or_init(Mutex::default)
}

fn cluster_of(root: &Path) -> Option<Arc<Cluster>> {
    clusters().lock().unwrap().get(root).cloned()
}

/// A deployment whose data directory is `root`: the embedded default, or (see [`clustered`]) a
/// fresh PostgreSQL database and S3 prefix of its own, with its shared state there.
pub fn deployment(root: &Path) -> DataDir {
    let data = DataDir::open(root).unwrap();
    if !clustered() {
        return data;
    }
    static DEPLOYMENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!(
        "deployment_{}_{}",
        std::process::id(),
        DEPLOYMENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let url = setup::postgres_server().database(&name);
    let catalog = Arc::new(PgCatalog::connect(&url).unwrap());
    let server = setup::s3_server();
    let objects = leakdex::storage::S3Objects::with_builder(server.builder(), &server.bucket, &name).unwrap();
    let data = data
        .with_objects(Arc::new(objects), 1 << 30, leakdex::storage::DEFAULT_GAP_BYTES)
        .unwrap()
        .with_shared(catalog.clone());
    catalog.check_key(&data.key_check()).unwrap();
    let key_file = root.with_extension("key");
    std::fs::write(&key_file, hex::encode(data.key())).unwrap();
    let cluster = Arc::new(Cluster {
        catalog,
        url,
        prefix: name,
        key_file,
    });
    clusters().lock().unwrap().insert(root.to_path_buf(), cluster);
    data
}

/// The catalog of the deployment whose data directory `data` is.
pub fn catalog_of(data: &DataDir) -> Arc<dyn Catalog> {
    match cluster_of(data.root()) {
        Some(cluster) => cluster.catalog.clone(),
        None => Arc::new(FileCatalog::open(data.root())),
    }
}

/// What a server of the deployment `data` opens: in a cluster, a process of its own — another
/// data directory with an empty cache, the deployment's key, storage and shared state, and the
/// operator's `limits.json` — so that every segment it serves comes through object storage.
pub fn server_side(data: &DataDir) -> DataDir {
    let Some(shared) = data.shared() else {
        return data.clone();
    };
    let Some(cluster) = cluster_of(data.root()) else {
        return data.clone();
    };
    let root = data.root().with_extension("server");
    let served = DataDir::open(&root)
        .unwrap()
        .with_key_file(&cluster.key_file)
        .unwrap()
        .with_objects(
            data.objects().unwrap().objects.clone(),
            1 << 30,
            leakdex::storage::DEFAULT_GAP_BYTES,
        )
        .unwrap()
        .with_shared(shared.clone());
    if let Ok(limits) = std::fs::read(data.root().join("limits.json")) {
        std::fs::write(root.join("limits.json"), limits).unwrap();
    }
    clusters().lock().unwrap().insert(root, cluster);
    served
}

/// Generates `records` per corpus (seed 11) and ingests each into its own corpus of a
/// [`deployment`].
pub fn indexed_corpora(dir: &Path, records: u64, options: &BuildOptions) -> (DataDir, Arc<dyn Catalog>) {
    generate(&dir.join("dumps"), records, 11).unwrap();
    let data = deployment(&dir.join("data"));
    let catalog = catalog_of(&data);
    for generated in Generated::ALL {
        let report = build_segment(
            &data,
            &*catalog,
            &corpus(corpus_name(generated)),
            &[dir.join("dumps").join(generated.file_name())],
            options,
        )
        .unwrap();
        assert_eq!(report.records, records, "{generated:?}");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }
    (data, catalog)
}

/// The `leakdex` binary with `--data-dir data`, joined to its deployment's catalog, storage and
/// key when `data` is a cluster's (see [`deployment`]).
pub fn leakdex(data: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_leakdex"));
    command.arg("--data-dir").arg(data);
    if let Some(cluster) = cluster_of(data) {
        joining(&mut command, &cluster.url, &cluster.prefix, &cluster.key_file);
    }
    command
}

/// `command` joined to a cluster: the catalog at `catalog`, segments under `prefix` of the
/// test S3 server's bucket, the deployment's key in `key`.
pub fn joining(command: &mut std::process::Command, catalog: &str, prefix: &str, key: &Path) {
    let server = setup::s3_server();
    command
        .env("LEAKDEX_CATALOG", catalog)
        .env("LEAKDEX_STORAGE", format!("s3://{}/{prefix}", server.bucket))
        .env("LEAKDEX_KEY_FILE", key)
        .env("AWS_ENDPOINT", &server.endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1");
}

/// `leakdex serve` in-process on 127.0.0.1:0 (over TLS when given), until [`Served::stop`].
pub struct Served {
    pub url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl Served {
    pub async fn start(data: &DataDir, tls: Option<tonic::transport::ServerTlsConfig>) -> Served {
        Served::start_with(data, tls, leakdex::service::ServerPolicy::default()).await
    }

    /// [`Served::start`] with a policy (ingest roots, upload limit).
    pub async fn start_with(
        data: &DataDir,
        tls: Option<tonic::transport::ServerTlsConfig>,
        policy: leakdex::service::ServerPolicy,
    ) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let state = leakdex::service::ServiceState::open_with(
            server_side(data),
            catalog_of(data),
            leakdex::ingest::Region::INDIA,
            policy,
        )
        .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            leakdex::service::serve_tls(listener, state, shutdown, std::time::Duration::from_secs(5), tls)
                .await
                .unwrap();
        });
        Served { url, stop, server }
    }

    /// Shuts the server down and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap();
    }
}

/// Every message of a response stream, or the status it ended with.
pub async fn drain<T>(mut stream: tonic::Streaming<T>) -> Result<Vec<T>, tonic::Status> {
    let mut messages = Vec::new();
    while let Some(message) = stream.message().await? {
        messages.push(message);
    }
    Ok(messages)
}

/// Lookup requests of `values`, their ids their positions.
pub fn lookup_requests(values: Vec<String>) -> Vec<leakdex::service::proto::LookupRequest> {
    values
        .into_iter()
        .enumerate()
        .map(|(id, value)| leakdex::service::proto::LookupRequest {
            id: id.to_string(),
            value,
            ..Default::default()
        })
        .collect()
}

/// The answers of one BatchLookup stream of `values` (ids are their positions).
pub async fn lookups(
    connection: &leakdex::service::client::Connection,
    values: Vec<String>,
) -> Result<Vec<leakdex::service::proto::LookupResponse>, tonic::Status> {
    use leakdex::service::proto::lookup_client::LookupClient;
    let requests = lookup_requests(values);
    let stream = LookupClient::new(connection.clone())
        .batch_lookup(tokio_stream::iter(requests))
        .await?
        .into_inner();
    drain(stream).await
}

/// What `command` printed; it must succeed (what failed and its stderr otherwise).
pub fn stdout_of(command: &mut std::process::Command, what: &str) -> Vec<u8> {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Kills a server child even when an assertion fails.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `leakdex serve` on a free port from a prepared command (environment, data directory): the
/// child, its address, and its next `more` lines of stderr. The rest of stderr is drained on a
/// thread: a server whose stderr is closed fails to log.
pub fn serve(mut command: std::process::Command, extra: &[&str], more: usize) -> (Child, String, Vec<String>) {
    use std::io::BufRead;
    let mut server = Child(
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = std::io::BufReader::new(server.0.stderr.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..=more {
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        lines.push(line.trim().to_string());
    }
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let address = lines[0]
        .strip_prefix("leakdex: serving on ")
        .unwrap_or_else(|| panic!("{lines:?}"))
        .to_string();
    (server, address, lines.split_off(1))
}
