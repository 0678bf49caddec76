//! Reading an archive file: JSON Lines, or CSV as Excel exports it (`;` between fields,
//! UTF-8 with or without a byte order mark, a header row, quoted fields with `""` inside
//! and line breaks inside quotes). Columns (JSON keys): `id`, `topic`, `location`, `text`,
//! `answer`, optional `date` (`YYYY-MM-DD` or `DD.MM.YYYY`) and `executor`.
//!
//! All or nothing: the first bad row refuses the whole file, with its line number and
//! what is wrong, so nothing is half imported. Ids must be unique within the file.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Deserialize;

use super::Entry;

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object a line (a `.json` file may also be one JSON array of them).
    Json,
    /// `;`-separated values with a header row.
    Csv,
}

impl Format {
    /// The format by the file name's extension (`.jsonl`, `.json`, `.csv`), else by the
    /// content: JSON starts with `{` or `[`.
    pub fn detect(name: &str, bytes: &[u8]) -> Format {
        let lower = name.to_lowercase();
        if lower.ends_with(".jsonl") || lower.ends_with(".json") || lower.ends_with(".ndjson") {
            return Format::Json;
        }
        if lower.ends_with(".csv") {
            return Format::Csv;
        }
        let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{' | b'[') => Format::Json,
            _ => Format::Csv,
        }
    }
}

const BOM: &[u8] = b"\xef\xbb\xbf";

/// What is wrong with a row (or the file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The bytes are not UTF-8 (Excel's "CSV (разделители — запятые)" writes cp1251).
    #[error("not UTF-8 text; save the file as \"CSV UTF-8\"")]
    NotUtf8,
    /// Not a JSON object, or a field of the wrong type.
    #[error("not a JSON object of strings: {0}")]
    Json(String),
    /// The CSV could not be read (an unclosed quote, a row of the wrong width).
    #[error("{0}")]
    Csv(String),
    /// The header lacks a required column.
    #[error("the header has no column {0:?} (it needs id, topic, location, text, answer)")]
    MissingColumn(&'static str),
    /// A column named twice in the header.
    #[error("the header names column {0:?} twice")]
    DuplicateColumn(String),
    /// A required field is missing or empty.
    #[error("{0} is empty")]
    Empty(&'static str),
    /// A required JSON key is missing.
    #[error("no {0:?}")]
    Missing(&'static str),
    /// The date is neither `YYYY-MM-DD` nor `DD.MM.YYYY`.
    #[error("date {0:?} is neither YYYY-MM-DD nor DD.MM.YYYY")]
    Date(String),
    /// The id was already used on an earlier line.
    #[error("id {id:?} is already on line {first}")]
    Duplicate {
        /// The id.
        id: String,
        /// The line it was first used on.
        first: usize,
    },
}

/// Why a file was refused: the line (1-based; for CSV, where the row starts) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct ImportError {
    /// The line the bad row starts on.
    pub line: usize,
    /// What is wrong.
    pub problem: Problem,
}

fn at(line: usize, problem: Problem) -> ImportError {
    ImportError { line, problem }
}

/// Reads a whole file: every entry, or the first bad row.
pub fn parse(bytes: &[u8], format: Format) -> Result<Vec<Entry>, ImportError> {
    Ok(parse_rows(bytes, format)?
        .into_iter()
        .map(|(_, e)| e)
        .collect())
}

/// [`parse`], each entry with the line its row starts on (for errors found later, such
/// as an id already in the store).
pub fn parse_rows(bytes: &[u8], format: Format) -> Result<Vec<(usize, Entry)>, ImportError> {
    let rows = match format {
        Format::Json => json(bytes)?,
        Format::Csv => csv(bytes)?,
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (line, e) in &rows {
        if let Some(first) = seen.insert(e.id.as_str(), *line) {
            return Err(at(
                *line,
                Problem::Duplicate {
                    id: e.id.clone(),
                    first,
                },
            ));
        }
    }
    Ok(rows)
}

/// A date as `YYYY-MM-DD` or `DD.MM.YYYY`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d.%m.%Y"))
        .ok()
}

/// One row as read, before its checks.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    id: Option<String>,
    topic: Option<String>,
    location: Option<String>,
    text: Option<String>,
    answer: Option<String>,
    date: Option<String>,
    executor: Option<String>,
}

impl Row {
    fn check(self, line: usize) -> Result<Entry, ImportError> {
        let required = |v: Option<String>, name: &'static str, nonempty: bool| match v {
            None => Err(at(line, Problem::Missing(name))),
            Some(s) if nonempty && s.trim().is_empty() => Err(at(line, Problem::Empty(name))),
            Some(s) => Ok(s.trim().to_string()),
        };
        let id = required(self.id, "id", true)?;
        let topic = required(self.topic, "topic", false)?;
        let location = required(self.location, "location", false)?;
        let text = required(self.text, "text", true)?;
        let answer = required(self.answer, "answer", true)?;
        let date = match self.date.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(d) => Some(parse_date(d).ok_or_else(|| at(line, Problem::Date(d.to_string())))?),
        };
        let executor = self
            .executor
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty());
        Ok(Entry {
            id,
            topic,
            location,
            text,
            answer,
            date,
            executor,
        })
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, ImportError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        at(line, Problem::NotUtf8)
    })
}

