//! The built-in clause 12 judgment beyond the word list: threats (a harm verb aimed at a
//! person or their property, idioms and reports of others' acts left alone), insults aimed
//! at a person (not words about a situation), and obscenity with hidden letters. The word
//! lists are data, `config/clause12/*.txt`, compiled in. Pure.
//!
//! ## The lists' format
//!
//! One pattern a line, `#` comments, `[section]` headers. A pattern is one or more items
//! separated by spaces, matched on consecutive words of one sentence:
//!
//! - `слово` — a stem at the start of a word (`чиновник` matches `чиновники`);
//! - `=слово` — exactly this word;
//! - `~слово` — any word with the same Snowball stem (`~машина` matches `машину`);
//! - `{а,б}` after an item's text — alternatives (`=дебил{,ы,ов}` is `дебил`, `дебилы`,
//!   `дебилов`);
//! - `..` — up to three words of anything.
//!
//! Words are read as [`normalise`](super::normalise) reads them: lower case, `е` for `ё`.

use super::mask;
use super::normalise::{Normalised, Token};
use crate::stem::stem;
use std::collections::HashMap;
use std::sync::OnceLock;

/// How an item matches a word.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Prefix,
    Exact,
    Snowball,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// The word matches one of the alternatives.
    Word(Kind, Vec<String>),
    /// Up to three words of anything.
    Gap,
}

fn kind_key(k: &Kind) -> u8 {
    match k {
        Kind::Prefix => 0,
        Kind::Exact => 1,
        Kind::Snowball => 2,
    }
}

/// One line of a list: items matched in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    items: Vec<Item>,
}

/// The sections of one list file.
#[derive(Debug, Clone, Default)]
pub struct List {
    sections: Vec<(String, Vec<Pattern>)>,
}

/// A bad line of a built-in list (a bug in the shipped data; the tests parse every list).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ListError {
    /// The list's file name.
    pub file: &'static str,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn parse_item(raw: &str) -> Result<Item, String> {
    if raw == ".." {
        return Ok(Item::Gap);
    }
    let (kind, body) = if let Some(b) = raw.strip_prefix('=') {
        (Kind::Exact, b)
    } else if let Some(b) = raw.strip_prefix('~') {
        (Kind::Snowball, b)
    } else {
        (Kind::Prefix, raw)
    };
    let body = body.to_lowercase().replace('ё', "е");
    let words: Vec<String> = match body.split_once('{') {
        None => vec![body.clone()],
        Some((head, rest)) => {
            let Some(alts) = rest.strip_suffix('}') else {
                return Err(format!("«{raw}»: `{{` without a closing `}}` at the end"));
            };
            alts.split(',')
                .map(|a| format!("{head}{}", a.trim()))
                .collect()
        }
    };
    let mut out = Vec::with_capacity(words.len());
    for w in words {
        if w.chars().count() < 2 && kind != Kind::Exact {
            return Err(format!("«{raw}»: a stem needs at least two letters"));
        }
        if w.is_empty() {
            return Err(format!("«{raw}»: an empty word"));
        }
        out.push(if kind == Kind::Snowball { stem(&w) } else { w });
    }
    Ok(Item::Word(kind, out))
}

impl List {
    /// Parse a list file's text; `file` names it in errors.
    pub fn parse(file: &'static str, text: &str) -> Result<List, ListError> {
        let mut list = List::default();
        let mut current = String::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |message: String| ListError {
                file,
                line: i + 1,
                message,
            };
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                current = name.trim().to_string();
                continue;
            }
            let items = line
                .split_whitespace()
                .map(parse_item)
                .collect::<Result<Vec<Item>, String>>()
                .map_err(err)?;
            if matches!(items.first(), Some(Item::Gap)) || matches!(items.last(), Some(Item::Gap)) {
                return Err(ListError {
                    file,
                    line: i + 1,
                    message: "a pattern cannot start or end with `..`".into(),
                });
            }
            let pattern = Pattern {
                source: line.to_string(),
                items,
            };
            match list.sections.iter_mut().find(|(n, _)| *n == current) {
                Some((_, v)) => v.push(pattern),
                None => list.sections.push((current.clone(), vec![pattern])),
            }
        }
        Ok(list)
    }

    /// The patterns of one section (empty when the list has none).
    pub fn section(&self, name: &str) -> &[Pattern] {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[], |(_, v)| v.as_slice())
    }
}

