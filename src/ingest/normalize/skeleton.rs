//! Consonant skeletons of name words, so that the romanizations of one Indian name meet:
//! `Lakshmi`/`Laxmi`, `Mohammed`/`Muhammad`/`Mohd`, `Srinivas`/`Shreenivas`, `Pooja`/`Puja`.
//!
//! Hand-written because the general phonetic codes (Soundex, Metaphone and their crates) are built
//! for English spelling and keep the very distinctions these spellings differ by (`x` against
//! `ksh`, aspirated `sh` against `s`, doubled consonants). A skeleton is coarse on purpose: it
//! only chooses which records to compare; the comparison itself uses string similarity.

/// Writes the skeleton of one lower-case name word into `out` (cleared first): the first letter
/// (any vowel as `a`), then the consonants with `h`, `y` and vowels dropped, `x` as `ks`, sounds
/// that romanizations swap folded together, and repeats collapsed. Words that are not ASCII are
/// kept as they are.
pub fn name_skeleton(word: &str, out: &mut String) {
    out.clear();
    if !word.is_ascii() {
        out.push_str(word);
        return;
    }
    let mut last: Option<u8> = None;
    let mut push = |letter: u8, out: &mut String| {
        if last != Some(letter) {
            out.push(char::from(letter));
            last = Some(letter);
        }
    };
    for (position, byte) in word.bytes().enumerate() {
        let folded = match byte {
            b'a' | b'e' | b'i' | b'o' | b'u' if position == 0 => Some(b'a'),
            b'a' | b'e' | b'i' | b'o' | b'u' | b'h' | b'y' if position > 0 => None,
            b'x' => {
                push(b'k', out);
                Some(b's')
            }
            b'w' => Some(b'v'),
            b'z' => Some(b'j'),
            b'q' | b'c' => Some(b'k'),
            b'f' => Some(b'p'),
            letter if letter.is_ascii_alphanumeric() => Some(letter),
            _ => None,
        };
        if let Some(letter) = folded {
            push(letter, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skeleton(word: &str) -> String {
        let mut out = String::new();
        name_skeleton(word, &mut out);
        out
    }

    #[test]
    fn romanizations_of_one_name_meet() {
        for group in [
            &["lakshmi", "laxmi"][..],
            &["mohammed", "muhammad", "mohamed", "mohd"],
            &["srinivas", "shrinivas", "sreenivas"],
            &["pooja", "puja"],
            &["chatterjee", "chatterji"],
            &["deepak", "dipak"],
            &["ayesha", "aisha"],
            &["iqbal", "ikbal"],
        ] {
            let first = skeleton(group[0]);
            for word in group {
                assert_eq!(skeleton(word), first, "{word} against {}", group[0]);
            }
        }
        assert_ne!(skeleton("sharma"), skeleton("verma"));
        assert_ne!(skeleton("rahul"), skeleton("rohit"));
        assert_eq!(skeleton("राहुल"), "राहुल");
    }
}
