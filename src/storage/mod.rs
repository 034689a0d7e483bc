//! Where everything lives: one data directory holding the fingerprint key, the catalog, staging
//! folders and published segments.
//!
//! ```text
//! DATA/
//!   key              secret fingerprint key (mode 0600)
//!   catalog.json     the embedded catalog (see crate::catalog)
//!   staging/ID/      segments being built; removed when their builder is gone
//!   segments/ID/     published segments, never modified
//!   text/ID/         full-text index of segment ID (tantivy), derived and rebuildable
//! ```

mod cache;
pub mod documents;
mod local;
mod mmap;
pub mod objects;
mod ranged;
mod s3;

pub use cache::{CacheStats, SegmentCache};
pub use documents::{Counters, DocumentError, Documents, Journal, LocalDocuments, Merge, SharedState};
pub use local::LocalObjects;
pub use mmap::{Mapped, map_file};
pub use objects::{ObjectError, ObjectMeta, ObjectStorage};
pub use ranged::{CALL_REQUESTS, DEFAULT_GAP_BYTES, RangedFile, RangedFiles};
pub use s3::S3Objects;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors of the data directory.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Objects(#[from] ObjectError),
    #[error("{path}: fingerprint key is damaged (expected 32 hex digits)")]
    BadKey { path: String },
    #[error(
        "{path} is open to other users (mode {mode:o}); everything under a data directory must be owner-only: `chmod -R go= {root}`"
    )]
    Exposed { path: String, mode: u32, root: String },
}

impl StorageError {
    pub fn io(path: &Path, source: io::Error) -> Self {
        StorageError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// The data directory: `--data-dir`, else `$LEAKDEX_DATA_DIR`, else `./leakdex-data`.
///
/// With object storage ([`DataDir::with_objects`]) published segments live there, the only
/// durable copy: a segment is built here, uploaded, then published; a process that lacks it
/// reads it through a bounded cache under `DATA/cache/`.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
    key: [u8; 16],
    objects: Option<Arc<RemoteSegments>>,
    /// Shared documents (the token store): files here, or the cluster's catalog database.
    documents: Arc<dyn Documents>,
    /// The cluster's shared state, when there is one: its documents, and the journal and
    /// counters that the audit chain and the limiter keep in files here otherwise.
    shared: Option<Arc<dyn SharedState>>,
}

/// Object storage for published segments, and this process's cache of it: whole files in
/// [`SegmentCache`], and the identifier indexes and locations a node reads by byte range in
/// [`RangedFiles`] (its share of the partitions, not whole files).
#[derive(Debug)]
pub struct RemoteSegments {
    pub objects: Arc<dyn ObjectStorage>,
    pub cache: SegmentCache,
    pub ranged: RangedFiles,
}

/// The object path of file `name` of segment `id`.
pub fn segment_object(id: &str, name: &str) -> String {
    format!("segments/{id}/{name}")
}

impl DataDir {
    /// The directory to use when none is given.
    pub fn default_path() -> PathBuf {
        std::env::var_os("LEAKDEX_DATA_DIR").map_or_else(|| PathBuf::from("leakdex-data"), PathBuf::from)
    }

    /// Opens the data directory, creating it (mode 0700) and its secret key on first use.
    ///
    /// The directory holds leaked personal data: everything in it must be owner-only. Opening
    /// sets the process's file-creation mask to 077, so every file written afterwards is, and
    /// refuses a directory where any folder or file (to three levels down) is open to group or
    /// others.
    ///
    /// Errors: [`StorageError::Exposed`] naming the first such path and the command that fixes
    /// it; I/O errors naming the path; [`StorageError::BadKey`].
    pub fn open(root: &Path) -> Result<DataDir, StorageError> {
        owner_only_from_now_on();
        tighten_if_empty(root)?;
        for folder in [
            root.to_path_buf(),
            root.join("staging"),
            root.join("segments"),
            root.join("text"),
        ] {
            create_private_dir(&folder)?;
        }
        check_owner_only(root)?;
        let key_path = root.join("key");
        let key = match fs::read_to_string(&key_path) {
            Ok(text) => parse_key(&text).ok_or_else(|| StorageError::BadKey {
                path: key_path.display().to_string(),
            })?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => create_key(&key_path)?,
            Err(source) => return Err(StorageError::io(&key_path, source)),
        };
        Ok(DataDir {
            root: root.to_path_buf(),
            key,
            objects: None,
            documents: Arc::new(LocalDocuments::new(root)),
            shared: None,
        })
    }

