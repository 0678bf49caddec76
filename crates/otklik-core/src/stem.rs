//! Words of Russian (and English) text as the judgment code sees them: lower case, `ё` read
//! as `е`, split at every character that is neither a letter nor a digit, each word reduced
//! to its Snowball stem (`газа`, `газом` → `газ`). Routing words, the routing model and the
//! archive of earlier answers all read text through this one module, so a word means the
//! same to each of them. Pure.

use rust_stemmers::{Algorithm, Stemmer};
use std::sync::OnceLock;

/// Words longer than this (in characters) are cut before stemming: no real word is, and a
/// hostile post of one endless "word" then costs linear time, not more.
pub const MAX_WORD_CHARS: usize = 40;

fn russian() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::Russian))
}

fn english() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// The words of `text`, lower-cased with `ё` → `е`, in order; digits stay inside words
/// (`№1`, `4g` are words `1`, `4g`). Words are cut at [`MAX_WORD_CHARS`].
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.chars()
                .take(MAX_WORD_CHARS)
                .flat_map(char::to_lowercase)
                .map(|c| if c == 'ё' { 'е' } else { c })
                .collect()
        })
}

/// The Snowball stem of one lower-cased word (`ё` read as `е`): Russian for a word with
/// Cyrillic letters, English for a Latin one, the word itself otherwise (numbers).
pub fn stem(word: &str) -> String {
    if word.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c)) {
        russian().stem(&word.replace('ё', "е")).into_owned()
    } else if word.chars().any(|c| c.is_ascii_alphabetic()) {
        english().stem(word).into_owned()
    } else {
        word.to_string()
    }
}

/// The stems of every word of `text`, in order ([`words`] then [`stem`]).
pub fn stems(text: &str) -> Vec<String> {
    words(text).map(|w| stem(&w)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_of_one_word_share_a_stem() {
        let s = stems("Газ, газа, газом; ГАЗУ");
        assert!(s.iter().all(|x| x == "газ"), "{s:?}");
        assert_eq!(stem("ёлка"), stem("елка"));
        assert_ne!(stem("газета"), "газ");
    }

    #[test]
    fn words_split_at_punctuation_and_keep_numbers() {
        let w: Vec<String> = words("Школа №1: дети-инвалиды, 4G!").collect();
        assert_eq!(w, ["школа", "1", "дети", "инвалиды", "4g"]);
        assert_eq!(stem("roads"), "road");
    }

    #[test]
    fn an_endless_word_is_cut() {
        let long = "а".repeat(10_000);
        let w: Vec<String> = words(&long).collect();
        assert_eq!(w[0].chars().count(), MAX_WORD_CHARS);
    }
}
