//! [`ObjectStorage`] in a local directory: the embedded default, and a shared file system.

use super::objects::{ObjectError, ObjectMeta, ObjectStorage, check_path, check_prefix};
use super::write_atomic_from;
use bytes::Bytes;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Objects as files under a root directory; an object is written to a hidden temporary file
/// beside its place, synced, then renamed over it, so readers never see a part of one.
#[derive(Debug)]
pub struct LocalObjects {
    root: PathBuf,
}

impl LocalObjects {
    /// Objects under `root` (created on first write).
    pub fn new(root: &Path) -> LocalObjects {
        LocalObjects {
            root: std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()),
        }
    }

    fn io(&self, path: &str, source: io::Error) -> ObjectError {
        // A folder where an object is asked for is no object, as on S3.
        if matches!(
            source.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::IsADirectory | io::ErrorKind::NotADirectory
        ) {
            return ObjectError::NotFound {
                uri: self.uri(),
                path: path.to_string(),
            };
        }
        ObjectError::Io {
            uri: self.uri(),
            path: path.to_string(),
            source,
        }
    }

    /// The file of a valid object path.
    fn file(&self, path: &str) -> Result<PathBuf, ObjectError> {
        check_path(path)?;
        Ok(self.root.join(path))
    }

    /// Writes an object whole through `fill`, which writes its bytes into an open file.
    fn write_whole(&self, path: &str, fill: impl FnOnce(&mut File) -> io::Result<()>) -> Result<(), ObjectError> {
        let target = self.file(path)?;
        write_file_whole(&target, fill).map_err(|error| self.io(path, error))
    }
}

/// Writes `target` whole through `fill` (see [`write_atomic_from`]).
fn write_file_whole(target: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    write_atomic_from(target, File::options().write(true).create(true).truncate(true), fill)
}

impl ObjectStorage for LocalObjects {
    fn uri(&self) -> String {
        format!("file://{}", self.root.display())
    }

    fn put(&self, path: &str, bytes: Bytes) -> Result<(), ObjectError> {
        self.write_whole(path, |file| file.write_all(&bytes))
    }

    fn put_file(&self, path: &str, file: &Path) -> Result<(), ObjectError> {
        let mut source = File::open(file).map_err(|error| ObjectError::Io {
            uri: "file://".to_string(),
            path: file.display().to_string(),
            source: error,
        })?;
        self.write_whole(path, |out| io::copy(&mut source, out).map(drop))
    }

    fn get(&self, path: &str) -> Result<Bytes, ObjectError> {
        let file = self.file(path)?;
        fs::read(file).map(Bytes::from).map_err(|error| self.io(path, error))
    }

    fn get_range(&self, path: &str, range: Range<u64>) -> Result<Bytes, ObjectError> {
        let mut file = File::open(self.file(path)?).map_err(|error| self.io(path, error))?;
        let size = file.metadata().map_err(|error| self.io(path, error))?.len();
        if range.start > range.end || range.end > size {
            return Err(ObjectError::OutOfRange {
                uri: self.uri(),
                path: path.to_string(),
                start: range.start,
                end: range.end,
                size,
            });
        }
        let mut bytes = vec![0; (range.end - range.start) as usize];
        file.seek(SeekFrom::Start(range.start))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|error| self.io(path, error))?;
        Ok(Bytes::from(bytes))
    }

    fn download(&self, path: &str, to: &Path) -> Result<u64, ObjectError> {
        let mut source = File::open(self.file(path)?).map_err(|error| self.io(path, error))?;
        let mut copied = 0;
        write_file_whole(to, |out| {
            copied = io::copy(&mut source, out)?;
            Ok(())
        })
        .map_err(|source| ObjectError::Io {
            uri: "file://".to_string(),
            path: to.display().to_string(),
            source,
        })?;
        Ok(copied)
    }

    fn size(&self, path: &str) -> Result<u64, ObjectError> {
        let metadata = fs::metadata(self.file(path)?).map_err(|error| self.io(path, error))?;
        if !metadata.is_file() {
            return Err(self.io(path, io::ErrorKind::NotFound.into()));
        }
        Ok(metadata.len())
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, ObjectError> {
        let folder = check_prefix(prefix)?;
        let start = self.root.join(folder);
        // A folder, not an object's own path (S3 lists `folder/`).
        if !start.is_dir() {
            return Ok(Vec::new());
        }
        let mut objects = Vec::new();
        for entry in walkdir::WalkDir::new(&start)
            .into_iter()
            // Temporary files and anything else hidden are not objects.
            .filter_entry(|entry| entry.depth() == 0 || !entry.file_name().to_string_lossy().starts_with('.'))
        {
            // An entry deleted while the walk runs is no longer an object: skipped.
            let entry = match entry.map_err(|error| self.io(folder, error.into())) {
                Err(ObjectError::NotFound { .. }) => continue,
                entry => entry?,
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(relative) = entry.path().strip_prefix(&self.root) else {
                continue;
            };
            let Some(path) = relative.to_str() else { continue };
            let size = match entry.metadata().map_err(|error| self.io(path, error.into())) {
                Err(ObjectError::NotFound { .. }) => continue,
                metadata => metadata?.len(),
            };
            objects.push(ObjectMeta {
                path: path.to_string(),
                size,
            });
        }
        objects.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(objects)
    }

    fn delete(&self, path: &str) -> Result<(), ObjectError> {
        match fs::remove_file(self.file(path)?).map_err(|error| self.io(path, error)) {
            Err(ObjectError::NotFound { .. }) => Ok(()),
            done => done,
        }
    }
}
