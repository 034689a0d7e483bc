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
    let words: Vec<String> = text
        .split_whitespace()
        .map(|word| {
            let Some(scheme) = word.chars().find_map(script_of).map(|(scheme, _)| scheme) else {
                return word.to_lowercase();
            };
            let itrans = LIPIKA.with(|lipika| lipika.borrow_mut().transliterate(word, scheme, Scheme::Itrans));
            let mut folded = folded(&itrans);
            if silent_final_vowel(word, scheme) && folded.len() > 2 && folded.ends_with('a') {
                folded.pop();
            }
            folded
        })
        .filter(|word| !word.is_empty())
        .collect();
    Some(words.join(" "))
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
        assert_eq!(romanized("Sunita Sharma"), None);
        assert_eq!(romanized("१२३४ ।"), None, "digits and dandas are no letters");
    }
}