    /// This directory with its published segments on `objects`, cached in `DATA/cache/` up to
    /// `cache_bytes`; identifier indexes and locations are read by byte range, gaps of up to
    /// `gap_bytes` between wanted ranges fetched with them (see [`RangedFiles`]).
    ///
    /// Errors: [`StorageError::Objects`] when the cache folder cannot be made.
    pub fn with_objects(
        self,
        objects: Arc<dyn ObjectStorage>,
        cache_bytes: u64,
        gap_bytes: u64,
    ) -> Result<DataDir, StorageError> {
        let folder = self.root.join("cache");
        // Opening the cache first removes ranged files an earlier process left.
        let cache = SegmentCache::open(objects.clone(), &folder, cache_bytes)?;
        let ranged = RangedFiles::new(objects.clone(), &folder.join(".ranged"), gap_bytes);
        Ok(DataDir {
            objects: Some(Arc::new(RemoteSegments { objects, cache, ranged })),
            ..self
        })
    }

    /// This directory fingerprinting with the key in `path` (32 hex digits) instead of its own:
    /// every process of a cluster must share one key, as a Kubernetes Secret mounts it.
    ///
    /// Errors: [`StorageError::Io`] reading it, [`StorageError::BadKey`].
    pub fn with_key_file(self, path: &Path) -> Result<DataDir, StorageError> {
        let text = fs::read_to_string(path).map_err(|source| StorageError::io(path, source))?;
        let key = parse_key(&text).ok_or_else(|| StorageError::BadKey {
            path: path.display().to_string(),
        })?;
        Ok(DataDir { key, ..self })
    }

    /// A keyed hash of a fixed text: what a catalog stores to tell whether a process holds the
    /// key its segments were fingerprinted with, without holding the key (HMAC-SHA-256, 128
    /// bits, hex).
    pub fn key_check(&self) -> String {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(b"leakdex fingerprint key check, version 1");
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// This directory keeping its shared state (tokens, the audit chain, the limiter's
    /// counters) in `shared` instead of its files.
    pub fn with_shared(self, shared: Arc<dyn SharedState>) -> DataDir {
        DataDir {
            documents: shared.clone(),
            shared: Some(shared),
            ..self
        }
    }

    /// Where the shared documents live.
    pub fn documents(&self) -> &Arc<dyn Documents> {
        &self.documents
    }

    /// The cluster's shared state; `None` on one machine, where it is this directory's files.
    pub fn shared(&self) -> Option<&Arc<dyn SharedState>> {
        self.shared.as_ref()
    }

    /// The object storage segments are published to, if any.
    pub fn objects(&self) -> Option<&RemoteSegments> {
        self.objects.as_deref()
    }

    /// The same, shared with a reader that outlives this borrow (a full-text index).
    pub fn shared_objects(&self) -> Option<Arc<RemoteSegments>> {
        self.objects.clone()
    }

    /// Uploads the files of segment `id` from `DATA/segments/ID/` to object storage (nothing
    /// without one), the manifest last. The segment is not visible until the catalog publishes it.
    ///
    /// Errors: [`StorageError::Io`] reading the folder, [`StorageError::Objects`] uploading.
    pub fn upload_segment(&self, id: &str) -> Result<(), StorageError> {
        self.upload_folder(&self.segment_path(id), &format!("segments/{id}"), "manifest.json")
    }

    /// Uploads the full-text index of segment `id` from `DATA/text/ID/` (tantivy's commit point,
    /// `meta.json`, last), replacing any uploaded before.
    ///
    /// Errors: as [`DataDir::upload_segment`].
    pub fn upload_text(&self, id: &str) -> Result<(), StorageError> {
        let Some(remote) = self.objects() else { return Ok(()) };
        for object in remote.objects.list(&format!("text/{id}"))? {
            remote.objects.delete(&object.path)?;
        }
        self.upload_folder(&self.text_path(id), &format!("text/{id}"), "meta.json")
    }

    /// Uploads the files of `folder` (not its hidden ones: locks, tantivy's bookkeeping) under
    /// `prefix`, `last` after the others.
    fn upload_folder(&self, folder: &Path, prefix: &str, last: &str) -> Result<(), StorageError> {
        let Some(remote) = self.objects() else { return Ok(()) };
        let mut names: Vec<String> = fs::read_dir(folder)
            .map_err(|source| StorageError::io(folder, source))?
            .filter_map(Result::ok)
            .filter(|entry| entry.path().is_file())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.'))
            .collect();
        names.sort_by_key(|name| (name == last, name.clone()));
        for name in names {
            remote
                .objects
                .put_file(&format!("{prefix}/{name}"), &folder.join(&name))?;
        }
        Ok(())
    }

    /// Deletes the objects of segment `id` and of its full-text index (nothing without object
    /// storage).
    ///
    /// Errors: [`StorageError::Objects`].
    pub fn delete_remote_segment(&self, id: &str) -> Result<(), StorageError> {
        let Some(remote) = self.objects() else { return Ok(()) };
        for prefix in [format!("segments/{id}"), format!("text/{id}")] {
            for object in remote.objects.list(&prefix)? {
                remote.objects.delete(&object.path)?;
            }
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The secret key of every fingerprint in this directory.
    pub fn key(&self) -> [u8; 16] {
        self.key
    }

    pub fn staging(&self) -> PathBuf {
        self.root.join("staging")
    }

    pub fn segment_path(&self, id: &str) -> PathBuf {
        self.root.join("segments").join(id)
    }

    /// The full-text index of a segment.
    pub fn text_path(&self, id: &str) -> PathBuf {
        self.root.join("text").join(id)
    }

    pub fn segments(&self) -> PathBuf {
        self.root.join("segments")
    }
}

/// Sets the process's file-creation mask so that files and folders it creates are its owner's
/// alone (a mask is process-wide; leakdex never wants anything else).
fn owner_only_from_now_on() {
    #[cfg(unix)]
    // SAFETY: umask only sets the calling process's mask and cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// An empty folder given as a data directory (made by `mkdir`, or a temporary one) holds
/// nothing yet: it is made owner-only rather than refused.
fn tighten_if_empty(root: &Path) -> Result<(), StorageError> {
    #[cfg(unix)]
    if let Ok(mut entries) = fs::read_dir(root)
        && entries.next().is_none()
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(root, fs::Permissions::from_mode(0o700))
            .map_err(|source| StorageError::io(root, source))?;
    }
    Ok(())
}

fn create_private_dir(folder: &Path) -> Result<(), StorageError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(folder)
        .map_err(|source| StorageError::io(folder, source))
}

/// Refuses a data directory with anything open to group or others, to three levels down
/// (`segments/ID/FILE`, `text/ID/FILE`): a check of a few thousand entries at most.
fn check_owner_only(root: &Path) -> Result<(), StorageError> {
    #[cfg(unix)]
    for entry in walkdir::WalkDir::new(root).max_depth(3) {
        use std::os::unix::fs::PermissionsExt;
        let entry = entry.map_err(|error| StorageError::io(root, io::Error::other(error.to_string())))?;
        // A symbolic link's own mode means nothing. leakdex makes none here; what one put here
        // by hand points to is outside this check.
        if entry.path_is_symlink() {
            continue;
        }
        let metadata = entry
            .metadata()
            .map_err(|error| StorageError::io(entry.path(), io::Error::other(error.to_string())))?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(StorageError::Exposed {
                path: entry.path().display().to_string(),
                mode,
                root: root.display().to_string(),
            });
        }
    }
    Ok(())
}

fn parse_key(text: &str) -> Option<[u8; 16]> {
    let bytes = hex::decode(text.trim()).ok()?;
    bytes.try_into().ok()
}

fn create_key(path: &Path) -> Result<[u8; 16], StorageError> {
    let key: [u8; 16] = rand::random();
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| StorageError::io(path, source))?;
    file.write_all(hex::encode(key).as_bytes())
        .map_err(|source| StorageError::io(path, source))?;
    file.sync_all().map_err(|source| StorageError::io(path, source))?;
    Ok(key)
}

/// What tells one version of a file from the next, for a reader that rereads it when it
/// changes (the token store, the catalog). A file system's modification times are coarse (a few
/// milliseconds): a file rewritten within that window keeps its time. leakdex replaces such
/// files by a rename, so their inode changes with every write; the length usually does too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileStamp {
    modified: Option<std::time::SystemTime>,
    length: u64,
    inode: u64,
}

