//! [`ObjectStorage`] on S3-compatible object storage, through the `object_store` crate (as
//! Quickwit and DataFusion use it): signing, retries, multipart uploads and TLS are the crate's.

use super::objects::{ObjectError, ObjectMeta, ObjectStorage, check_path, check_prefix};
use crate::background::Background;
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use std::fs::File;
use std::future::Future;
use std::io::{Read, Write};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// Files up to this size go up in one request; larger ones in parts of this size (S3's parts
/// must be 5 MiB or more, but for the last).
const PART_BYTES: usize = 8 << 20;
/// Parts of one upload in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

/// Objects in an S3 bucket, under a key prefix.
#[derive(Debug)]
pub struct S3Objects {
    store: Arc<dyn ObjectStore>,
    uri: String,
    /// Where the requests run (see [`Background`]).
    background: Background,
}

impl S3Objects {
    /// Objects in `bucket` under `prefix` (`""`: the whole bucket), the client configured from
    /// the standard `AWS_*` variables (`AWS_ENDPOINT`, `AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`, …).
    ///
    /// Errors: [`ObjectError::Config`] when the client cannot be built (no bucket, a bad
    /// endpoint) or its runtime cannot start.
    pub fn from_env(bucket: &str, prefix: &str) -> Result<S3Objects, ObjectError> {
        let endpoint = std::env::var("AWS_ENDPOINT").unwrap_or_default();
        let allowed = std::env::var("AWS_ALLOW_HTTP").is_ok_and(|allow| allow.eq_ignore_ascii_case("true"));
        if endpoint.starts_with("http://") && !allowed {
            return Err(ObjectError::Config {
                uri: format!("s3://{bucket}"),
                why: format!(
                    "AWS_ENDPOINT {endpoint} is plain HTTP, which is refused unless AWS_ALLOW_HTTP=true (for a test server on a trusted network); use https otherwise"
                ),
            });
        }
        Self::with_builder(AmazonS3Builder::from_env(), bucket, prefix)
    }

    /// As [`S3Objects::from_env`], from a builder configured by the caller.
    pub fn with_builder(builder: AmazonS3Builder, bucket: &str, prefix: &str) -> Result<S3Objects, ObjectError> {
        let prefix = prefix.trim_matches('/');
        let uri = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        let config = |why: String| ObjectError::Config { uri: uri.clone(), why };
        if !prefix.is_empty() {
            check_path(prefix)?;
        }
        // reqwest is built without a TLS provider of its own: use ring, as tonic does. A
        // provider installed before (by this or by the embedding program) is kept.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let s3 = builder
            .with_bucket_name(bucket)
            .build()
            .map_err(|error| config(error.to_string()))?;
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, object_path(prefix)?))
        };
        let background =
            Background::start("s3").map_err(|error| config(format!("cannot start the storage runtime: {error}")))?;
        let objects = S3Objects { store, uri, background };
        // S3 answers a missing bucket as it answers a missing object (404): found out here,
        // once, so that a wrong bucket or endpoint stops the process instead of making every
        // segment look absent.
        let (store, uri) = (objects.store.clone(), objects.uri.clone());
        objects.run("", async move {
            store
                .list_with_delimiter(None)
                .await
                .map(drop)
                .map_err(|error| ObjectError::Config {
                    uri,
                    why: format!("the bucket cannot be listed: {error}"),
                })
        })?;
        Ok(objects)
    }

    /// Runs `request` on the storage runtime and waits for it.
    fn run<T: Send + 'static>(
        &self,
        path: &str,
        request: impl Future<Output = Result<T, ObjectError>> + Send + 'static,
    ) -> Result<T, ObjectError> {
        self.background.run(request).unwrap_or_else(|| {
            Err(ObjectError::Config {
                uri: self.uri.clone(),
                why: format!("{path}: the storage runtime stopped"),
            })
        })
    }

    /// A function that turns the crate's errors on `path` into ours.
    fn error_of(&self, path: &str) -> impl Fn(object_store::Error) -> ObjectError + Send + Sync + 'static {
        let (uri, path) = (self.uri.clone(), path.to_string());
        move |error| match error {
            object_store::Error::NotFound { .. } => ObjectError::NotFound {
                uri: uri.clone(),
                path: path.clone(),
            },
            source => ObjectError::Backend {
                uri: uri.clone(),
                path: path.clone(),
                source,
            },
        }
    }

    fn local_io(&self, file: &Path) -> impl Fn(std::io::Error) -> ObjectError + Send + Sync + 'static {
        let file = file.display().to_string();
        move |source| ObjectError::Io {
            uri: "file://".to_string(),
            path: file.clone(),
            source,
        }
    }
}

/// An object path of the crate, from one checked against the contract.
fn object_path(path: &str) -> Result<ObjectPath, ObjectError> {
    check_path(path)?;
    ObjectPath::parse(path).map_err(|_| ObjectError::InvalidPath {
        path: path.to_string(),
        why: "not a valid object store path",
    })
}

