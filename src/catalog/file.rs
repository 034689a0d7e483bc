//! The embedded catalog: `catalog.json` in the data directory. Every update takes an exclusive
//! lock on `catalog.lock`, reads the file, changes it and replaces it atomically, so concurrent
//! CLI processes never lose each other's updates and a crash leaves the old or the new catalog.

use super::{Catalog, CatalogError, Corpus, SegmentEntry, SegmentState};
use crate::storage::{FileStamp, write_atomic};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    version: u32,
    /// Changes so far (see [`Catalog::generation`]); absent from catalogs written before it.
    #[serde(default)]
    generation: u64,
    /// See [`Catalog::check_key`]; absent until first checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_check: Option<String>,
    corpora: Vec<Corpus>,
}

pub struct FileCatalog {
    path: PathBuf,
    lock: PathBuf,
    /// The generation last read and the file's stamp then: asking again costs one `stat`
    /// while the file is unchanged (a server asks on every call).
    seen: Mutex<Option<(FileStamp, u64)>>,
}

impl FileCatalog {
    pub fn open(data_dir: &Path) -> FileCatalog {
        FileCatalog {
            path: data_dir.join("catalog.json"),
            lock: data_dir.join("catalog.lock"),
            seen: Mutex::new(None),
        }
    }

    fn io(&self, source: std::io::Error) -> CatalogError {
        CatalogError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn lock(&self, exclusive: bool) -> Result<File, CatalogError> {
        crate::storage::lock_file(&self.lock, exclusive).map_err(|source| self.io(source))
    }

    fn read(&self) -> Result<State, CatalogError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| CatalogError::Corrupt {
                path: self.path.display().to_string(),
                message: error.to_string(),
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(State {
                version: 1,
                ..State::default()
            }),
            Err(source) => Err(self.io(source)),
        }
    }

    fn update<T>(&self, change: impl FnOnce(&mut State) -> Result<T, CatalogError>) -> Result<T, CatalogError> {
        let _lock = self.lock(true)?;
        let mut state = self.read()?;
        let result = change(&mut state)?;
        state.generation += 1;
        let bytes = serde_json::to_vec_pretty(&state).map_err(|error| self.io(std::io::Error::other(error)))?;
        write_atomic(&self.path, &bytes).map_err(|source| self.io(source))?;
        Ok(result)
    }
}

fn find<'a>(state: &'a mut State, name: &str) -> Result<&'a mut Corpus, CatalogError> {
    state
        .corpora
        .iter_mut()
        .find(|corpus| corpus.name == name)
        .ok_or_else(|| CatalogError::NoCorpus(name.to_string()))
}

impl Catalog for FileCatalog {
    fn corpora(&self) -> Result<Vec<Corpus>, CatalogError> {
        let _lock = self.lock(false)?;
        Ok(self.read()?.corpora)
    }

    fn ensure_corpus(&self, corpus: &Corpus) -> Result<(), CatalogError> {
        self.update(|state| {
            if let Some(existing) = state.corpora.iter_mut().find(|existing| existing.name == corpus.name) {
                if existing.kind != corpus.kind {
                    return Err(CatalogError::KindMismatch {
                        name: corpus.name.clone(),
                        existing: existing.kind,
                        requested: corpus.kind,
                    });
                }
                if corpus.acquired.is_some() {
                    existing.acquired.clone_from(&corpus.acquired);
                }
                if corpus.source.is_some() {
                    existing.source.clone_from(&corpus.source);
                }
                return Ok(());
            }
            state.corpora.push(Corpus {
                segments: Vec::new(),
                ..corpus.clone()
            });
            Ok(())
        })
    }

    fn stage_segment(&self, corpus: &str, id: &str) -> Result<(), CatalogError> {
        self.update(|state| {
            let corpus = find(state, corpus)?;
            corpus.segments.push(SegmentEntry {
                id: id.to_string(),
                state: SegmentState::Staged,
                records: 0,
                files: Vec::new(),
            });
            Ok(())
        })
    }

    fn publish_segment(&self, corpus: &str, segment: SegmentEntry) -> Result<(), CatalogError> {
        self.update(|state| {
            let corpus = find(state, corpus)?;
            let published = SegmentEntry {
                state: SegmentState::Published,
                ..segment
            };
            match corpus.segments.iter_mut().find(|existing| existing.id == published.id) {
                Some(existing) => *existing = published,
                None => corpus.segments.push(published),
            }
            Ok(())
        })
    }

    fn delete_corpus(&self, name: &str) -> Result<Vec<String>, CatalogError> {
        self.update(|state| {
            find(state, name)?;
            let position = state
                .corpora
                .iter()
                .position(|corpus| corpus.name == name)
                .unwrap_or_default();
            let corpus = state.corpora.remove(position);
            Ok(corpus.segments.into_iter().map(|segment| segment.id).collect())
        })
    }

    fn check_key(&self, check: &str) -> Result<(), CatalogError> {
        let stored = {
            let _lock = self.lock(false)?;
            self.read()?.key_check
        };
        let matches = |stored: &str| {
            if stored == check {
                Ok(())
            } else {
                Err(CatalogError::KeyMismatch {
                    catalog: self.path.display().to_string(),
                })
            }
        };
        match stored {
            Some(stored) => matches(&stored),
            None => self.update(|state| match &state.key_check {
                Some(stored) => matches(stored),
                None => {
                    state.key_check = Some(check.to_string());
                    Ok(())
                }
            }),
        }
    }

    fn generation(&self) -> Result<u64, CatalogError> {
        let stamp = FileStamp::of(&self.path);
        let mut seen = self.seen.lock().unwrap_or_else(|poison| poison.into_inner());
        if let (Some(stamp), Some((seen_stamp, generation))) = (&stamp, seen.as_ref())
            && stamp == seen_stamp
        {
            return Ok(*generation);
        }
        let generation = {
            let _lock = self.lock(false)?;
            self.read()?.generation
        };
        *seen = stamp.map(|stamp| (stamp, generation));
        Ok(generation)
    }

    fn forget_segments(&self, ids: &[String]) -> Result<(), CatalogError> {
        self.update(|state| {
            for corpus in &mut state.corpora {
                corpus
                    .segments
                    .retain(|segment| segment.state == SegmentState::Published || !ids.contains(&segment.id));
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_catalog_is_an_error_not_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("catalog.json"), b"{ not json").unwrap();
        assert!(matches!(
            FileCatalog::open(dir.path()).corpora(),
            Err(CatalogError::Corrupt { .. })
        ));
    }
}
