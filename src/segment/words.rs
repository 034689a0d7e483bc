//! How full text is cut into words, for indexing, query parsing and highlighting alike.
//!
//! tantivy's default tokenizer splits where a character is not alphanumeric, and Unicode does
//! not count the virama and the nukta of Indic scripts as letters, so `शर्मा` became the two
//! words `शर` and `मा` (a search for `शर` found every Sharma, and highlights broke mid-word).
//! Here those signs, and the zero-width joiners written inside such words, are part of the word.
//! Written here rather than with tantivy's `RegexTokenizer`, which clones its regex, and so
//! allocates a fresh match cache, for every value it tokenizes.

use crate::ingest::normalize::is_indic_sign;
use std::str::CharIndices;
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer, TokenizerManager};

/// The tokenizer's name in the text schema and in every tokenizer manager that reads it.
pub const WORDS: &str = "leakdex_words";

/// Words of this many bytes or more are not indexed, as tantivy's default analyzer does with
/// 40; four times that here, since a letter of an Indic script takes three bytes in UTF-8 and a
/// long name (`वेंकटसुब्रमण्यम`, 15 code points, 45 bytes) must stay searchable.
const LONGEST_WORD: usize = 160;

/// Whether `character` belongs inside a word.
fn in_word(character: char) -> bool {
    character.is_alphanumeric() || is_indic_sign(character) || matches!(character, '\u{200C}' | '\u{200D}')
}

/// Splits text into runs of [`in_word`] characters.
#[derive(Clone, Default)]
pub struct WordTokenizer {
    token: Token,
}

/// The words of one text.
pub struct WordStream<'a> {
    text: &'a str,
    characters: CharIndices<'a>,
    token: &'a mut Token,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream<'a> {
        self.token.reset();
        WordStream {
            text,
            characters: text.char_indices(),
            token: &mut self.token,
        }
    }
}

impl TokenStream for WordStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        self.token.position = self.token.position.wrapping_add(1);
        let Some((start, _)) = self.characters.by_ref().find(|(_, character)| in_word(*character)) else {
            return false;
        };
        let end = self
            .characters
            .by_ref()
            .find(|(_, character)| !in_word(*character))
            .map_or(self.text.len(), |(offset, _)| offset);
        self.token.offset_from = start;
        self.token.offset_to = end;
        self.token.text.push_str(&self.text[start..end]);
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Words, long ones dropped, lower-cased: the analyzer of every text field.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(LONGEST_WORD))
        .filter(LowerCaser)
        .build()
}

/// tantivy's tokenizers with [`WORDS`] added: for a text index, and for the query parser.
pub fn tokenizers() -> TokenizerManager {
    let manager = TokenizerManager::default();
    manager.register(WORDS, analyzer());
    manager
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<(String, usize, usize)> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push((token.text.clone(), token.offset_from, token.offset_to));
        }
        out
    }

    #[test]
    fn indic_words_stay_whole_and_latin_text_splits_as_before() {
        let text = "राहुल वर्मा, ज़ोया";
        let found = words(text);
        let texts: Vec<&str> = found.iter().map(|(word, _, _)| word.as_str()).collect();
        assert_eq!(texts, ["राहुल", "वर्मा", "ज़ोया"]);
        assert_eq!(&text[found[1].1..found[1].2], "वर्मा");
        let texts: Vec<String> = words("St. Mary's Road, 12/4")
            .into_iter()
            .map(|(word, _, _)| word)
            .collect();
        assert_eq!(texts, ["st", "mary", "s", "road", "12", "4"]);
        assert_eq!(words("वेंकटसुब्रमण्यम").len(), 1);
        assert!(words(&"a".repeat(160)).is_empty());
        assert!(words(" ,; ").is_empty());
    }
}
