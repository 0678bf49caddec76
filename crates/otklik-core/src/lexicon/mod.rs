//! Clause 12: posts with obscene or insulting language, threats or intent to harm are not
//! processed or answered. Pure.
//!
//! Two parts decide:
//!
//! - the **word list** of `intake.exclude_words_file` ([`Lexicon::parse`]): every entry is
//!   excluded wherever it stands — the place for obscenity and slurs, and for whatever an
//!   administration adds;
//! - the **built-in rules** ([`rules`], lists under `config/clause12/` compiled in):
//!   threats (a harm verb aimed at a person or property or said bare as an ultimatum, set
//!   phrases; idioms and reports of others' acts left alone), insults aimed at a person
//!   (not words about a situation or about animals), obscenity with hidden letters.
//!
//! Both read the post through [`normalise`]: case, `ё`, Latin and digit look-alikes,
//! stretched letters, letters spelt out one at a time and hidden letters undone.
//!
//! ## The word list's format
//!
//! One entry a line; blank lines and lines starting with `#` are ignored (a `#` elsewhere
//! is part of the entry).
//!
//! - A plain entry is a case-insensitive **stem matched at the start of a word**: `мудак`
//!   matches `мудаки`, `Мудаков!`, `м у д а к и`, `мyдак`, but not `премудакам`. Several
//!   words (`убить тебя`) match across any run of spaces, the last word again as a stem.
//!   `ё` and `е` are the same. A word starts where the previous character is not a letter
//!   or digit (Unicode-aware, so Cyrillic words are words). A stem must have at least two
//!   letters. A one-word stem of three letters or more also catches the word with hidden
//!   letters (`м*дак`).
//! - A `/regex/` entry is a regular expression (`regex` crate syntax, `(?i)` implied) run on
//!   the post as read (lower case, `е` for `ё`, disguises undone, a hidden letter read as
//!   `*`); write `е` for `ё`, and use `\b` for word boundaries (Unicode-aware).
//!
//! Entries are also tried on the post with doubled letters collapsed (`суука`).

pub mod mask;
pub mod model;
pub mod normalise;
pub mod rules;
pub mod translit;

use regex::Regex;

#[derive(Debug, Clone)]
struct Entry {
    /// The line as written (trimmed), reported by [`Lexicon::find`].
    source: String,
    matcher: Matcher,
    /// A plain one-word stem of three letters or more, for words with hidden letters.
    literal: Option<String>,
}

/// A compiled lexicon: the word list's entries (one word stem or `/regex/` a line, `#`
/// comments) and, from [`Lexicon::clause12`], the built-in rules.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    entries: Vec<Entry>,
    builtin: bool,
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

/// How an entry is looked for in a post's reading.
#[derive(Debug, Clone)]
enum Matcher {
    /// `/…/`: a regular expression.
    Regex(Regex),
    /// A stem, or several words: at a word start (the beginning, or after a character
    /// that is neither a letter nor a digit), the words apart by white space, the last one
    /// a stem. Looked for as text, not compiled: a compiled regex for the word start (a
    /// Unicode class) held ~45 KB for each such entry.
    Words(Vec<String>),
}

impl Matcher {
    fn is_match(&self, text: &str) -> bool {
        match self {
            Matcher::Regex(re) => re.is_match(text),
            Matcher::Words(words) => words_at_word_start(words, text),
        }
    }
}

/// Does `text` hold `words` (at least one) at a word start, one after the other with white
/// space between? Every place the first word starts is tried (overlapping ones too), and
/// the following words are compared where they must stand: time linear in the text for a
/// list entry of bounded length.
fn words_at_word_start(words: &[String], text: &str) -> bool {
    let Some((first, rest)) = words.split_first() else {
        return false;
    };
    let step = first.chars().next().map_or(1, char::len_utf8);
    let mut from = 0;
    while let Some(k) = text.get(from..).and_then(|t| t.find(first.as_str())) {
        let at = from + k;
        from = at + step;
        let starts_word = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        if !starts_word {
            continue;
        }
        let mut tail = &text[at + first.len()..];
        let mut all = true;
        for w in rest {
            let trimmed = tail.trim_start();
            if trimmed.len() == tail.len() || !trimmed.starts_with(w.as_str()) {
                all = false;
                break;
            }
            tail = &trimmed[w.len()..];
        }
        if all {
            return true;
        }
    }
    false
}

/// An entry's text as the post is read: lower case, `ё` → `е`.
fn entry_text(s: &str) -> String {
    s.to_lowercase().replace('ё', "е")
}