impl ObjectStorage for S3Objects {
    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn put(&self, path: &str, bytes: Bytes) -> Result<(), ObjectError> {
        let location = object_path(path)?;
        let (store, error) = (self.store.clone(), self.error_of(path));
        self.run(path, async move {
            store.put(&location, PutPayload::from(bytes)).await.map_err(error)?;
            Ok(())
        })
    }

    fn put_file(&self, path: &str, file: &Path) -> Result<(), ObjectError> {
        let location = object_path(path)?;
        let local_io = self.local_io(file);
        let mut source = File::open(file).map_err(&local_io)?;
        let size = source.metadata().map_err(&local_io)?.len();
        if size <= PART_BYTES as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            source.read_to_end(&mut bytes).map_err(&local_io)?;
            return self.put(path, Bytes::from(bytes));
        }
        let (store, error) = (self.store.clone(), self.error_of(path));
        self.run(path, async move {
            // S3 makes the object visible only when the upload completes: whole or nothing.
            let upload = store.put_multipart(&location).await.map_err(&error)?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
            let mut buffer = vec![0; PART_BYTES];
            loop {
                let read = match source.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(read) => read,
                    Err(failure) => {
                        let _ = writer.abort().await;
                        return Err(local_io(failure));
                    }
                };
                if let Err(failure) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                    let _ = writer.abort().await;
                    return Err(error(failure));
                }
                writer.write(&buffer[..read]);
            }
            writer.finish().await.map_err(&error)?;
            Ok(())
        })
    }

    fn get(&self, path: &str) -> Result<Bytes, ObjectError> {
        let location = object_path(path)?;
        let (store, error) = (self.store.clone(), self.error_of(path));
        self.run(path, async move {
            store
                .get(&location)
                .await
                .map_err(&error)?
                .bytes()
                .await
                .map_err(&error)
        })
    }

    fn get_range(&self, path: &str, range: Range<u64>) -> Result<Bytes, ObjectError> {
        let location = object_path(path)?;
        let (store, error) = (self.store.clone(), self.error_of(path));
        let (uri, name) = (self.uri.clone(), path.to_string());
        self.run(path, async move {
            let out_of_range = |size| ObjectError::OutOfRange {
                uri,
                path: name,
                start: range.start,
                end: range.end,
                size,
            };
            if range.start > range.end {
                return Err(out_of_range(0));
            }
            if range.start == range.end {
                // The crate refuses an empty range; within the object, it is no bytes.
                let size = store.head(&location).await.map_err(&error)?.size;
                return if range.end > size {
                    Err(out_of_range(size))
                } else {
                    Ok(Bytes::new())
                };
            }
            match store.get_range(&location, range.clone()).await {
                Ok(bytes) if bytes.len() as u64 == range.end - range.start => Ok(bytes),
                // A range past the end: servers refuse it or cut it short; say which it was.
                answer => {
                    let size = store.head(&location).await.map_err(&error)?.size;
                    if range.end > size {
                        return Err(out_of_range(size));
                    }
                    answer.map_err(&error)
                }
            }
        })
    }

    fn download(&self, path: &str, to: &Path) -> Result<u64, ObjectError> {
        let location = object_path(path)?;
        let (store, error) = (self.store.clone(), self.error_of(path));
        let local_io = self.local_io(to);
        let (to, temporary) = (to.to_path_buf(), super::temporary_beside(to));
        self.run(path, async move {
            let mut stream = store.get(&location).await.map_err(&error)?.into_stream();
            let written = async {
                let mut out = File::create(&temporary).map_err(&local_io)?;
                let mut size = 0;
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(&error)?;
                    out.write_all(&chunk).map_err(&local_io)?;
                    size += chunk.len() as u64;
                }
                out.sync_all().map_err(&local_io)?;
                std::fs::rename(&temporary, &to).map_err(&local_io)?;
                Ok(size)
            }
            .await;
            if written.is_err() {
                let _ = std::fs::remove_file(&temporary);
            }
            written
        })
    }

    fn size(&self, path: &str) -> Result<u64, ObjectError> {
        let location = object_path(path)?;
        let (store, error) = (self.store.clone(), self.error_of(path));
        self.run(
            path,
            async move { Ok(store.head(&location).await.map_err(error)?.size) },
        )
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, ObjectError> {
        let folder = check_prefix(prefix)?.to_string();
        let (store, error) = (self.store.clone(), self.error_of(&folder));
        self.run(prefix, async move {
            // Parsed, not built with `from`, which would percent-encode what `put` keeps.
            let location = match folder.is_empty() {
                true => None,
                false => Some(object_path(&folder)?),
            };
            let mut stream = store.list(location.as_ref());
            let mut objects = Vec::new();
            while let Some(meta) = stream.next().await {
                let meta = meta.map_err(&error)?;
                objects.push(ObjectMeta {
                    path: meta.location.to_string(),
                    size: meta.size,
                });
            }
            objects.sort_by(|a, b| a.path.cmp(&b.path));
            Ok(objects)
        })
    }

    fn delete(&self, path: &str) -> Result<(), ObjectError> {
        let location = object_path(path)?;
        let (store, error) = (self.store.clone(), self.error_of(path));
        self.run(path, async move {
            match store.delete(&location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(failure) => Err(error(failure)),
            }
        })
    }
}
