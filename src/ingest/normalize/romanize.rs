//! Names in Indic scripts as they are commonly typed in Latin letters: `सुनीता शर्मा` → `sunita
//! sharma`, `राहुल` → `rahul`, so that a name written in one script is found when typed in the
//! other.
//!
//! The letters are transliterated by vidyut-lipi (Ambuda's transliterator) into ITRANS, the
//! ASCII scheme closest to everyday spelling (`sh` for श, `ch` for च, long vowels as capitals),
//! then folded the way names are typed: case and ITRANS's marks dropped, the nasal sign as `n`
//! (`m` before `p`, `b`, `m`), and the inherent vowel of a word's last lone consonant dropped
//! in the scripts of languages that do not pronounce it (राहुल is `rahul`, not `rahula`; गुप्त
//! stays `gupta`). Nothing else of pronunciation is modelled: `jayapur` for जयपुर stays apart
//! from `jaipur`, `varma` for वर्मा from `verma`.

use std::cell::RefCell;
use vidyut_lipi::{Lipika, Scheme};

/// The Unicode blocks of the Brahmic scripts of India, each 128 code points laid out alike
/// (ISCII order), with the scheme vidyut-lipi reads them as.
const SCRIPTS: [(u32, Scheme); 9] = [
    (0x0900, Scheme::Devanagari),
    (0x0980, Scheme::Bengali),
    (0x0A00, Scheme::Gurmukhi),
    (0x0A80, Scheme::Gujarati),
    (0x0B00, Scheme::Odia),
    (0x0B80, Scheme::Tamil),
    (0x0C00, Scheme::Telugu),
    (0x0C80, Scheme::Kannada),
    (0x0D00, Scheme::Malayalam),
];

/// The script of `character`, with its code point's offset in the script's block.
fn script_of(character: char) -> Option<(Scheme, u32)> {
    let code = u32::from(character);
    SCRIPTS
        .iter()
        .find(|(start, _)| (*start..*start + 0x80).contains(&code))
        .map(|(start, scheme)| (*scheme, code - start))
}

/// Whether `text` holds a letter of an Indic script (not a digit or a danda).
pub fn has_indic_letters(text: &str) -> bool {
    text.chars()
        .filter_map(script_of)
        .any(|(_, offset)| (0x01..=0x4D).contains(&offset) || (0x55..=0x63).contains(&offset))
}

/// Whether `character` is a virama or a nukta of an Indic script: marks inside a written word
/// (शर्मा, ज़ोया) that Unicode does not count as alphabetic, though the word is all letters.
pub fn is_indic_sign(character: char) -> bool {
    script_of(character).is_some_and(|(_, offset)| offset == VIRAMA || offset == NUKTA)
}

/// Scripts whose languages leave a word's final inherent vowel silent (Hindi, Marathi, Bengali,
/// Punjabi, Gujarati). In Odia and the Dravidian languages it is pronounced: ଲତ is `lata`.
const SILENT_FINAL_VOWEL: [Scheme; 4] = [Scheme::Devanagari, Scheme::Bengali, Scheme::Gurmukhi, Scheme::Gujarati];

/// Offset of the virama and of the nukta in every script's block.
const VIRAMA: u32 = 0x4D;
const NUKTA: u32 = 0x3C;

/// Whether `word` ends in a consonant that carries its inherent vowel silently: a lone
/// consonant (a nukta after it counts with it) after no virama, in a script whose languages
/// drop it. A cluster keeps it (गुप्त is `gupta`).
fn silent_final_vowel(word: &str, scheme: Scheme) -> bool {
    if !SILENT_FINAL_VOWEL.contains(&scheme) {
        return false;
    }
    let mut offsets = word
        .chars()
        .rev()
        .filter_map(script_of)
        .map(|(_, offset)| offset)
        .peekable();
    if offsets.peek() == Some(&NUKTA) {
        offsets.next();
    }
    let consonant = |offset: u32| (0x15..=0x39).contains(&offset) || (0x58..=0x5F).contains(&offset);
    let Some(last) = offsets.next() else {
        return false;
    };
    consonant(last) && offsets.next() != Some(VIRAMA)
}