impl FileStamp {
    /// The stamp of the file at `path`; `None` if it cannot be read.
    pub fn of(path: &Path) -> Option<FileStamp> {
        let metadata = fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileStamp {
            modified: metadata.modified().ok(),
            length: metadata.len(),
            inode,
        })
    }
}

/// Takes an advisory lock on `path` (created if missing), held until the returned file is
/// dropped: exclusive to change what it guards, shared to read it. Serializes leakdex processes.
pub fn lock_file(path: &Path, exclusive: bool) -> io::Result<File> {
    let file = OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
    if exclusive {
        file.lock()?;
    } else {
        file.lock_shared()?;
    }
    Ok(file)
}

/// A file being written that computes the SHA-256 of everything written to it, so a segment
/// file's checksum costs no second read of the file (30 GB at 100M records).
pub struct ChecksummedFile {
    file: File,
    hasher: sha2::Sha256,
}

impl ChecksummedFile {
    /// Creates `path`, buffered by 1 MiB.
    pub fn create(path: &Path) -> io::Result<io::BufWriter<ChecksummedFile>> {
        let file = File::create(path)?;
        Ok(io::BufWriter::with_capacity(
            1 << 20,
            ChecksummedFile {
                file,
                hasher: sha2::Digest::new(),
            },
        ))
    }