fn stem_words(stem: &str) -> Result<Matcher, String> {
    let words: Vec<String> = entry_text(stem)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if words.iter().map(|w| w.chars().count()).sum::<usize>() < 2 {
        return Err(format!(
            "«{stem}» is too short: a stem of one letter would match almost any text"
        ));
    }
    Ok(Matcher::Words(words))
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
            let matcher = if let Some(body) = entry.strip_prefix('/') {
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
                Matcher::Regex(re)
            } else {
                stem_words(entry).map_err(|message| LexiconError {
                    line: line_no,
                    message,
                })?
            };
            let literal = Some(entry_text(entry)).filter(|e| {
                !entry.starts_with('/')
                    && e.chars().count() >= 3
                    && e.chars().all(char::is_alphabetic)
            });
            entries.push(Entry {
                source: entry.to_string(),
                matcher,
                literal,
            });
        }
        Ok(Lexicon {
            entries,
            builtin: false,
        })
    }

    /// The clause 12 judgment: the built-in rules (threats, insults aimed at a person,
    /// obscenity with hidden letters) and the word list `text` (as [`Lexicon::parse`]).
    pub fn clause12(text: &str) -> Result<Lexicon, LexiconError> {
        rules::Builtin::shipped().map_err(|e| LexiconError {
            line: 0,
            message: format!("built-in list {e}"),
        })?;
        let mut lx = Lexicon::parse(text)?;
        lx.builtin = true;
        Ok(lx)
    }

    /// Whether the built-in rules are on ([`Lexicon::clause12`]).
    pub fn has_builtin(&self) -> bool {
        self.builtin
    }

    /// Why `text` falls under clause 12, for the case history: the first word-list entry
    /// that matches, as written in the list; else the built-in rule that fired with the
    /// post's words (`угроза: спалю вашу`, `оскорбление: дебил`).
    pub fn find(&self, text: &str) -> Option<String> {
        if self.entries.is_empty() && !self.builtin {
            return None;
        }
        let n = normalise::normalise(text);
        let collapsed = normalise::collapse_doubles(&n.text);
        let mut readings = vec![n.text.as_str()];
        if collapsed != n.text {
            readings.push(collapsed.as_str());
        }
        readings.extend(n.extra.iter().map(String::as_str));
        let masked: Vec<&str> = n
            .tokens
            .iter()
            .filter(|t| t.masked)
            .map(|t| t.pattern.as_str())
            .collect();
        let hit = self.entries.iter().find(|e| {
            readings.iter().any(|r| e.matcher.is_match(r))
                || e.literal
                    .as_deref()
                    .is_some_and(|l| masked.iter().any(|w| mask::fitting(w, [l]).is_some()))
        });
        if let Some(e) = hit {
            return Some(e.source.clone());
        }
        if !self.builtin {
            return None;
        }
        rules::Builtin::shipped().ok()?.judge(&n)
    }

    /// The clause 12 decision on a post: [`Lexicon::find`]'s reason, or else, with the
    /// built-in rules on, the model's when it is at least [`model::EXCLUDE_THRESHOLD`] sure
    /// and the post has a word of the threat or insult lists in any context
    /// ([`rules::Builtin::cues`]): `модель 99 %: внуки, школы; слова из списков: пожалеете`.
    pub fn exclude(&self, text: &str) -> Option<String> {
        if let Some(why) = self.find(text) {
            return Some(why);
        }
        if !self.builtin {
            return None;
        }
        let n = normalise::normalise(text);
        let v = model::Model::shipped().judge(&n);
        if v.probability < model::EXCLUDE_THRESHOLD {
            return None;
        }
        let cues = rules::Builtin::shipped().ok()?.cues(&n);
        if cues.is_empty() {
            return None;
        }
        let mut shown: Vec<&str> = Vec::new();
        for c in cues {
            if !shown.contains(&c) && shown.len() < model::WORDS_SHOWN {
                shown.push(c);
            }
        }
        let percent = (v.probability * 100.0).floor().clamp(0.0, 100.0) as u8;
        Some(format!(
            "модель {percent} %: {}; слова из списков: {}",
            v.words.join(", "),
            shown.join(", ")
        ))
    }

    /// Trains the clause 12 model now if the built-in rules are on and it is not trained
    /// yet (about 0.2 s in a release build, once per process); [`Lexicon::suspect`] would
    /// otherwise train it on first use.
    pub fn prepare(&self) {
        if self.builtin {
            model::Model::shipped();
        }
    }

    /// The model's second opinion on a post [`Lexicon::exclude`] lets through: `Some` when
    /// the built-in rules are on and the model thinks it falls under clause 12 with at
    /// least [`model::THRESHOLD`] probability. Flags; never excludes.
    pub fn suspect(&self, text: &str) -> Option<model::Verdict> {
        if !self.builtin {
            return None;
        }
        let v = model::Model::shipped().judge(&normalise::normalise(text));
        (v.probability >= model::THRESHOLD).then_some(v)
    }

    /// How many word-list entries the lexicon has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the lexicon has no entries and no built-in rules, and so excludes nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && !self.builtin
    }
}

/// `ё`/`Ё` → `е` in a regex, so that it fits the normalised text.
fn normalise_regex(body: &str) -> String {
    body.replace(['ё', 'Ё'], "е")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The regex a plain entry was compiled to before it was looked for as text.
    fn as_regex(words: &[String]) -> Regex {
        let w: Vec<String> = words.iter().map(|w| regex::escape(w)).collect();
        Regex::new(&format!(r"(?:^|[^\p{{L}}\p{{N}}]){}", w.join(r"\s+"))).unwrap()
    }

    proptest! {
        #[test]
        fn plain_entries_match_as_their_regex_did(
            text in "[аб1ё \n.-]{0,40}",
            first in "[аб]{1,3}",
            second in proptest::option::of("[аб]{1,2}"),
        ) {
            let words: Vec<String> = std::iter::once(first).chain(second).collect();
            prop_assert_eq!(
                words_at_word_start(&words, &text),
                as_regex(&words).is_match(&text)
            );
        }
    }

    #[test]
    fn a_plain_entry_is_a_word_start() {
        let w = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert!(words_at_word_start(&w("мудак"), "эти мудаки опять"));
        assert!(!words_at_word_start(&w("мудак"), "премудаки"));
        assert!(words_at_word_start(&w("убить тебя"), "надо убить  тебяяя"));
        assert!(!words_at_word_start(&w("убить тебя"), "надо убитьтебя"));
        assert!(words_at_word_start(&w("аб"), "ааб аб"));
    }
}