/// `text` with its words in Indic scripts in Latin letters (see the module's doc), lower case;
/// `None` when it has none. Other words are kept as they are.
pub fn romanized(text: &str) -> Option<String> {
    if !has_indic_letters(text) {
        return None;
    }
    thread_local! {
        // A Lipika caches the mappings it has built, so each thread keeps one.
        static LIPIKA: RefCell<Lipika> = RefCell::new(Lipika::new());
    }
    Some(romanize_words(text, false))
}

/// The spelling of `text` with the silent vowels inside words dropped too, as Hindi and Marathi
/// speakers type them (`देशपांडे` → `deshpande`, `कुलकर्णी` → `kulkarni`, `कमला` → `kamla`, where
/// [`romanized`] gives `deshapande`, `kulakarni`, `kamala`); `None` when it is no different.
/// Search indexes and looks for both, since people type both.
///
/// The rule is Ohala's for Hindi (an inherent vowel between a vowel and a consonant, before a
/// consonant and a vowel, is silent), applied from the end of the word, not to its first
/// syllable, in Devanagari, Bengali, Gurmukhi and Gujarati only.
pub fn spoken_variant(text: &str) -> Option<String> {
    if !has_indic_letters(text) {
        return None;
    }
    let spoken = romanize_words(text, true);
    (Some(&spoken) != romanized(text).as_ref()).then_some(spoken)
}

/// The ways `text` is typed in Latin letters: [`romanized`], then [`spoken_variant`] where it
/// differs; empty when `text` has no Indic letters. What search indexes and looks for.
pub fn latin_forms(text: &str) -> Vec<String> {
    romanized(text).into_iter().chain(spoken_variant(text)).collect()
}

/// Each word romanized (see [`romanized`]); with `medial`, silent inner vowels dropped first.
fn romanize_words(text: &str, medial: bool) -> String {
    thread_local! {
        // A Lipika caches the mappings it has built, so each thread keeps one.
        static LIPIKA: RefCell<Lipika> = RefCell::new(Lipika::new());
    }
    let words: Vec<String> = text
        .split_whitespace()
        .map(|word| {
            let Some(scheme) = word.chars().find_map(script_of).map(|(scheme, _)| scheme) else {
                return word.to_lowercase();
            };
            let spoken;
            let written = if medial && SILENT_FINAL_VOWEL.contains(&scheme) {
                spoken = without_medial_schwas(word);
                spoken.as_str()
            } else {
                word
            };
            let itrans = LIPIKA.with(|lipika| lipika.borrow_mut().transliterate(written, scheme, Scheme::Itrans));
            let mut folded = folded(&itrans);
            if silent_final_vowel(word, scheme) && folded.len() > 2 && folded.ends_with('a') {
                folded.pop();
            }
            folded
        })
        .filter(|word| !word.is_empty())
        .collect();
    words.join(" ")
}

