//! The names every hit repeats (corpus, file, field, acquisition date), interned for the life of
//! the process: a million-lookup batch then copies pointers instead of allocating five million
//! strings on one thread and freeing them on another.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, PoisonError};

/// A name in a hit: interned (`Borrowed`, copied for free) or an owned copy, which is what a
/// client decodes from the wire and what is made once the interned names reach their bound.
pub type Name = Cow<'static, str>;

/// Bytes of interned names a process may keep. Corpus, field and file names are thousands in
/// practice; the bound matters only for a server that meets millions of distinct file names in
/// its life, and past it names are plain copies again (correct, one allocation per hit).
const INTERNED_BYTES: usize = 64 << 20;

#[derive(Default)]
struct Interned {
    names: HashSet<&'static str>,
    /// Bytes kept: the names and their table slots.
    bytes: usize,
}

impl Interned {
    fn intern(&mut self, name: &str, limit: usize) -> Name {
        if let Some(&known) = self.names.get(name) {
            return Cow::Borrowed(known);
        }
        let cost = name.len() + 2 * size_of::<&str>();
        if self.bytes + cost > limit {
            return Cow::Owned(name.to_string());
        }
        // Never freed, by design: see INTERNED_BYTES for the bound.
        let kept: &'static str = Box::leak(name.into());
        self.bytes += cost;
        self.names.insert(kept);
        Cow::Borrowed(kept)
    }
}

static INTERNED: LazyLock<Mutex<Interned>> = LazyLock::new(Mutex::default);

/// `names` interned, in order (one lock for them all: a segment's files and fields at open).
pub fn intern_all<'n>(names: impl IntoIterator<Item = &'n str>) -> Vec<Name> {
    let mut interned = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
    names
        .into_iter()
        .map(|name| interned.intern(name, INTERNED_BYTES))
        .collect()
}

/// `name` interned.
pub fn intern(name: &str) -> Name {
    intern_all([name]).swap_remove(0)
}

/// Slots of a thread's cache of names met recently (a power of two).
const RECENT: usize = 256;

thread_local! {
    static RECENTLY_MET: std::cell::RefCell<[&'static str; RECENT]> = const { std::cell::RefCell::new([""; RECENT]) };
}

/// A name read off the wire, or `None` if it is not UTF-8. A client decoding millions of hits
/// meets the same few names again and again: a thread-local cache finds them with one compare,
/// so only names not met before are checked, interned (or copied past the bound) and allocated.
pub fn decoded(bytes: &[u8]) -> Option<Name> {
    if bytes.is_empty() {
        return Some(Name::Borrowed(""));
    }
    let slot = recent_slot(bytes);
    let known = RECENTLY_MET.with_borrow(|recent| recent[slot]);
    if known.as_bytes() == bytes {
        return Some(Name::Borrowed(known));
    }
    let name = intern(std::str::from_utf8(bytes).ok()?);
    if let Name::Borrowed(kept) = name {
        RECENTLY_MET.with_borrow_mut(|recent| recent[slot] = kept);
    }
    Some(name)
}

/// A cheap hash of a name's length and its first and last eight bytes (names differ there: a
/// corpus, a file's directory or extension, a field).
fn recent_slot(bytes: &[u8]) -> usize {
    let word = |part: &[u8]| part.iter().fold(0u64, |word, &byte| word << 8 | u64::from(byte));
    let head = word(&bytes[..bytes.len().min(8)]);
    let tail = word(&bytes[bytes.len().saturating_sub(8)..]);
    let mixed = (head ^ tail.rotate_left(29) ^ bytes.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 56) as usize % RECENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_kept_once_and_shared() {
        let first = intern("tests/names/vaccination.csv");
        let second = intern(&String::from("tests/names/vaccination.csv"));
        let (Cow::Borrowed(first), Cow::Borrowed(second)) = (first, second) else {
            panic!("interned names are borrowed");
        };
        assert_eq!(first, "tests/names/vaccination.csv");
        assert!(std::ptr::eq(first, second), "the same name is kept once");
        let all = intern_all(["tests/names/a", "tests/names/b", "tests/names/a"]);
        assert_eq!(all, ["tests/names/a", "tests/names/b", "tests/names/a"]);
    }

    #[test]
    fn decoded_names_are_shared_and_bad_ones_refused() {
        let first = decoded(b"tests/names/decoded/telecom_kyc.tsv.gz").unwrap();
        let again = decoded(b"tests/names/decoded/telecom_kyc.tsv.gz").unwrap();
        let (Cow::Borrowed(first), Cow::Borrowed(again)) = (first, again) else {
            panic!("decoded names are interned");
        };
        assert!(std::ptr::eq(first, again));
        assert_eq!(first, "tests/names/decoded/telecom_kyc.tsv.gz");
        // Names that may share a cache slot still come back as themselves.
        for number in 0..2 * RECENT {
            let name = format!("tests/names/decoded/{number}.csv");
            assert_eq!(decoded(name.as_bytes()).unwrap(), name);
            assert_eq!(decoded(name.as_bytes()).unwrap(), name);
        }
        assert_eq!(decoded(b"").unwrap(), "");
        assert_eq!(decoded(b"\xff\xfe"), None);
    }

    #[test]
    fn past_the_bound_names_are_copies_and_known_names_stay_shared() {
        let mut interned = Interned::default();
        let limit = 100;
        assert!(matches!(interned.intern("telecom_kyc", limit), Cow::Borrowed(_)));
        let mut made = 0;
        while let Cow::Borrowed(_) = interned.intern(&format!("file-{made}.csv"), limit) {
            made += 1;
        }
        assert!(interned.bytes <= limit, "{} bytes kept", interned.bytes);
        assert!(made < 10, "{made} names fit in {limit} bytes");
        let copy = interned.intern("another.csv", limit);
        assert!(matches!(&copy, Cow::Owned(name) if name == "another.csv"), "{copy:?}");
        assert!(matches!(interned.intern("telecom_kyc", limit), Cow::Borrowed(_)));
    }
}
