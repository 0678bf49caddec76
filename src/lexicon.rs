//! The clause 12 exclusion lexicon: posts with obscene or insulting language or threats
//! are not processed. Pure.
//!
//! STUB: API fixed; the intake helper writes it.

/// A compiled lexicon: one word stem or `/regex/` a line, `#` comments.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    _private: (),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LexiconError {
    pub line: usize,
    pub message: String,
}

impl Lexicon {
    pub fn parse(text: &str) -> Result<Lexicon, LexiconError> {
        let _ = text;
        Ok(Lexicon::default())
    }

    /// The first entry that matches `text`, as written in the lexicon (for the case history).
    pub fn find(&self, text: &str) -> Option<String> {
        let _ = text;
        None
    }
}