/// A word of the post with its Snowball stem and the one-word sections it is in, computed
/// once.
struct Word<'a> {
    token: &'a Token,
    stem: String,
    /// Bit `s as u32` set: the word matches a one-word pattern of section [`Sec`] `s`.
    flags: u32,
}

/// The sections the rules ask about word by word.
#[derive(Debug, Clone, Copy)]
enum Sec {
    Threat,
    Harm,
    Wish,
    Come,
    Person,
    Property,
    Body,
    Weapon,
    Object,
    Report,
    Noun,
    Adjective,
    Accusation,
}

const SECS: [Sec; 13] = [
    Sec::Threat,
    Sec::Harm,
    Sec::Wish,
    Sec::Come,
    Sec::Person,
    Sec::Property,
    Sec::Body,
    Sec::Weapon,
    Sec::Object,
    Sec::Report,
    Sec::Noun,
    Sec::Adjective,
    Sec::Accusation,
];

impl Word<'_> {
    fn is(&self, s: Sec) -> bool {
        self.flags & (1 << s as u32) != 0
    }
}

fn item_matches(item: &Item, w: &Word<'_>) -> bool {
    let Item::Word(kind, alts) = item else {
        return true;
    };
    // A hidden letter (`*`) matches no list word; an `@` read as `а` does.
    if w.token.text.contains('*') {
        return false;
    }
    let t = w.token.text.as_str();
    alts.iter().any(|a| match kind {
        Kind::Prefix => t.starts_with(a.as_str()),
        Kind::Exact => t == a,
        Kind::Snowball => w.stem == *a,
    })
}

/// The end (exclusive) of a match of `items` starting at word `i`, within `words[..end]`.
fn match_at(items: &[Item], words: &[Word<'_>], i: usize, end: usize) -> Option<usize> {
    let Some((first, rest)) = items.split_first() else {
        return Some(i);
    };
    match first {
        Item::Gap => (0..=3)
            .filter(|g| i + g <= end)
            .find_map(|g| match_at(rest, words, i + g, end)),
        item => {
            if i < end && item_matches(item, &words[i]) {
                match_at(rest, words, i + 1, end)
            } else {
                None
            }
        }
    }
}

/// The first pattern of `patterns` matching at word `i` (within `words[..end]`).
fn first_at<'p>(
    patterns: &'p [Pattern],
    words: &[Word<'_>],
    i: usize,
    end: usize,
) -> Option<(&'p Pattern, usize)> {
    patterns
        .iter()
        .find_map(|p| match_at(&p.items, words, i, end).map(|e| (p, e)))
}

/// The built-in lists, compiled once.
#[derive(Debug, Clone)]
pub struct Builtin {
    verbs: List,
    targets: List,
    idioms: List,
    phrases: List,
    reports: List,
    insults: List,
    masked: Vec<String>,
    /// The one-word patterns of every [`Sec`] by kind and text → the sections' bits, so
    /// that a word is looked up, not compared with every pattern.
    index: HashMap<(u8, String), u32>,
}

/// The shipped lists' texts, by file name under `config/clause12/`.
pub const FILES: &[(&str, &str)] = &[
    (
        "threat-verbs.txt",
        include_str!("../../../../config/clause12/threat-verbs.txt"),
    ),
    (
        "threat-targets.txt",
        include_str!("../../../../config/clause12/threat-targets.txt"),
    ),
    (
        "threat-idioms.txt",
        include_str!("../../../../config/clause12/threat-idioms.txt"),
    ),
    (
        "threat-phrases.txt",
        include_str!("../../../../config/clause12/threat-phrases.txt"),
    ),
    (
        "report-markers.txt",
        include_str!("../../../../config/clause12/report-markers.txt"),
    ),
    (
        "insults.txt",
        include_str!("../../../../config/clause12/insults.txt"),
    ),
    (
        "masked.txt",
        include_str!("../../../../config/clause12/masked.txt"),
    ),
];

fn file(name: &'static str) -> Result<List, ListError> {
    let text = FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, t)| t);
    List::parse(name, text)
}

