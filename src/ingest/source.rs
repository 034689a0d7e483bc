//! Input discovery and opening: directory trees, zip archives walked as folders, gzip and zstd
//! decompressed transparently (detected by magic bytes, not by name), text decoded to UTF-8.

use crate::ingest::error::Error;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

/// One input file, possibly a member of a zip archive, or bytes received over the network.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Path relative to the input root it was found under (`archive.zip/inner/file.csv` for a
    /// zip member; the file name when the input is a single file).
    pub path: String,
    /// Bytes stored on disk (compressed size for zip members).
    pub size: u64,
    physical: PathBuf,
    member: Option<usize>,
    memory: Option<Arc<[u8]>>,
    /// gzip or zstd data, by its magic bytes (read once, when the file is found).
    compressed: bool,
}

impl SourceFile {
    /// Bytes held in memory, read as a file named `name` (records sent to a service).
    pub fn in_memory(name: &str, bytes: Arc<[u8]>) -> SourceFile {
        SourceFile {
            path: name.to_string(),
            size: bytes.len() as u64,
            physical: PathBuf::new(),
            member: None,
            compressed: compression_of(&bytes[..bytes.len().min(4)]) != Compression::None,
            memory: Some(bytes),
        }
    }
}

/// Bytes on disk under a path (a file, or every file of a folder tree), for progress totals.
pub fn disk_size(path: &Path) -> u64 {
    walkdir::WalkDir::new(path)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .filter(|metadata| metadata.is_file())
        .map(|metadata| metadata.len())
        .sum()
}

/// Progress callback: bytes read from disk.
pub type OnBytes = Arc<dyn Fn(u64) + Send + Sync>;

/// Lists every file under the inputs, recursively, in a stable order. Paths that cannot be read
/// are returned as errors beside the files that can. Without `follow_links`, a symbolic link met
/// inside a folder (or given as an input) is an error, never read.
pub fn discover(inputs: &[PathBuf], follow_links: bool) -> (Vec<SourceFile>, Vec<(String, Error)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        let display = input.display().to_string();
        let metadata = if follow_links {
            std::fs::metadata(input)
        } else {
            std::fs::symlink_metadata(input)
        };
        let metadata = match metadata {
            Ok(metadata) => metadata,
            Err(source) => {
                errors.push((display.clone(), Error::io(&display, source)));
                continue;
            }
        };
        if metadata.is_file() {
            let name = input
                .file_name()
                .map_or(display.clone(), |name| name.to_string_lossy().into_owned());
            add_file(input, name, metadata.len(), &mut files, &mut errors);
            continue;
        }
        if metadata.is_symlink() {
            errors.push((
                display.clone(),
                Error::io(&display, io::Error::other("a symbolic link: not followed")),
            ));
            continue;
        }
        let walker = walkdir::WalkDir::new(input)
            .follow_links(follow_links)
            .sort_by_file_name();
        for entry in walker {
            match entry {
                Ok(entry) if entry.path_is_symlink() && !follow_links => {
                    let path = entry.path().display().to_string();
                    errors.push((
                        path.clone(),
                        Error::io(&path, io::Error::other("a symbolic link: not followed")),
                    ));
                }
                Ok(entry) if entry.file_type().is_file() => {
                    let relative = entry.path().strip_prefix(input).unwrap_or(entry.path());
                    let name = relative.to_string_lossy().replace('\\', "/");
                    let size = entry.metadata().map(|metadata| metadata.len()).unwrap_or(0);
                    add_file(entry.path(), name, size, &mut files, &mut errors);
                }
                Ok(_) => {}
                Err(error) => {
                    let path = error.path().map_or(display.clone(), |path| path.display().to_string());
                    errors.push((path.clone(), Error::io(&path, io::Error::other(error.to_string()))));
                }
            }
        }
    }
    (files, errors)
}