/// `word` with a virama after each consonant whose inherent vowel is silent inside the word
/// (see [`spoken_variant`]). A word with anything but letters of its script is kept as it is.
fn without_medial_schwas(word: &str) -> String {
    #[derive(Clone, Copy, PartialEq)]
    enum Ends {
        Schwa,
        Vowel,
        Virama,
    }
    let characters: Vec<char> = word.chars().collect();
    let offset = |at: usize| {
        characters
            .get(at)
            .and_then(|character| script_of(*character))
            .map(|(_, offset)| offset)
    };
    let consonant = |offset: u32| (0x15..=0x39).contains(&offset) || (0x58..=0x5F).contains(&offset);
    // Syllables: (first character, end, how the syllable ends).
    let mut syllables: Vec<(usize, usize, Ends)> = Vec::new();
    let mut at = 0;
    while at < characters.len() {
        let Some(letter) = offset(at) else {
            return word.to_string();
        };
        let start = at;
        at += 1;
        if offset(at) == Some(NUKTA) {
            at += 1;
        }
        let mut ends = Ends::Vowel;
        if consonant(letter) {
            ends = match offset(at) {
                Some(VIRAMA) => Ends::Virama,
                Some(0x3E..=0x4C) => Ends::Vowel,
                _ => Ends::Schwa,
            };
            at += usize::from(ends != Ends::Schwa);
        }
        // Nasal signs and the visarga belong to the syllable; a nasalized vowel is sounded.
        while matches!(offset(at), Some(0x01..=0x03)) {
            ends = if ends == Ends::Schwa { Ends::Vowel } else { ends };
            at += 1;
        }
        syllables.push((start, at, ends));
    }
    // From the end, never the first or the last syllable (the last is `silent_final_vowel`'s).
    let mut silent = vec![false; syllables.len()];
    for position in (1..syllables.len().saturating_sub(1)).rev() {
        let (start, _, ends) = syllables[position];
        let (next_start, _, next_ends) = syllables[position + 1];
        silent[position] = ends == Ends::Schwa
            && offset(start).is_some_and(consonant)
            && syllables[position - 1].2 != Ends::Virama
            && offset(next_start).is_some_and(consonant)
            && next_ends != Ends::Virama
            && !silent[position + 1];
    }
    let mut out = String::with_capacity(word.len() + 8);
    for ((start, end, _), silent) in syllables.iter().zip(silent) {
        out.extend(&characters[*start..*end]);
        if silent {
            // The virama of the letter's own script: each block is laid out alike.
            let block = u32::from(characters[*start]) & !0x7F;
            out.extend(char::from_u32(block + VIRAMA));
        }
    }
    out
}

/// ITRANS as names are typed: the nasal sign `M` as `n` (`m` before a labial), ITRANS's marks
/// (`~`, `.`, `^`, `'`, `_`) dropped, `RRi` as `ri`, lower case.
fn folded(itrans: &str) -> String {
    let characters: Vec<char> = itrans.chars().collect();
    let mut out = String::with_capacity(itrans.len());
    for (position, character) in characters.iter().enumerate() {
        match character {
            'M' => {
                let next = characters.get(position + 1).map(|next| next.to_ascii_lowercase());
                out.push(if matches!(next, Some('p' | 'b' | 'm')) {
                    'm'
                } else {
                    'n'
                });
            }
            '~' | '.' | '^' | '\'' | '_' | '|' => {}
            other => out.extend(other.to_lowercase()),
        }
    }
    out.replace("rri", "ri")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_indic_scripts_read_as_they_are_typed() {
        for (written, typed) in [
            ("सुनीता शर्मा", "sunita sharma"),
            ("राहुल", "rahul"),
            ("रमेश कुमार", "ramesh kumar"),
            ("प्रिया", "priya"),
            ("कमला", "kamala"),
            ("शंकर", "shankar"),
            ("सुनीता Sharma", "sunita sharma"),
            ("সুনীতা", "sunita"),
            ("ராகுல்", "rakul"),
            ("गुप्त", "gupta"),
            ("मिश्र", "mishra"),
            ("ଲତ", "lata"),
        ] {
            assert_eq!(romanized(written).as_deref(), Some(typed), "{written}");
        }
        for (written, spoken) in [
            ("देशपांडे", "deshpande"),
            ("कुलकर्णी", "kulkarni"),
            ("अमरनाथ", "amarnath"),
            ("प्रकाश देशपांडे", "prakash deshpande"),
        ] {
            assert_eq!(spoken_variant(written).as_deref(), Some(spoken), "{written}");
        }
        // Nothing to drop, or a script whose inner vowels are sounded: no variant.
        assert_eq!(spoken_variant("सुनीता शर्मा"), None);
        assert_eq!(spoken_variant("ராகுல்"), None);
        assert_eq!(spoken_variant("Sunita"), None);
        assert_eq!(romanized("Sunita Sharma"), None);
        assert_eq!(romanized("१२३४ ।"), None, "digits and dandas are no letters");
    }
}