    /// Flushes and fsyncs the file; returns the hex SHA-256 of its bytes.
    pub fn close(writer: io::BufWriter<ChecksummedFile>) -> io::Result<String> {
        let checksummed = writer.into_inner().map_err(io::IntoInnerError::into_error)?;
        checksummed.file.sync_all()?;
        Ok(hex::encode(sha2::Digest::finalize(checksummed.hasher)))
    }
}

impl Write for ChecksummedFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.file.write(bytes)?;
        sha2::Digest::update(&mut self.hasher, &bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Makes a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename, fsync the
/// folder. Readers see the old content or the new, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, bytes, OpenOptions::new().write(true).create(true).truncate(true))
}

/// [`write_atomic`] for secrets: the file is readable by its owner only, from its first byte.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    write_atomic_with(path, bytes, &options)
}

fn write_atomic_with(path: &Path, bytes: &[u8], options: &OpenOptions) -> io::Result<()> {
    write_atomic_from(path, options, |file| file.write_all(bytes))
}

/// [`write_atomic`] of what `fill` writes into the open temporary file (a copy streamed from
/// elsewhere), which is opened with `options`. The temporary's name is this call's own, so
/// writers of one path at once (downloads into a cache) never write into each other's file.
pub(crate) fn write_atomic_from(
    path: &Path,
    options: &OpenOptions,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(folder)?;
    let temporary = temporary_beside(path);
    let written = (|| {
        let mut file = options.open(&temporary)?;
        fill(&mut file)?;
        file.sync_all()?;
        fs::rename(&temporary, path)?;
        sync_dir(folder)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

/// A hidden name beside `target`, unique in this process (object paths never start with a
/// dot, so it is never listed or taken for an object).
pub(crate) fn temporary_beside(target: &Path) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = target.file_name().and_then(|name| name.to_str()).unwrap_or("file");
    target.with_file_name(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ))
}

/// Opens the storage that `location` names: `s3://BUCKET[/PREFIX]` (endpoint, region and keys
/// from the standard `AWS_*` variables; `AWS_ALLOW_HTTP=true` for a test server on loopback),
/// `file:///PATH` or a plain local path.
///
/// Errors: [`ObjectError::Config`] for an S3 location the client cannot be built for, or a
/// scheme this build does not know.
pub fn open_objects(location: &str) -> Result<Box<dyn ObjectStorage>, ObjectError> {
    if let Some(rest) = location.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        return Ok(Box::new(S3Objects::from_env(bucket, prefix)?));
    }
    if let Some(path) = location.strip_prefix("file://") {
        return Ok(Box::new(LocalObjects::new(Path::new(path))));
    }
    if let Some((scheme, _)) = location.split_once("://") {
        return Err(ObjectError::Config {
            uri: location.to_string(),
            why: format!("unknown storage scheme `{scheme}` (s3:// or a local path)"),
        });
    }
    Ok(Box::new(LocalObjects::new(Path::new(location))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::open(dir.path()).unwrap();
        let second = DataDir::open(dir.path()).unwrap();
        assert_eq!(first.key(), second.key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::write(dir.path().join("key"), "not hex").unwrap();
        assert!(matches!(DataDir::open(dir.path()), Err(StorageError::BadKey { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn everything_is_owner_only_and_an_exposed_directory_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        let data = DataDir::open(&root).unwrap();
        let segment = data.segment_path("s1");
        fs::create_dir_all(&segment).unwrap();
        fs::write(segment.join("records.bin"), b"+919812345678").unwrap();
        for path in [
            root.clone(),
            data.segments(),
            segment.clone(),
            segment.join("records.bin"),
        ] {
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} has mode {mode:o}", path.display());
        }
        DataDir::open(&root).unwrap();
        // A file made readable by others (as wave 1 left every segment) is named, with the fix.
        fs::set_permissions(segment.join("records.bin"), fs::Permissions::from_mode(0o644)).unwrap();
        let refused = DataDir::open(&root).unwrap_err().to_string();
        assert!(
            refused.contains("records.bin") && refused.contains("644") && refused.contains("chmod -R go="),
            "{refused}"
        );
        fs::set_permissions(segment.join("records.bin"), fs::Permissions::from_mode(0o600)).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(DataDir::open(&root), Err(StorageError::Exposed { .. })));
    }

    #[test]
    fn atomic_write_replaces_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary left");
    }

    #[test]
    fn locations_open_the_right_backend() {
        let dir = tempfile::tempdir().unwrap();
        let local = open_objects(dir.path().to_str().unwrap()).unwrap();
        assert!(local.uri().starts_with("file://"));
        let file = open_objects(&format!("file://{}", dir.path().display())).unwrap();
        assert_eq!(file.uri(), local.uri());
        assert!(matches!(open_objects("gs://bucket/x"), Err(ObjectError::Config { .. })));
    }
}