fn add_file(path: &Path, name: String, size: u64, files: &mut Vec<SourceFile>, errors: &mut Vec<(String, Error)>) {
    let mut magic = [0u8; 4];
    let read = File::open(path).and_then(|mut file| file.read(&mut magic)).unwrap_or(0);
    let is_zip = read == magic.len() && magic == *b"PK\x03\x04";
    if !is_zip {
        files.push(SourceFile {
            path: name,
            size,
            physical: path.to_path_buf(),
            member: None,
            memory: None,
            compressed: compression_of(&magic[..read]) != Compression::None,
        });
        return;
    }
    let archive = File::open(path).and_then(|file| {
        zip::ZipArchive::new(BufReader::new(file)).map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
    });
    let mut archive = match archive {
        Ok(archive) => archive,
        Err(source) => {
            errors.push((
                name.clone(),
                Error::Zip {
                    path: name,
                    message: source.to_string(),
                },
            ));
            return;
        }
    };
    for index in 0..archive.len() {
        let entry = match archive.by_index_raw(index) {
            Ok(entry) => entry,
            Err(error) => {
                errors.push((
                    name.clone(),
                    Error::Zip {
                        path: name.clone(),
                        message: error.to_string(),
                    },
                ));
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        let Some(inner) = entry.enclosed_name() else {
            let message = format!("entry {index} has an unsafe name; skipped");
            errors.push((
                name.clone(),
                Error::Zip {
                    path: name.clone(),
                    message,
                },
            ));
            continue;
        };
        files.push(SourceFile {
            path: format!("{name}/{}", inner.to_string_lossy().replace('\\', "/")),
            size: entry.compressed_size(),
            physical: path.to_path_buf(),
            member: Some(index),
            memory: None,
            compressed: false,
        });
    }
}

/// How the bytes of a file were stored and decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn label(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

/// Where the SHA-256 of a file's stored bytes lands once the file has been read to its end.
pub(crate) type DigestSlot = Arc<Mutex<Option<String>>>;

impl SourceFile {
    /// Whether reading may give more bytes than [`SourceFile::size`] says: a zip member, or
    /// gzip or zstd data (by its magic bytes). A file that cannot be read says no here, and
    /// fails when it is read.
    pub fn expands(&self) -> bool {
        self.member.is_some() || self.compressed
    }
}

/// The stored bytes of a file: the file itself, or a zip member's uncompressed bytes.
fn open_stored(file: &SourceFile) -> Result<Box<dyn Read + Send>, Error> {
    if let Some(bytes) = &file.memory {
        return Ok(Box::new(io::Cursor::new(Arc::clone(bytes))));
    }
    Ok(match file.member {
        None => Box::new(File::open(&file.physical).map_err(|source| Error::io(&file.path, source))?),
        Some(index) => Box::new(ZipMemberReader::spawn(file.physical.clone(), index)),
    })
}

/// SHA-256 (hex) of a file's stored bytes, in one pass.
pub fn sha256_of(file: &SourceFile) -> Result<String, Error> {
    let mut stored = open_stored(file)?;
    sha256_of_reader(&mut stored).map_err(|source| Error::io(&file.path, source))
}

/// SHA-256 (hex) of everything `reader` yields, read through a 1 MiB buffer. Reading rather
/// than mapping keeps a large file's pages out of the process's resident memory.
pub fn sha256_of_reader(reader: &mut impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    loop {
        let read = reader.read(&mut block)?;
        if read == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&block[..read]);
    }
}

/// Opens a file's decompressed byte stream; with a digest slot, its stored bytes are hashed on
/// the way through.
pub(crate) fn open(
    file: &SourceFile,
    on_bytes: Option<OnBytes>,
    digest: Option<DigestSlot>,
) -> Result<(Box<dyn Read + Send>, Compression), Error> {
    let stored = open_stored(file)?;
    let stored: Box<dyn Read + Send> = match digest {
        Some(slot) => Box::new(HashingReader {
            inner: stored,
            hasher: Some(Sha256::new()),
            slot,
        }),
        None => stored,
    };
    let counted: Box<dyn Read + Send> = match on_bytes {
        Some(callback) => Box::new(CountingReader {
            inner: stored,
            callback,
        }),
        None => stored,
    };
    let mut buffered = BufReader::with_capacity(256 * 1024, counted);
    // A file's first read returns its whole first block (or all of a short file), enough for
    // the four magic bytes.
    let head = buffered
        .fill_buf()
        .map_err(|source| Error::io(&file.path, source))?
        .to_vec();
    let compression = compression_of(&head);
    let stream: Box<dyn Read + Send> = match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(buffered).map_err(|source| Error::io(&file.path, source))?,
        ),
        Compression::None => Box::new(buffered),
    };
    Ok((stream, compression))
}

/// The compression of stored bytes that begin with `head`, by its magic bytes.
fn compression_of(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

struct HashingReader {
    inner: Box<dyn Read + Send>,
    hasher: Option<Sha256>,
    slot: DigestSlot,
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        if read == 0 {
            if let Some(hasher) = self.hasher.take() {
                let digest = hex::encode(hasher.finalize());
                *self.slot.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(digest);
            }
        } else if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..read]);
        }
        Ok(read)
    }
}

struct CountingReader {
    inner: Box<dyn Read + Send>,
    callback: OnBytes,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        (self.callback)(read as u64);
        Ok(read)
    }
}

/// Reads a zip member on its own thread and hands its bytes over a bounded channel: a `ZipFile`
/// borrows its archive, and this gives the pipeline an owned `Read` without extracting to disk.
struct ZipMemberReader {
    receiver: Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    position: usize,
}