fn json(bytes: &[u8]) -> Result<Vec<(usize, Entry)>, ImportError> {
    let text = utf8(bytes)?;
    if text.trim_start().starts_with('[') {
        // One JSON array: rows are numbered by the line their object starts on.
        let rows: Vec<serde_json::Value> =
            serde_json::from_str(text).map_err(|e| at(e.line(), Problem::Json(e.to_string())))?;
        let starts = object_lines(text);
        return rows
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let line = starts.get(i).copied().unwrap_or(1);
                let row: Row = serde_json::from_value(v)
                    .map_err(|e| at(line, Problem::Json(e.to_string())))?;
                Ok((line, row.check(line)?))
            })
            .collect();
    }
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        if l.trim().is_empty() {
            continue;
        }
        let row: Row =
            serde_json::from_str(l).map_err(|e| at(line, Problem::Json(e.to_string())))?;
        out.push((line, row.check(line)?));
    }
    Ok(out)
}

/// The lines on which the top-level objects of a JSON array start.
fn object_lines(text: &str) -> Vec<usize> {
    let (mut depth, mut line, mut in_str, mut escaped) = (0usize, 1usize, false, false);
    let mut starts = Vec::new();
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '[' | '{' => {
                if depth == 1 && c == '{' {
                    starts.push(line);
                }
                depth += 1;
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    starts
}

const COLUMNS: [&str; 7] = [
    "id", "topic", "location", "text", "answer", "date", "executor",
];

fn csv(bytes: &[u8]) -> Result<Vec<(usize, Entry)>, ImportError> {
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(false)
        .from_reader(body);
    let mut records = reader.byte_records();
    // The line a record starts on, counted from its byte offset: the reader's own count
    // lags by one after a CRLF, which is what Excel writes.
    let line_of = |pos: Option<&::csv::Position>| {
        let mut at = pos.map(|p| p.byte() as usize).unwrap_or(0).min(body.len());
        while at < body.len() && matches!(body[at], b'\r' | b'\n') {
            at += 1;
        }
        1 + body[..at].iter().filter(|&&b| b == b'\n').count()
    };
    let csv_err = |e: ::csv::Error| {
        let line = line_of(e.position());
        let what = match e.kind() {
            ::csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("{len} fields where the header has {expected_len}"),
            _ => e.to_string(),
        };
        at(line, Problem::Csv(what))
    };
    let Some(header) = records.next() else {
        return Ok(Vec::new());
    };
    let header = header.map_err(csv_err)?;
    let mut column: HashMap<&'static str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        let name = std::str::from_utf8(h)
            .map_err(|_| at(1, Problem::NotUtf8))?
            .trim()
            .to_lowercase();
        if let Some(known) = COLUMNS.iter().find(|c| **c == name)
            && column.insert(known, i).is_some()
        {
            return Err(at(1, Problem::DuplicateColumn(name)));
        }
    }
    for required in &COLUMNS[..5] {
        if !column.contains_key(required) {
            return Err(at(1, Problem::MissingColumn(required)));
        }
    }
    let mut out = Vec::new();
    for rec in records {
        let rec = rec.map_err(csv_err)?;
        let line = line_of(rec.position());
        if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        let field = |name: &str| -> Result<Option<String>, ImportError> {
            match column.get(name).and_then(|&i| rec.get(i)) {
                None => Ok(None),
                Some(b) => std::str::from_utf8(b)
                    .map(|s| Some(s.replace("\r\n", "\n")))
                    .map_err(|_| at(line, Problem::NotUtf8)),
            }
        };
        let row = Row {
            id: field("id")?,
            topic: field("topic")?,
            location: field("location")?,
            text: field("text")?,
            answer: field("answer")?,
            date: field("date")?,
            executor: field("executor")?,
        };
        out.push((line, row.check(line)?));
    }
    Ok(out)
}