impl Builtin {
    /// The shipped lists, parsed once; an error is a bug in the shipped data.
    pub fn shipped() -> Result<&'static Builtin, ListError> {
        static BUILTIN: OnceLock<Result<Builtin, ListError>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let masked = FILES
                    .iter()
                    .find(|(n, _)| *n == "masked.txt")
                    .map_or("", |(_, t)| t)
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(|l| l.to_lowercase().replace('ё', "е"))
                    .collect();
                let mut b = Builtin {
                    verbs: file("threat-verbs.txt")?,
                    targets: file("threat-targets.txt")?,
                    idioms: file("threat-idioms.txt")?,
                    phrases: file("threat-phrases.txt")?,
                    reports: file("report-markers.txt")?,
                    insults: file("insults.txt")?,
                    masked,
                    index: HashMap::new(),
                };
                let mut index: HashMap<(u8, String), u32> = HashMap::new();
                for s in SECS {
                    for p in b.patterns(s) {
                        if let [Item::Word(kind, alts)] = p.items.as_slice() {
                            for a in alts {
                                *index.entry((kind_key(kind), a.clone())).or_default() |=
                                    1 << s as u32;
                            }
                        }
                    }
                }
                b.index = index;
                Ok(b)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The stems a masked word is compared with (`masked.txt`).
    pub fn masked_stems(&self) -> impl Iterator<Item = &str> {
        self.masked.iter().map(String::as_str)
    }

    fn patterns(&self, s: Sec) -> &[Pattern] {
        match s {
            Sec::Threat => self.verbs.section("threat"),
            Sec::Harm => self.verbs.section("harm"),
            Sec::Wish => self.verbs.section("wish"),
            Sec::Come => self.verbs.section("come"),
            Sec::Person => self.targets.section("person"),
            Sec::Property => self.targets.section("property"),
            Sec::Body => self.targets.section("body"),
            Sec::Weapon => self.targets.section("weapon"),
            Sec::Object => self.idioms.section("object"),
            Sec::Report => self.reports.section("report"),
            Sec::Noun => self.insults.section("noun"),
            Sec::Adjective => self.insults.section("adjective"),
            Sec::Accusation => self.insults.section("accusation"),
        }
    }

    /// Why the post falls under clause 12 by the built-in rules, or `None`.
    pub fn judge(&self, n: &Normalised) -> Option<String> {
        let mut words: Vec<Word<'_>> = n
            .tokens
            .iter()
            .map(|t| Word {
                token: t,
                stem: stem(&t.text),
                flags: 0,
            })
            .collect();
        // Which one-word patterns each word matches: its text, its stem and each of its
        // starts looked up (a word is at most 40 letters, so this is bounded per word).
        for w in &mut words {
            let t = &w.token.text;
            if t.contains('*') {
                continue;
            }
            let get = |k: &Kind, s: &str| {
                self.index
                    .get(&(kind_key(k), s.to_string()))
                    .copied()
                    .unwrap_or(0)
            };
            let mut flags = get(&Kind::Exact, t) | get(&Kind::Snowball, &w.stem);
            for (b, _) in t.char_indices().skip(1) {
                flags |= get(&Kind::Prefix, &t[..b]);
            }
            flags |= get(&Kind::Prefix, t);
            w.flags = flags;
        }
        if let Some(w) = n
            .tokens
            .iter()
            .filter(|t| t.masked)
            .find_map(|t| mask::fitting(&t.pattern, self.masked_stems()).map(|_| &t.pattern))
        {
            return Some(format!("мат со скрытыми буквами: {w}"));
        }
        let mut start = 0;
        while start < words.len() {
            let s = words[start].token.sentence;
            let end = words[start..]
                .iter()
                .position(|w| w.token.sentence != s)
                .map_or(words.len(), |k| start + k);
            if let Some(why) = self.sentence(&words, start, end) {
                return Some(why);
            }
            start = end;
        }
        None
    }