impl ZipMemberReader {
    fn spawn(archive: PathBuf, index: usize) -> Self {
        let (sender, receiver) = sync_channel(4);
        std::thread::spawn(move || {
            if let Err(error) = copy_member(&archive, index, &sender) {
                let _ = sender.send(Err(error));
            }
        });
        ZipMemberReader {
            receiver,
            current: Vec::new(),
            position: 0,
        }
    }
}

fn copy_member(archive: &Path, index: usize, sender: &SyncSender<io::Result<Vec<u8>>>) -> io::Result<()> {
    let invalid = |error: zip::result::ZipError| io::Error::new(io::ErrorKind::InvalidData, error);
    let mut archive = zip::ZipArchive::new(BufReader::new(File::open(archive)?)).map_err(invalid)?;
    let mut member = archive.by_index(index).map_err(invalid)?;
    loop {
        let mut block = vec![0u8; 256 * 1024];
        let read = member.read(&mut block)?;
        if read == 0 {
            return Ok(());
        }
        block.truncate(read);
        if sender.send(Ok(block)).is_err() {
            // The reader was dropped: stop quietly.
            return Ok(());
        }
    }
}

impl Read for ZipMemberReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.position == self.current.len() {
            match self.receiver.recv() {
                Ok(Ok(block)) => {
                    self.current = block;
                    self.position = 0;
                }
                Ok(Err(error)) => return Err(error),
                Err(_) => return Ok(0),
            }
        }
        let count = buf.len().min(self.current.len() - self.position);
        buf[..count].copy_from_slice(&self.current[self.position..self.position + count]);
        self.position += count;
        Ok(count)
    }
}

/// The text encoding of a file, decided from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8 (bom)",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
        }
    }
}

/// Detects the encoding from a sample: byte-order marks, or UTF-16 without one (many NUL bytes
/// on one parity). Text that is neither is read as UTF-8 with a per-field Windows-1252 fallback.
pub fn detect_encoding(sample: &[u8]) -> Encoding {
    if sample.starts_with(&[0xef, 0xbb, 0xbf]) {
        return Encoding::Utf8Bom;
    }
    if sample.starts_with(&[0xff, 0xfe]) {
        return Encoding::Utf16Le;
    }
    if sample.starts_with(&[0xfe, 0xff]) {
        return Encoding::Utf16Be;
    }
    let probe = &sample[..sample.len().min(4096) & !1];
    if probe.len() >= 8 {
        let pairs = probe.len() / 2;
        let even_nul = probe.iter().step_by(2).filter(|&&byte| byte == 0).count();
        let odd_nul = probe.iter().skip(1).step_by(2).filter(|&&byte| byte == 0).count();
        if odd_nul * 10 >= pairs * 7 && even_nul * 10 < pairs {
            return Encoding::Utf16Le;
        }
        if even_nul * 10 >= pairs * 7 && odd_nul * 10 < pairs {
            return Encoding::Utf16Be;
        }
    }
    Encoding::Utf8
}

/// Wraps a UTF-16 stream into one that yields UTF-8.
pub(crate) fn transcode(stream: Box<dyn Read + Send>, encoding: Encoding) -> Box<dyn Read + Send> {
    let label = match encoding {
        Encoding::Utf16Le => encoding_rs::UTF_16LE,
        Encoding::Utf16Be => encoding_rs::UTF_16BE,
        Encoding::Utf8 | Encoding::Utf8Bom => return stream,
    };
    Box::new(
        encoding_rs_io::DecodeReaderBytesBuilder::new()
            .encoding(Some(label))
            .bom_override(true)
            .strip_bom(true)
            .build(stream),
    )
}

/// Decodes bytes that are not UTF-8 as Windows-1252 (a superset of Latin-1 that maps every byte).
pub(crate) fn decode_latin1(bytes: &[u8]) -> String {
    encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(bytes)
        .0
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_by_bom_and_by_nul_pattern() {
        assert_eq!(detect_encoding(b"\xef\xbb\xbfname,phone"), Encoding::Utf8Bom);
        assert_eq!(detect_encoding(b"\xff\xfen\0a\0"), Encoding::Utf16Le);
        assert_eq!(detect_encoding(b"\xfe\xff\0n\0a"), Encoding::Utf16Be);
        let le: Vec<u8> = "name,phone\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(detect_encoding(&le), Encoding::Utf16Le);
        let be: Vec<u8> = "name,phone\n".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(detect_encoding(&be), Encoding::Utf16Be);
        assert_eq!(detect_encoding(b"caf\xe9,1\n"), Encoding::Utf8);
    }

    #[test]
    fn latin1_fallback_maps_every_byte() {
        assert_eq!(decode_latin1(b"Jos\xe9"), "José");
        assert_eq!(decode_latin1(&(0u8..=255).collect::<Vec<_>>()).chars().count(), 256);
    }
}
