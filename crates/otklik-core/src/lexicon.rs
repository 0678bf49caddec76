//! The clause 12 exclusion lexicon: posts with obscene or insulting language or threats
//! are not processed. Pure.
//!
//! ## Format
//!
//! One entry a line; blank lines and lines starting with `#` are ignored (a `#` elsewhere
//! is part of the entry).
//!
//! - A plain entry is a case-insensitive **stem matched at the start of a word**: `мудак`
//!   matches `мудаки`, `Мудаков!`, but not `премудакам`. Several words (`убить тебя`) match
//!   across any run of spaces, the last word again as a stem. `ё` and `е` are the same. A
//!   word starts where the previous character is not a letter or digit (Unicode-aware, so
//!   Cyrillic words are words). A stem must have at least two letters.
//! - A `/regex/` entry is a regular expression (`regex` crate syntax, `(?i)` implied) run on
//!   the text lower-cased with `ё` → `е`; write `е` for `ё`, and use `\b` for word
//!   boundaries (Unicode-aware).
//!
//! Matching is on the normalised text (lower case, `ё` → `е`, and Latin look-alikes inside
//! Cyrillic words read as Cyrillic: `xyйня`, `cука`), so stems are written in lower case.

use regex::Regex;

#[derive(Debug, Clone)]
struct Entry {
    /// The line as written (trimmed), reported by [`Lexicon::find`].
    source: String,
    regex: Regex,
}

/// A compiled lexicon: one word stem or `/regex/` a line, `#` comments.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    entries: Vec<Entry>,
}

/// The first bad entry of a lexicon file; parsing stops there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LexiconError {
    /// 1-based line of the word-list file.
    pub line: usize,
    /// What is wrong with the entry (too short, an unclosed or invalid `/regex/`, one that
    /// matches every text).
    pub message: String,
}

/// Lower case, `ё` → `е`, and in a word that has Cyrillic letters, the Latin letters that
/// look like Cyrillic ones (`xyй`, `cука` typed with Latin `x`, `y`, `c`) read as those.
fn normalise(s: &str) -> String {
    let chars: Vec<char> = s
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_alphabetic() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_alphabetic() {
            i += 1;
        }
        let word = &chars[start..i];
        let cyrillic = word.iter().any(|c| ('\u{400}'..='\u{4ff}').contains(c));
        out.extend(
            word.iter()
                .map(|&c| if cyrillic { homoglyph(c) } else { c }),
        );
    }
    out
}

/// The Cyrillic letter a lower-case Latin letter stands for in a mixed word.
fn homoglyph(c: char) -> char {
    match c {
        'a' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'k' => 'к',
        'm' => 'м',
        'o' => 'о',
        'p' => 'р',
        't' => 'т',
        'x' => 'х',
        'y' => 'у',
        _ => c,
    }
}

fn stem_regex(stem: &str) -> Result<Regex, String> {
    let words: Vec<String> = normalise(stem)
        .split_whitespace()
        .map(regex::escape)
        .collect();
    if words.iter().map(|w| w.chars().count()).sum::<usize>() < 2 {
        return Err(format!(
            "«{stem}» is too short: a stem of one letter would match almost any text"
        ));
    }
    // A word start: the beginning, or a character that is neither a letter nor a digit.
    let pattern = format!(r"(?:^|[^\p{{L}}\p{{N}}]){}", words.join(r"\s+"));
    Regex::new(&pattern).map_err(|e| format!("«{stem}»: {e}"))
}

impl Lexicon {
    /// Compiles the text of `intake.exclude_words_file`; an empty text gives an empty lexicon.
    pub fn parse(text: &str) -> Result<Lexicon, LexiconError> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let entry = line.trim();
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            let regex = if let Some(body) = entry.strip_prefix('/') {
                let Some(body) = body.strip_suffix('/') else {
                    return Err(LexiconError {
                        line: line_no,
                        message: format!(
                            "«{entry}» starts with `/` but does not end with one: a regex is written /…/"
                        ),
                    });
                };
                if body.trim().is_empty() {
                    return Err(LexiconError {
                        line: line_no,
                        message: "empty regex `//`: it would match every text".into(),
                    });
                }
                let body = normalise_regex(body);
                let re = Regex::new(&format!("(?i){body}")).map_err(|e| LexiconError {
                    line: line_no,
                    message: format!("invalid regex {entry}: {e}"),
                })?;
                if re.is_match("") {
                    return Err(LexiconError {
                        line: line_no,
                        message: format!("regex {entry} matches the empty text, so every post"),
                    });
                }
                re
            } else {
                stem_regex(entry).map_err(|message| LexiconError {
                    line: line_no,
                    message,
                })?
            };
            entries.push(Entry {
                source: entry.to_string(),
                regex,
            });
        }
        Ok(Lexicon { entries })
    }

    /// The first entry that matches `text`, as written in the lexicon (for the case history).
    pub fn find(&self, text: &str) -> Option<String> {
        let norm = normalise(text);
        self.entries
            .iter()
            .find(|e| e.regex.is_match(&norm))
            .map(|e| e.source.clone())
    }

    /// How many entries the lexicon has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the lexicon has no entries and so excludes nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `ё`/`Ё` → `е` in a regex, so that it fits the normalised text.
fn normalise_regex(body: &str) -> String {
    body.replace(['ё', 'Ё'], "е")
}
