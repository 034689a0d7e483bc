//! Local copies of objects for a searcher on object storage: downloaded whole on first use,
//! kept in a folder bounded in bytes, the least recently used evicted first, and mapped from
//! there like the files of a local segment.

use super::mmap::{Mapped, map_file};
use super::objects::{ObjectError, ObjectStorage, check_path};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A bounded local cache of one object storage's objects.
///
/// Evicting a file unlinks it; a segment that has it mapped keeps reading it (on Linux a
/// mapping outlives its file's name), and the disk space returns when the mapping goes. So the
/// bound holds for what the cache keeps, while what open segments still map may briefly exceed it.
/// An object larger than the whole bound is kept (it is being used) and everything else evicted.
#[derive(Debug)]
pub struct SegmentCache {
    storage: Arc<dyn ObjectStorage>,
    folder: PathBuf,
    capacity: u64,
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    /// Object path to (size in bytes, last use: a tick of `clock`).
    entries: HashMap<String, (u64, u64)>,
    used: u64,
    clock: u64,
}

impl CacheState {
    fn touch(&mut self, path: &str) {
        self.clock += 1;
        let clock = self.clock;
        if let Some(entry) = self.entries.get_mut(path) {
            entry.1 = clock;
        }
    }

    fn forget(&mut self, path: &str) {
        if let Some((size, _)) = self.entries.remove(path) {
            self.used -= size;
        }
    }
}

/// What the cache holds, for metrics and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheStats {
    pub objects: usize,
    pub bytes: u64,
}

impl SegmentCache {
    /// A cache of `storage`'s objects in `folder` (created), at most `capacity` bytes. Files
    /// left there by an earlier run are kept and counted, oldest first to go.
    ///
    /// Errors: [`ObjectError::Io`] when the folder cannot be created or read.
    pub fn open(storage: Arc<dyn ObjectStorage>, folder: &Path, capacity: u64) -> Result<SegmentCache, ObjectError> {
        let io = |source| ObjectError::Io {
            uri: format!("file://{}", folder.display()),
            path: String::new(),
            source,
        };
        fs::create_dir_all(folder).map_err(io)?;
        let mut found: Vec<(std::time::SystemTime, String, u64)> = Vec::new();
        for entry in walkdir::WalkDir::new(folder) {
            let entry = entry.map_err(|error| io(error.into()))?;
            let Ok(relative) = entry.path().strip_prefix(folder) else {
                continue;
            };
            let Some(path) = relative.to_str() else { continue };
            if !entry.file_type().is_file() || check_path(path).is_err() {
                // Downloads cut short by a crash are hidden files: not objects.
                if entry.file_type().is_file() {
                    let _ = fs::remove_file(entry.path());
                }
                continue;
            }
            let metadata = entry.metadata().map_err(|error| io(error.into()))?;
            let used = metadata.modified().unwrap_or(std::time::UNIX_EPOCH);
            found.push((used, path.to_string(), metadata.len()));
        }
        found.sort();
        let mut state = CacheState::default();
        for (_, path, size) in found {
            state.clock += 1;
            state.used += size;
            state.entries.insert(path, (size, state.clock));
        }
        let cache = SegmentCache {
            storage,
            folder: folder.to_path_buf(),
            capacity,
            state: Mutex::new(state),
        };
        cache.evict(None);
        Ok(cache)
    }

    /// Object `path` mapped into memory from the cache, downloaded first when the cache lacks
    /// it. The file is put in place and mapped under the cache's lock, so no eviction can come
    /// between finding it and mapping it; once mapped, eviction no longer matters to the caller.
    ///
    /// Errors: those of the storage ([`ObjectError::NotFound`] for an absent object), and
    /// [`ObjectError::Io`] writing or mapping the cache's file.
    pub fn map(&self, path: &str) -> Result<Mapped, ObjectError> {
        check_path(path)?;
        let local = self.folder.join(path);
        let io = |source| ObjectError::Io {
            uri: format!("file://{}", self.folder.display()),
            path: path.to_string(),
            source,
        };
        {
            let mut state = self.lock();
            if state.entries.contains_key(path) {
                match map_file(&local) {
                    Ok(mapped) => {
                        state.touch(path);
                        return Ok(mapped);
                    }
                    // Gone from disk behind the cache's back: fetched again below.
                    Err(_) => state.forget(path),
                }
            }
        }
        // Downloaded outside the lock (other files load meanwhile) to a name of this call's
        // own; moved into place, counted and mapped under the lock, so no eviction comes between.
        if let Some(parent) = local.parent() {
            fs::create_dir_all(parent).map_err(io)?;
        }
        let fetched = super::temporary_beside(&local);
        let size = match self.storage.download(path, &fetched) {
            Ok(size) => size,
            Err(error) => {
                let _ = fs::remove_file(&fetched);
                return Err(error);
            }
        };
        let mut state = self.lock();
        let placed = fs::rename(&fetched, &local).and_then(|()| map_file(&local));
        let mapped = match placed {
            Ok(mapped) => mapped,
            Err(error) => {
                let _ = fs::remove_file(&fetched);
                return Err(io(error));
            }
        };
        state.forget(path);
        state.used += size;
        state.entries.insert(path.to_string(), (size, 0));
        state.touch(path);
        drop(state);
        self.evict(Some(path));
        Ok(mapped)
    }

    /// Every object under the folder `prefix`, in the cache (downloaded where missing or of
    /// another size than the object now): the local folder holding them, or `None` when object
    /// storage has nothing there. For a
    /// reader that opens a folder of files itself (tantivy); an object evicted before it opens
    /// them is fetched again by calling this again.
    ///
    /// Errors: as [`SegmentCache::map`], and listing's.
    pub fn fetch_folder(&self, prefix: &str) -> Result<Option<PathBuf>, ObjectError> {
        let objects = self.storage.list(prefix)?;
        if objects.is_empty() {
            return Ok(None);
        }
        {
            // A copy whose size differs from the object's is of an object since replaced (a
            // full-text index rebuilt): fetched again.
            let mut state = self.lock();
            for object in &objects {
                if state
                    .entries
                    .get(&object.path)
                    .is_some_and(|(size, _)| *size != object.size)
                {
                    state.forget(&object.path);
                }
            }
        }
        for object in &objects {
            self.map(&object.path)?;
        }
        Ok(Some(self.folder.join(prefix.trim_end_matches('/'))))
    }

    pub fn stats(&self) -> CacheStats {
        let state = self.lock();
        CacheStats {
            objects: state.entries.len(),
            bytes: state.used,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // A panic while holding the lock leaves counts that are still consistent enough to use.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Removes the least recently used files until the cache is within its bound, never `keep`.
    fn evict(&self, keep: Option<&str>) {
        let mut state = self.lock();
        while state.used > self.capacity {
            let oldest = state
                .entries
                .iter()
                .filter(|(path, _)| Some(path.as_str()) != keep)
                .min_by_key(|(_, (_, used))| *used)
                .map(|(path, (size, _))| (path.clone(), *size));
            let Some((path, size)) = oldest else { break };
            let _ = fs::remove_file(self.folder.join(&path));
            state.entries.remove(&path);
            state.used -= size;
        }
    }
}
