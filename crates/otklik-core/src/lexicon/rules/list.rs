//! The lists' file format: items, patterns, sections (the format is told in the parent
//! module's documentation).

use crate::stem::stem;

/// How an item matches a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    Prefix,
    Exact,
    Snowball,
    Inflected,
}

/// The case endings of Russian nouns a `+` item may take (`""` for the bare stem).
pub const ENDINGS: &[&str] = &[
    "", "а", "я", "у", "ю", "о", "ом", "ем", "ой", "ей", "ою", "ею", "е", "и", "ы", "ов", "ев",
    "ам", "ям", "ами", "ями", "ах", "ях", "ь", "ью", "ьи", "ья", "ье", "ьям", "ьями", "ьях", "ьев",
];

/// The derivational suffixes a `+` hard insult also takes (`дебилоид`, `идиотина`,
/// `мразота`, `уродище`), each with its case endings.
pub const DERIVED: &[&str] = &["оид", "ин", "от", "ищ"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Item {
    /// The word matches one of the alternatives.
    Word(Kind, Vec<String>),
    /// Up to three words of anything.
    Gap,
}

pub(super) fn kind_key(k: &Kind) -> u8 {
    match k {
        Kind::Prefix => 0,
        Kind::Exact => 1,
        Kind::Snowball => 2,
        Kind::Inflected => 3,
    }
}

/// One line of a list: items matched in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub(super) source: String,
    pub(super) items: Vec<Item>,
}

/// The sections of one list file.
#[derive(Debug, Clone, Default)]
pub struct List {
    pub(super) sections: Vec<(String, Vec<Pattern>)>,
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

pub(super) fn parse_item(raw: &str) -> Result<Item, String> {
    if raw == ".." {
        return Ok(Item::Gap);
    }
    let (kind, body) = if let Some(b) = raw.strip_prefix('=') {
        (Kind::Exact, b)
    } else if let Some(b) = raw.strip_prefix('~') {
        (Kind::Snowball, b)
    } else if let Some(b) = raw.strip_prefix('+') {
        (Kind::Inflected, b)
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
