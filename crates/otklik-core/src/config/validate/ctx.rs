//! The validation context: where problems are collected, and the typed readers of raw values.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

use crate::address::{is_email, is_loopback};
use crate::config::raw::{Str, StrList};
use crate::config::{Environment, Password, Pattern, Problem, SecretCheck, TlsMode, WorkDuration};

/// 1-based line and column of a byte offset; columns count characters, not bytes.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut off = offset.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// A date written `YYYY-MM-DD`, nothing more or less.
pub(super) fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

pub(super) fn is_bare_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub(super) fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    if is_bare_key(key) {
        path.push_str(key);
    } else {
        path.push_str(&format!("{key:?}"));
    }
}

pub(super) fn contains(v: &Spanned<DeValue<'_>>, pos: usize) -> bool {
    if v.span().contains(&pos) {
        return true;
    }
    match v.get_ref() {
        DeValue::Table(t) => t
            .iter()
            .any(|(k, v)| k.span().contains(&pos) || contains(v, pos)),
        DeValue::Array(a) => a.iter().any(|v| contains(v, pos)),
        _ => false,
    }
}

/// The dotted key path, below `value`, of the innermost key or value at `pos`.
pub(super) fn key_path(value: &DeValue<'_>, pos: usize, path: &mut String) {
    match value {
        DeValue::Table(t) => {
            for (k, v) in t.iter() {
                if k.span().contains(&pos) || contains(v, pos) {
                    push_key(path, k.get_ref());
                    key_path(v.get_ref(), pos, path);
                    return;
                }
            }
        }
        DeValue::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                if contains(v, pos) {
                    path.push_str(&format!("[{i}]"));
                    key_path(v.get_ref(), pos, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

/// Drops from `value` the innermost key whose name or value holds `pos` (the key serde
/// refused) and appends its path to `path`; false if no key holds `pos`.
pub(super) fn drop_key(value: &mut DeValue<'_>, pos: usize, path: &mut String) -> bool {
    match value {
        DeValue::Table(t) => {
            let hit = t
                .iter()
                .find(|(k, v)| k.span().contains(&pos) || contains(v, pos))
                .map(|(k, _)| k.get_ref().to_string());
            let Some(name) = hit else {
                return false;
            };
            push_key(path, &name);
            let inner = t
                .get_mut(name.as_str())
                .is_some_and(|v| drop_key(v.get_mut(), pos, path));
            inner || t.remove(name.as_str()).is_some()
        }
        DeValue::Array(a) => {
            for (i, v) in a.iter_mut().enumerate() {
                if contains(v, pos) && v.get_ref().is_table() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    if drop_key(v.get_mut(), pos, path) {
                        return true;
                    }
                    path.truncate(len);
                    return false;
                }
            }
            false
        }
        _ => false,
    }
}

pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// One trailing newline off a secret read from a file.
pub(super) fn trim_newline(s: String) -> String {
    if let Some(t) = s.strip_suffix("\r\n") {
        t.to_string()
    } else if let Some(t) = s.strip_suffix('\n') {
        t.to_string()
    } else {
        s
    }
}

pub(super) fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once("error: ") {
        Some((_, m)) => m.trim().to_string(),
        None => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

pub(super) struct Ctx<'a> {
    pub(super) text: &'a str,
    pub(super) path: &'a Path,
    pub(super) dir: PathBuf,
    pub(super) secrets: SecretCheck,
    pub(super) env: &'a dyn Environment,
    pub(super) problems: Vec<Problem>,
    /// Keys already reported (wrong type) and dropped: not "missing" on top.
    pub(super) dropped: HashSet<String>,
}

impl<'a> Ctx<'a> {
    /// A text file the config names, read through the environment it is validated in.
    pub(super) fn read_text(&self, p: &Path) -> std::io::Result<String> {
        let bytes = self.env.read(p)?;
        String::from_utf8(bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    pub(super) fn at(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let (line, col) = line_col(self.text, span.start);
        self.problems.push(Problem {
            path: self.path.to_path_buf(),
            line,
            col,
            key: key.to_string(),
            message: message.into(),
        });
    }

    pub(super) fn resolve(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }

    /// Deserializes one value; a serde problem (unknown key, wrong type) becomes one problem.
    /// The offending key is then dropped and the value tried again, so every mistake of a
    /// section is reported and the rest of it is still checked.
    pub(super) fn de<T: for<'de> Deserialize<'de>>(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        prefix: &str,
    ) -> Option<T> {
        let mut v = v.clone();
        for _ in 0..100 {
            let e = match T::deserialize(ValueDeserializer::from(v.clone())) {
                Ok(t) => return Some(t),
                Err(e) => e,
            };
            let span = e.span().unwrap_or_else(|| v.span());
            let mut key = prefix.to_string();
            key_path(v.get_ref(), span.start, &mut key);
            let msg = e.message().trim().to_string();
            self.at(span.clone(), &key, msg);
            let mut dropped = prefix.to_string();
            if !drop_key(v.get_mut(), span.start, &mut dropped) {
                return None;
            }
            self.dropped.insert(dropped);
        }
        None
    }

    pub(super) fn was_dropped(&self, key: &str) -> bool {
        self.dropped.contains(key)
    }

    pub(super) fn section<T: for<'de> Deserialize<'de>>(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        name: &str,
    ) -> Option<Spanned<T>> {
        if !v.get_ref().is_table() {
            self.at(v.span(), name, format!("[{name}] must be a table"));
            return None;
        }
        self.de::<T>(v, name).map(|t| Spanned::new(v.span(), t))
    }

    pub(super) fn array<T: for<'de> Deserialize<'de>>(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        name: &str,
    ) -> Vec<(usize, Spanned<T>)> {
        let Some(items) = v.get_ref().as_array() else {
            self.at(
                v.span(),
                name,
                format!("must be an array of tables, written [[{name}]]"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let prefix = format!("{name}[{i}]");
            if !item.get_ref().is_table() {
                self.at(item.span(), &prefix, "must be a table");
                continue;
            }
            if let Some(t) = self.de::<T>(item, &prefix) {
                out.push((i, Spanned::new(item.span(), t)));
            }
        }
        out
    }

    pub(super) fn require<'r>(
        &mut self,
        v: &'r Option<Str>,
        table: &Range<usize>,
        key: &str,
    ) -> Option<&'r Str> {
        if v.is_none() && !self.dropped.contains(key) {
            self.at(table.clone(), key, "missing required key");
        }
        v.as_ref()
    }

    pub(super) fn nonempty(&mut self, v: &Str, key: &str) -> Option<String> {
        let s = v.get_ref().trim();
        if s.is_empty() {
            self.at(v.span(), key, "must not be empty");
            None
        } else {
            Some(s.to_string())
        }
    }

    pub(super) fn duration(&mut self, v: &Str, key: &str) -> Option<WorkDuration> {
        match v.get_ref().parse::<WorkDuration>() {
            Ok(d) => Some(d),
            Err(e) => {
                self.at(v.span(), key, e.to_string());
                None
            }
        }
    }

    pub(super) fn timezone(&mut self, v: &Str, key: &str) -> Option<Tz> {
        match v.get_ref().trim().parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                self.at(
                    v.span(),
                    key,
                    format!(
                        "unknown time zone {:?}: expected an IANA name such as Asia/Barnaul",
                        v.get_ref()
                    ),
                );
                None
            }
        }
    }

    pub(super) fn email(&mut self, v: &Str, key: &str) -> Option<String> {
        let s = v.get_ref().trim();
        if is_email(s) {
            Some(s.to_lowercase())
        } else {
            self.at(
                v.span(),
                key,
                format!("{s:?} is not an email address (expected name@domain)"),
            );
            None
        }
    }

    pub(super) fn dates(&mut self, list: &Option<StrList>, key: &str) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        for (i, d) in list.iter().flat_map(|l| l.get_ref().iter().enumerate()) {
            match parse_date(d.get_ref()) {
                Some(date) => out.push(date),
                None => self.at(
                    d.span(),
                    &format!("{key}[{i}]"),
                    format!("invalid date {:?}: expected YYYY-MM-DD", d.get_ref()),
                ),
            }
        }
        out
    }

    pub(super) fn tls(&mut self, v: &Option<Str>, key: &str) -> Option<TlsMode> {
        let Some(v) = v else {
            return Some(TlsMode::Implicit);
        };
        match v.get_ref().trim().to_ascii_lowercase().as_str() {
            "implicit" => Some(TlsMode::Implicit),
            "starttls" => Some(TlsMode::Starttls),
            "none" => Some(TlsMode::None),
            other => {
                self.at(
                    v.span(),
                    key,
                    format!("unknown tls mode {other:?}: expected implicit, starttls or none"),
                );
                None
            }
        }
    }

    /// Host, tls mode and port of a server section.
    pub(super) fn server(
        &mut self,
        section: &str,
        table: &Range<usize>,
        host: &Option<Str>,
        tls: &Option<Str>,
        port: &Option<Spanned<i64>>,
        default_port: fn(TlsMode) -> u16,
    ) -> (Option<String>, Option<TlsMode>, Option<u16>) {
        let host = self
            .require(host, table, &join(section, "host"))
            .and_then(|h| self.nonempty(h, &join(section, "host")));
        let mode = self.tls(tls, &join(section, "tls"));
        if let (Some(h), Some(TlsMode::None)) = (&host, mode)
            && !is_loopback(h)
        {
            let span = tls.as_ref().map(|t| t.span()).unwrap_or(table.clone());
            self.at(
                span,
                &join(section, "tls"),
                format!(
                    "tls = \"none\" sends the password in clear text and is allowed only to a \
                         loopback host (localhost, 127.0.0.0/8, ::1), not {h:?}"
                ),
            );
        }
        let port = match port {
            Some(p) => match u16::try_from(*p.get_ref()) {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    self.at(
                        p.span(),
                        &join(section, "port"),
                        format!("port {} out of range 1-65535", p.get_ref()),
                    );
                    None
                }
            },
            None => mode.map(default_port),
        };
        (host, mode, port)
    }

    /// The secret from `password_file` (a systemd credential name or a path relative to the
    /// config's folder).
    /// An optional PEM file of extra trusted CA certificates: must be readable.
    pub(super) fn ca_file(&mut self, v: &Option<Str>, key: &str) -> Option<Option<PathBuf>> {
        let Some(v) = v else {
            return Some(None);
        };
        let p = self.resolve(v.get_ref().trim());
        match self.env.read(&p) {
            Ok(bytes)
                if String::from_utf8_lossy(&bytes).contains("-----BEGIN CERTIFICATE-----") =>
            {
                Some(Some(p))
            }
            Ok(_) => {
                self.at(
                    v.span(),
                    key,
                    format!("{} holds no PEM certificate", p.display()),
                );
                None
            }
            Err(e) => {
                self.at(v.span(), key, format!("cannot read {}: {e}", p.display()));
                None
            }
        }
    }

    pub(super) fn secret_file(&mut self, v: &Str, key: &str) -> Option<Password> {
        let name = v.get_ref().trim();
        if name.is_empty() {
            self.at(v.span(), key, "must not be empty");
            return None;
        }
        let mut looked = String::new();
        if !name.contains('/')
            && let Some(dir) = self
                .env
                .var("CREDENTIALS_DIRECTORY")
                .filter(|d| !d.is_empty())
        {
            let p = Path::new(&dir).join(name);
            match self.read_text(&p) {
                Ok(s) => return self.secret_text(s, v, key, &p),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    looked = format!(" (not in $CREDENTIALS_DIRECTORY either: {})", p.display());
                }
                Err(e) => {
                    self.at(
                        v.span(),
                        key,
                        format!("cannot read password file {}: {e}", p.display()),
                    );
                    return None;
                }
            }
        }
        let p = self.resolve(name);
        match self.read_text(&p) {
            Ok(s) => self.secret_text(s, v, key, &p),
            Err(e) => {
                self.at(
                    v.span(),
                    key,
                    format!("cannot read password file {}: {e}{looked}", p.display()),
                );
                None
            }
        }
    }

    pub(super) fn secret_text(
        &mut self,
        s: String,
        v: &Str,
        key: &str,
        p: &Path,
    ) -> Option<Password> {
        let s = trim_newline(s);
        if s.is_empty() {
            self.at(
                v.span(),
                key,
                format!("password file {} is empty", p.display()),
            );
            None
        } else {
            Some(Password(s))
        }
    }

    pub(super) fn secret_env(&mut self, v: &Str, key: &str) -> Option<Password> {
        let name = v.get_ref().trim();
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            self.at(v.span(), key, "must name an environment variable");
            return None;
        }
        match self.env.var(name).filter(|s| !s.is_empty()) {
            Some(s) => Some(Password(s)),
            None if self.secrets == SecretCheck::Lenient => Some(Password(String::new())),
            None => {
                self.at(
                    v.span(),
                    key,
                    format!("environment variable {name} is not set or empty"),
                );
                None
            }
        }
    }

    pub(super) fn patterns(
        &mut self,
        list: &Option<StrList>,
        key: &str,
        lower: bool,
    ) -> Vec<Pattern> {
        let mut out = Vec::new();
        for (i, p) in list.iter().flat_map(|l| l.get_ref().iter().enumerate()) {
            let k = format!("{key}[{i}]");
            let src = p.get_ref().trim();
            if src.is_empty() {
                self.at(p.span(), &k, "empty pattern");
                continue;
            }
            let src = if lower {
                src.to_lowercase()
            } else {
                src.to_string()
            };
            match Pattern::new(&src) {
                Ok(pat) => out.push(pat),
                Err(e) => {
                    let why = e.kind().to_string();
                    self.at(p.span(), &k, format!("invalid glob {src:?}: {why}"));
                }
            }
        }
        out
    }
}
