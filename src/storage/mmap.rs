//! The one place leakdex maps files into memory.

use super::RangedFile;
use memmap2::Mmap;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// A read-only mapping of a whole file (an empty file maps to an empty slice), or of an object
/// read by byte range, whose parts read as zeros until fetched (see [`RangedFile::ensure`]).
pub enum Mapped {
    Map(Mmap),
    Empty,
    Ranged(Arc<RangedFile>),
}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        match self {
            Mapped::Map(map) => map,
            Mapped::Empty => &[],
            Mapped::Ranged(file) => file.bytes(),
        }
    }
}

impl Mapped {
    /// Asks the kernel to read the whole file in ahead of use (`MADV_WILLNEED`): a pass that
    /// will touch most of its pages then finds them read sequentially instead of faulting them
    /// in one by one. A hint: the kernel may ignore it, and a failure is ignored. A ranged
    /// object is left alone: most of it may be holes, and what it holds was fetched for use.
    pub fn read_ahead(&self) {
        if let Mapped::Map(map) = self {
            let _ = map.advise(memmap2::Advice::WillNeed);
        }
    }
}

/// Maps `path` read-only.
///
/// The caller promises that nobody modifies or truncates the file while it is mapped. leakdex
/// keeps that promise by construction: segment files are written once in a staging folder,
/// published by rename and never written again; deletion unlinks them, which leaves existing
/// mappings valid.
pub fn map_file(path: &Path) -> io::Result<Mapped> {
    let file = File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(Mapped::Empty);
    }
    // SAFETY: segment files are immutable once published (see the contract above), so the
    // mapped bytes cannot change underneath the slice we hand out. The one exception is a
    // ranged file (`super::ranged`): its holes are filled with its object's bytes while it is
    // mapped, and its readers read only blocks they have seen fetched (a prefetch hint that
    // touches a hole reads a byte it never uses).
    let map = unsafe { Mmap::map(&file)? };
    Ok(Mapped::Map(map))
}