    /// Judge one sentence, `words[start..end]`.
    fn sentence(&self, words: &[Word<'_>], start: usize, end: usize) -> Option<String> {
        let reported = (start..end).any(|i| words[i].is(Sec::Report));
        if !reported && let Some(why) = self.threat(words, start, end) {
            return Some(why);
        }
        self.insult(words, start, end, reported)
    }

    fn is_target(&self, words: &[Word<'_>], i: usize, start: usize) -> bool {
        words[i].is(Sec::Person)
            || words[i].is(Sec::Property)
            || words[i].is(Sec::Body)
            // A name: a capitalised word that does not open the sentence.
            || (i > start && words[i].token.capital && words[i].token.text.chars().count() > 2
                && words[i].token.text.chars().all(char::is_alphabetic))
    }

    /// Is the harm verb at `i` aimed at a target, before it (up to three words) or after it
    /// (up to four, unless an ordinary object comes first: `закопаем яму у дома`)?
    fn aimed(&self, words: &[Word<'_>], i: usize, start: usize, end: usize) -> Option<usize> {
        let before = i.saturating_sub(3).max(start);
        if let Some(k) = (before..i).find(|&k| self.is_target(words, k, start)) {
            return Some(k);
        }
        for k in i + 1..(i + 5).min(end) {
            if self.is_target(words, k, start) {
                return Some(k);
            }
            if words[k].is(Sec::Object) {
                return None;
            }
        }
        None
    }

    /// Is an ordinary object (time, calories, rubbish) the first thing after the verb at `i`?
    fn idiom_after(&self, words: &[Word<'_>], i: usize, start: usize, end: usize) -> bool {
        for k in i + 1..(i + 4).min(end) {
            if words[k].is(Sec::Object) {
                return true;
            }
            if self.is_target(words, k, start) {
                return false;
            }
        }
        false
    }

    fn threat(&self, words: &[Word<'_>], start: usize, end: usize) -> Option<String> {
        for i in start..end {
            if words[i].token.quoted {
                continue;
            }
            let w = &words[i].token.text;
            if let Some((_, e)) = first_at(self.phrases.section("threat"), words, i, end) {
                return Some(format!("угроза: {}", span(words, i, e)));
            }
            if words[i].is(Sec::Threat) && !self.idiom_after(words, i, start, end) {
                return Some(format!("угроза: {w}"));
            }
            if (words[i].is(Sec::Harm) || words[i].is(Sec::Wish))
                && let Some(k) = self.aimed(words, i, start, end)
            {
                let (a, b) = if k < i { (k, i) } else { (i, k) };
                return Some(format!("угроза: {}", span(words, a, b + 1)));
            }
            if words[i].is(Sec::Come)
                && let Some(k) = (i + 1..(i + 6).min(end)).find(|&k| words[k].is(Sec::Weapon))
            {
                return Some(format!("угроза: {}", span(words, i, k + 1)));
            }
        }
        None
    }

    fn insult(
        &self,
        words: &[Word<'_>],
        start: usize,
        end: usize,
        reported: bool,
    ) -> Option<String> {
        if reported {
            return None;
        }
        let first_person = |i: usize| {
            (i.saturating_sub(3).max(start)..i).any(|k| {
                matches!(
                    words[k].token.text.as_str(),
                    "нас" | "меня" | "мы" | "я" | "нам" | "мне" | "себя"
                )
            })
        };
        let second_person = |i: usize| {
            (i.saturating_sub(2).max(start)..i)
                .any(|k| matches!(words[k].token.text.as_str(), "ты" | "вы"))
        };
        for i in start..end {
            let w = &words[i].token.text;
            if words[i].token.quoted {
                continue;
            }
            if words[i].is(Sec::Noun) && !first_person(i) {
                return Some(format!("оскорбление: {w}"));
            }
            if words[i].is(Sec::Adjective)
                && let Some(k) = (i + 1..(i + 3).min(end)).find(|&k| words[k].is(Sec::Person))
            {
                return Some(format!("оскорбление: {}", span(words, i, k + 1)));
            }
            if words[i].is(Sec::Accusation) {
                let aimed = words[i].token.after_dash
                    || second_person(i)
                    || (i + 2 < end
                        && words[i + 1].token.text == "и"
                        && (words[i + 2].is(Sec::Accusation) || words[i + 2].is(Sec::Noun)));
                if aimed && !first_person(i) {
                    return Some(format!("оскорбление: {w}"));
                }
            }
        }
        None
    }
}

/// The words `a..b` of the post, as read, joined by spaces.
fn span(words: &[Word<'_>], a: usize, b: usize) -> String {
    words[a..b.min(words.len())]
        .iter()
        .map(|w| w.token.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_lists_parse() {
        let b = Builtin::shipped().unwrap();
        // Every section but the phrases is asked about word by word.
        for s in SECS {
            for p in b.patterns(s) {
                assert_eq!(p.items.len(), 1, "{s:?}: «{}» is not one word", p.source);
            }
        }
        assert!(!b.verbs.section("threat").is_empty());
        assert!(!b.targets.section("person").is_empty());
        assert!(!b.insults.section("noun").is_empty());
        assert!(b.masked_stems().count() > 5);
    }

    #[test]
    fn list_syntax() {
        let l = List::parse("t", "[a]\n=дебил{,ы}\n~машина\nчинов .. =ответят\n").unwrap();
        assert_eq!(l.section("a").len(), 3);
        assert!(l.section("b").is_empty());
        let e = List::parse("t", "\n=x{a\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(List::parse("t", ".. =a\n").is_err());
        assert!(List::parse("t", "я\n").is_err());
    }
}
