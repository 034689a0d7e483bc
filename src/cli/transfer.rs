//! Where a batch lookup reads its queries and writes its answers: a file, standard input or
//! output, or an object (`s3://BUCKET/KEY`, the client configured from the `AWS_*` variables
//! as for `--storage`), so that a Kubernetes Job needs no volume.

use super::Failure;
use leakdex::storage::{ObjectStorage, S3Objects};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// `s3://BUCKET/KEY` as (bucket, key); `None` for anything else (a local path).
fn object_of(spec: &Path) -> Option<(String, String)> {
    let text = spec.to_str()?;
    let (bucket, key) = text.strip_prefix("s3://")?.split_once('/')?;
    Some((bucket.to_string(), key.to_string()))
}

fn bucket(bucket: &str) -> Result<S3Objects, Failure> {
    S3Objects::from_env(bucket, "").map_err(|error| error.to_string().into())
}

/// A scratch file's path, in the system's temporary folder (a pod's `emptyDir`), owner-only
/// like everything leakdex writes.
fn scratch(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "leakdex-{}-{:016x}.{what}",
        std::process::id(),
        rand::random::<u64>()
    ))
}

/// The queries of `file`: a path, `-` for standard input, or an object (downloaded whole
/// first, then read from a scratch file that is already unlinked).
///
/// Errors: the file or object cannot be read, naming it.
pub(super) fn open_queries(file: Option<&Path>) -> Result<Option<Box<dyn BufRead + Send>>, Failure> {
    let Some(path) = file else { return Ok(None) };
    if path == Path::new("-") {
        return Ok(Some(Box::new(BufReader::new(std::io::stdin()))));
    }
    let local = match object_of(path) {
        Some((name, key)) => {
            let local = scratch("queries");
            bucket(&name)?
                .download(&key, &local)
                .map_err(|error| format!("{}: {error}", path.display()))?;
            let file = std::fs::File::open(&local).map_err(|error| format!("{}: {error}", local.display()))?;
            // Read through the open file: the copy leaves the disk when the process does.
            let _ = std::fs::remove_file(&local);
            return Ok(Some(Box::new(BufReader::with_capacity(1 << 20, file))));
        }
        None => path,
    };
    Ok(Some(Box::new(BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(local).map_err(|error| format!("{}: {error}", local.display()))?,
    ))))
}

/// Where answers go: standard output, or a file or object that appears whole once
/// [`Output::finish`] succeeds (written beside it, then renamed or uploaded), so a Job killed
/// and run again never leaves half an answer file for the next step to read.
pub(super) struct Output {
    writer: BufWriter<Box<dyn Write + Send>>,
    finish: Finish,
}

enum Finish {
    Stdout,
    Rename {
        partial: PathBuf,
        path: PathBuf,
    },
    Upload {
        partial: PathBuf,
        spec: PathBuf,
        bucket: String,
        key: String,
    },
}

impl Output {
    /// Answers to `spec` (a path or `s3://BUCKET/KEY`), or to standard output.
    ///
    /// Errors: the partial file cannot be created.
    pub(super) fn open(spec: Option<&Path>) -> Result<Output, Failure> {
        let (partial, finish) = match spec {
            None => {
                return Ok(Output {
                    writer: BufWriter::with_capacity(1 << 20, Box::new(std::io::stdout())),
                    finish: Finish::Stdout,
                });
            }
            Some(spec) => match object_of(spec) {
                Some((bucket, key)) => {
                    let partial = scratch("answers");
                    let finish = Finish::Upload {
                        partial: partial.clone(),
                        spec: spec.to_path_buf(),
                        bucket,
                        key,
                    };
                    (partial, finish)
                }
                None => {
                    let mut partial = spec.as_os_str().to_owned();
                    partial.push(".partial");
                    let partial = PathBuf::from(partial);
                    let finish = Finish::Rename {
                        partial: partial.clone(),
                        path: spec.to_path_buf(),
                    };
                    (partial, finish)
                }
            },
        };
        let file = std::fs::File::create(&partial).map_err(|error| format!("{}: {error}", partial.display()))?;
        Ok(Output {
            writer: BufWriter::with_capacity(1 << 20, Box::new(file)),
            finish,
        })
    }

    /// Makes the answers appear where they were asked for.
    ///
    /// Errors: writing, renaming or uploading fails (the partial file is removed).
    pub(super) fn finish(self) -> Result<(), Failure> {
        let Output { mut writer, finish } = self;
        writer.flush()?;
        drop(writer);
        match finish {
            Finish::Stdout => Ok(()),
            Finish::Rename { partial, path } => {
                std::fs::rename(&partial, &path).map_err(|error| format!("{}: {error}", path.display()).into())
            }
            Finish::Upload {
                partial,
                spec,
                bucket: name,
                key,
            } => {
                let uploaded = bucket(&name).and_then(|objects| {
                    objects
                        .put_file(&key, &partial)
                        .map_err(|error| format!("{}: {error}", spec.display()).into())
                });
                let _ = std::fs::remove_file(&partial);
                uploaded
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.writer.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}
