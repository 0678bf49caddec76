//! What the CLI prints to the operator's terminal holds text from the outside world (a
//! post, a subject, a draft): none of its control characters may reach the terminal, where
//! an escape sequence could retitle the window, clear the screen, rewrite what was printed
//! or hide text behind bidirectional overrides (docs/operations.md#the-cli-and-terminals).
//!
//! [`TermSafe`] wraps the output: in text it shows every control character as a visible
//! escape (`\e` for ESC, `\xNN` for the other C0 controls and DEL, `\u{NNNN}` for C1
//! controls and the invisible direction and separator characters), keeping only newlines and
//! tabs, which the layout uses. JSON is escaped by serde already, except for the characters it
//! may leave raw (DEL, C1, direction marks): those become `\uNNNN`, the same JSON string.

use std::io::{self, Write};

/// How the output is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Text for people: every control character but `\n` and `\t` escaped.
    Text,
    /// JSON: the characters serde leaves raw and a terminal would act on, as `\uNNNN`.
    Json,
    /// Our own bytes (a man page, a completion script): passed through.
    Raw,
}

/// Invisible characters that reorder or break the text a terminal shows: the direction
/// marks, embeddings, overrides and isolates, and the line and paragraph separators.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'
            ..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// `s` as a terminal may show it in text: see the module's documentation.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\u{1b}' => out.push_str("\\e"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if ('\u{80}'..='\u{9f}').contains(&c) || is_invisible_format(c) => {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Serde's JSON with the characters it leaves raw and a terminal would act on as `\uNNNN`
/// (inside strings, the only place they can stand, this is the same JSON).
pub fn escape_json(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r'
            || c == '\u{7f}'
            || ('\u{80}'..='\u{9f}').contains(&c)
            || is_invisible_format(c)
        {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// An output that escapes what passes through it (see [`Mode`]). Text arrives in pieces;
/// a character split between two writes waits for its end.
pub struct TermSafe<'a> {
    out: &'a mut dyn Write,
    mode: Mode,
    pending: Vec<u8>,
}

impl<'a> TermSafe<'a> {
    /// Wraps `out`.
    pub fn new(out: &'a mut dyn Write, mode: Mode) -> TermSafe<'a> {
        TermSafe {
            out,
            mode,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, text: &str) -> io::Result<()> {
        let escaped = match self.mode {
            Mode::Text => escape_text(text),
            Mode::Json => escape_json(text),
            Mode::Raw => text.to_string(),
        };
        self.out.write_all(escaped.as_bytes())
    }

    /// Writes out what is pending (an incomplete character as U+FFFD) and flushes.
    pub fn finish(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
            self.emit(&rest)?;
        }
        self.out.flush()
    }
}

impl Write for TermSafe<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.mode == Mode::Raw {
            return self.out.write(buf);
        }
        self.pending.extend_from_slice(buf);
        let pending = std::mem::take(&mut self.pending);
        let (text, rest) = match std::str::from_utf8(&pending) {
            Ok(s) => (s.to_string(), Vec::new()),
            // The end of a character still to come.
            Err(e) if e.error_len().is_none() => {
                let (valid, tail) = pending.split_at(e.valid_up_to());
                (String::from_utf8_lossy(valid).into_owned(), tail.to_vec())
            }
            // Not UTF-8 at all: shown as U+FFFD, never passed raw.
            Err(_) => (String::from_utf8_lossy(&pending).into_owned(), Vec::new()),
        };
        self.pending = rest;
        self.emit(&text)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_shows_every_control_character() {
        let hostile = "Нет воды\x1b]0;pwned\x07\x1b[2J\r\u{9b}31m\u{202e}txt.exe\u{2066}\x00\x7f";
        let shown = escape_text(hostile);
        assert_eq!(
            shown,
            "Нет воды\\e]0;pwned\\x07\\e[2J\\r\\u{009b}31m\\u{202e}txt.exe\\u{2066}\\x00\\x7f"
        );
        assert!(shown.chars().all(|c| !c.is_control()));
        // The layout's newlines and tabs stay; ordinary text is untouched.
        assert_eq!(escape_text("a\tb\nв ё — «x»"), "a\tb\nв ё — «x»");
    }

    #[test]
    fn json_keeps_its_meaning() {
        let v = serde_json::json!({ "text": "a\x1b[2J\u{202e}b\u{85}" });
        let raw = serde_json::to_string_pretty(&v).unwrap();
        let safe = escape_json(&raw);
        assert!(
            !safe.contains('\u{202e}') && !safe.contains('\u{85}'),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn a_character_split_between_writes_is_kept_whole() {
        let mut buf = Vec::new();
        {
            let mut out = TermSafe::new(&mut buf, Mode::Text);
            let bytes = "ж\u{202e}\x1b".as_bytes();
            for b in bytes {
                out.write_all(std::slice::from_ref(b)).unwrap();
            }
            out.finish().unwrap();
        }
        assert_eq!(String::from_utf8(buf).unwrap(), "ж\\u{202e}\\e");
    }
}
