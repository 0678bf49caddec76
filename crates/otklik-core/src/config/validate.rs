//! From the raw TOML to the runtime [`Config`], collecting every problem of the file.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::raw::{
    RawCalendar, RawDeadlines, RawEscalation, RawExecutor, RawImap, RawIntake, RawPeople,
    RawPerson, RawRule, RawService, RawSize, RawSmtp, Str, StrList,
};
use super::{
    Address, Calendar, Config, ConfigError, DeadlineKind, DeadlineSet, Deadlines, Environment,
    Escalation, Executor, ImapConfig, IntakeConfig, Labels, Language, Lexicon, NotifyTarget,
    Offset, Password, Pattern, People, Person, Problem, Rule, SecretCheck, ServiceConfig,
    SmtpConfig, TlsMode, WorkDuration,
};
use crate::calendar::{CalendarSpec, DayInterval, Preset};
use crate::intake::Field;

const SECTIONS: &str =
    "service, imap, smtp, calendar, deadlines, people, executors, rules, escalations, intake";

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

/// `localhost`, `127.0.0.0/8` or `::1` (brackets allowed).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    let h = h.strip_suffix('.').unwrap_or(h);
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// A bare address `local@domain`: one `@`, no spaces or mail syntax characters, a domain
/// of non-empty labels of letters (any script), digits and `-` — and one that the SMTP
/// library, which will send to it, accepts too. Every address the service takes from mail
/// or from the config passes through here, so nothing is queued that cannot be sent.
pub fn is_email(s: &str) -> bool {
    s.parse::<lettre::Address>().is_ok() && is_plain_email(s)
}

fn is_plain_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    if local.is_empty()
        || domain.is_empty()
        || domain.contains('@')
        || local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c))
    {
        return false;
    }
    domain
        .split('.')
        .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
}

/// `Name <addr@host>`, `"Name" <addr@host>` or `addr@host`.
pub fn parse_address(s: &str) -> Option<Address> {
    let s = s.trim();
    let (name, email) = match s.rfind('<') {
        Some(i) => {
            let email = s[i + 1..].strip_suffix('>')?.trim();
            let name = s[..i].trim();
            let name = name
                .strip_prefix('"')
                .and_then(|n| n.strip_suffix('"'))
                .unwrap_or(name)
                .trim();
            ((!name.is_empty()).then(|| name.to_string()), email)
        }
        None => (None, s),
    };
    is_email(email).then(|| Address {
        name,
        email: email.to_lowercase(),
    })
}

fn is_bare_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    if is_bare_key(key) {
        path.push_str(key);
    } else {
        path.push_str(&format!("{key:?}"));
    }
}

fn contains(v: &Spanned<DeValue<'_>>, pos: usize) -> bool {
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
fn key_path(value: &DeValue<'_>, pos: usize, path: &mut String) {
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
fn drop_key(value: &mut DeValue<'_>, pos: usize, path: &mut String) -> bool {
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

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// One trailing newline off a secret read from a file.
fn trim_newline(s: String) -> String {
    if let Some(t) = s.strip_suffix("\r\n") {
        t.to_string()
    } else if let Some(t) = s.strip_suffix('\n') {
        t.to_string()
    } else {
        s
    }
}

fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once("error: ") {
        Some((_, m)) => m.trim().to_string(),
        None => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    })
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn valid_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=10).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn valid_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
    dir: PathBuf,
    secrets: SecretCheck,
    env: &'a dyn Environment,
    problems: Vec<Problem>,
    /// Keys already reported (wrong type) and dropped: not "missing" on top.
    dropped: HashSet<String>,
}

impl<'a> Ctx<'a> {
    /// A text file the config names, read through the environment it is validated in.
    fn read_text(&self, p: &Path) -> std::io::Result<String> {
        let bytes = self.env.read(p)?;
        String::from_utf8(bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    fn at(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let (line, col) = line_col(self.text, span.start);
        self.problems.push(Problem {
            path: self.path.to_path_buf(),
            line,
            col,
            key: key.to_string(),
            message: message.into(),
        });
    }

    fn resolve(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }

    /// Deserializes one value; a serde problem (unknown key, wrong type) becomes one problem.
    /// The offending key is then dropped and the value tried again, so every mistake of a
    /// section is reported and the rest of it is still checked.
    fn de<T: for<'de> Deserialize<'de>>(
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

    fn was_dropped(&self, key: &str) -> bool {
        self.dropped.contains(key)
    }

    fn section<T: for<'de> Deserialize<'de>>(
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

    fn array<T: for<'de> Deserialize<'de>>(
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

    fn require<'r>(
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

    fn nonempty(&mut self, v: &Str, key: &str) -> Option<String> {
        let s = v.get_ref().trim();
        if s.is_empty() {
            self.at(v.span(), key, "must not be empty");
            None
        } else {
            Some(s.to_string())
        }
    }

    fn duration(&mut self, v: &Str, key: &str) -> Option<WorkDuration> {
        match v.get_ref().parse::<WorkDuration>() {
            Ok(d) => Some(d),
            Err(e) => {
                self.at(v.span(), key, e.to_string());
                None
            }
        }
    }

    fn timezone(&mut self, v: &Str, key: &str) -> Option<Tz> {
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

    fn email(&mut self, v: &Str, key: &str) -> Option<String> {
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

    fn dates(&mut self, list: &Option<StrList>, key: &str) -> Vec<NaiveDate> {
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

    fn tls(&mut self, v: &Option<Str>, key: &str) -> Option<TlsMode> {
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
    fn server(
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
    fn ca_file(&mut self, v: &Option<Str>, key: &str) -> Option<Option<PathBuf>> {
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

    fn secret_file(&mut self, v: &Str, key: &str) -> Option<Password> {
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

    fn secret_text(&mut self, s: String, v: &Str, key: &str, p: &Path) -> Option<Password> {
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

    fn secret_env(&mut self, v: &Str, key: &str) -> Option<Password> {
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

    fn patterns(&mut self, list: &Option<StrList>, key: &str, lower: bool) -> Vec<Pattern> {
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

/// The sections as deserialized.
#[derive(Default)]
struct Raw {
    service: Option<Spanned<RawService>>,
    imap: Option<Spanned<RawImap>>,
    smtp: Option<Spanned<RawSmtp>>,
    calendar: Option<Spanned<RawCalendar>>,
    deadlines: Option<Spanned<RawDeadlines>>,
    people: Option<Spanned<RawPeople>>,
    executors: Vec<(usize, Spanned<RawExecutor>)>,
    rules: Vec<(usize, Spanned<RawRule>)>,
    escalations: Vec<(usize, Spanned<RawEscalation>)>,
    intake: Option<Spanned<RawIntake>>,
    /// Ids of `[[executors]]` entries that failed to deserialize (so rules naming them are
    /// not reported as undefined on top).
    broken_executor_ids: HashSet<String>,
    /// Sections present in the file (a present section that failed to deserialize has
    /// already been reported and is not "missing").
    present: HashSet<String>,
}

pub(super) fn validate(
    text: &str,
    path: &Path,
    secrets: SecretCheck,
    env: &dyn Environment,
) -> Result<Config, ConfigError> {
    // A byte order mark (Windows editors) is neither TOML nor a column.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut cx = Ctx {
        text,
        path,
        dir,
        secrets,
        env,
        problems: Vec::new(),
        dropped: HashSet::new(),
    };
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            let mut key = String::new();
            key_path(&DeValue::Table(doc.get_ref().clone()), span.start, &mut key);
            cx.at(span, &key, format!("TOML syntax: {}", e.message().trim()));
        }
        return Err(finish(cx.problems));
    }
    let mut raw = Raw::default();
    for (k, v) in doc.get_ref().iter() {
        let name: &str = k.get_ref();
        raw.present.insert(name.to_string());
        match name {
            "service" => raw.service = cx.section(v, name),
            "imap" => raw.imap = cx.section(v, name),
            "smtp" => raw.smtp = cx.section(v, name),
            "calendar" => raw.calendar = cx.section(v, name),
            "deadlines" => raw.deadlines = cx.section(v, name),
            "people" => raw.people = cx.section(v, name),
            "intake" => raw.intake = cx.section(v, name),
            "executors" => {
                raw.executors = cx.array(v, name);
                if let Some(items) = v.get_ref().as_array() {
                    let ok: HashSet<usize> = raw.executors.iter().map(|(i, _)| *i).collect();
                    for (i, item) in items.iter().enumerate() {
                        if ok.contains(&i) {
                            continue;
                        }
                        if let Some(id) = item
                            .get_ref()
                            .as_table()
                            .and_then(|t| t.get("id"))
                            .and_then(|id| id.get_ref().as_str())
                        {
                            raw.broken_executor_ids.insert(id.trim().to_string());
                        }
                    }
                }
            }
            "rules" => raw.rules = cx.array(v, name),
            "escalations" => raw.escalations = cx.array(v, name),
            other => cx.at(
                k.span(),
                other,
                format!("unknown section {other:?}; expected one of {SECTIONS}"),
            ),
        }
    }
    let config = build(&mut cx, raw);
    match config {
        Some(c) if cx.problems.is_empty() => Ok(c),
        _ => {
            if cx.problems.is_empty() {
                cx.at(0..0, "", "invalid configuration");
            }
            Err(finish(cx.problems))
        }
    }
}

fn finish(mut problems: Vec<Problem>) -> ConfigError {
    problems.sort_by_key(|p| (p.line, p.col));
    ConfigError { problems }
}

fn missing_section(cx: &mut Ctx<'_>, present: &HashSet<String>, name: &str) {
    if present.contains(name) {
        return;
    }
    cx.at(0..0, name, format!("missing required section [{name}]"));
}

fn build(cx: &mut Ctx<'_>, raw: Raw) -> Option<Config> {
    let service = service(cx, raw.service);
    let imap = match &raw.imap {
        Some(s) => imap(cx, s),
        None => {
            missing_section(cx, &raw.present, "imap");
            None
        }
    };
    let smtp = match &raw.smtp {
        Some(s) => smtp(cx, s),
        None => {
            missing_section(cx, &raw.present, "smtp");
            None
        }
    };
    let calendar = match &raw.calendar {
        Some(c) => calendar(cx, c),
        None => {
            missing_section(cx, &raw.present, "calendar");
            None
        }
    };
    let deadlines = deadlines(cx, raw.deadlines.as_ref());
    let people = match &raw.people {
        Some(p) => people(cx, p),
        None => {
            missing_section(cx, &raw.present, "people");
            None
        }
    };
    let executors = executors(cx, &raw.executors, &raw.broken_executor_ids);
    let mut known: HashSet<String> = executors.iter().map(|e| e.id.clone()).collect();
    known.extend(raw.broken_executor_ids.iter().cloned());
    let rules = rules(cx, &raw.rules, &known);
    // A [people] that failed to deserialize is already reported: do not guess at it.
    let has_supervisor = match &raw.people {
        Some(p) => p.get_ref().supervisor.is_some() || cx.was_dropped("people.supervisor"),
        None => raw.present.contains("people"),
    };
    let escalations = escalations(cx, &raw.escalations, has_supervisor);
    let zone = calendar.as_ref().map(|c| c.timezone());
    let intake = match &raw.intake {
        Some(i) => intake(cx, i, zone),
        None => {
            missing_section(cx, &raw.present, "intake");
            None
        }
    };
    Some(Config {
        path: cx.path.to_path_buf(),
        service: service?,
        imap: imap?,
        smtp: smtp?,
        calendar: calendar?,
        deadlines: deadlines?,
        people: people?,
        executors,
        rules,
        escalations,
        intake: intake?,
    })
}

fn service(cx: &mut Ctx<'_>, raw: Option<Spanned<RawService>>) -> Option<ServiceConfig> {
    let raw = raw.map(|r| r.into_inner()).unwrap_or_default();
    let state_dir = match &raw.state_dir {
        Some(v) => cx.nonempty(v, "service.state_dir").map(|s| cx.resolve(&s)),
        None => Some(PathBuf::from("/var/lib/otklik")),
    };
    let case_prefix = match &raw.case_prefix {
        Some(v) if valid_prefix(v.get_ref()) => Some(v.get_ref().clone()),
        Some(v) => {
            cx.at(
                v.span(),
                "service.case_prefix",
                format!(
                    "{:?} is not a case prefix: expected a capital latin letter and 1 to 9 more \
                     capital letters or digits, such as OTK",
                    v.get_ref()
                ),
            );
            None
        }
        None => Some("OTK".to_string()),
    };
    let language = match &raw.language {
        None => Some(Language::Ru),
        Some(v) => match v.get_ref().trim().to_ascii_lowercase().as_str() {
            "ru" => Some(Language::Ru),
            "en" => Some(Language::En),
            other => {
                cx.at(
                    v.span(),
                    "service.language",
                    format!("unknown language {other:?}: expected ru or en"),
                );
                None
            }
        },
    };
    let digest_at = match &raw.digest_at {
        None => Some(None),
        Some(v) => match NaiveTime::parse_from_str(v.get_ref().trim(), "%H:%M") {
            Ok(t) => Some(Some(t)),
            Err(_) => {
                cx.at(
                    v.span(),
                    "service.digest_at",
                    format!("invalid time {:?}: expected HH:MM", v.get_ref()),
                );
                None
            }
        },
    };
    let max_absence = match &raw.max_absence {
        None => Some(chrono::Duration::days(90)),
        Some(v) => match cx.duration(v, "service.max_absence")? {
            WorkDuration::Days(n) if n > 0 => Some(chrono::Duration::days(i64::from(n))),
            _ => {
                cx.at(
                    v.span(),
                    "service.max_absence",
                    "must be calendar days, such as 90d",
                );
                None
            }
        },
    };
    let retention = match &raw.retention {
        None => Some(chrono::Duration::days(400)),
        Some(v) => match cx.duration(v, "service.retention")? {
            WorkDuration::Days(n) if n >= 1 => match chrono::Duration::try_days(i64::from(n)) {
                Some(d) => Some(d),
                None => {
                    cx.at(v.span(), "service.retention", "is too long");
                    None
                }
            },
            _ => {
                cx.at(
                    v.span(),
                    "service.retention",
                    "must be at least one calendar day, in days, such as 400d",
                );
                None
            }
        },
    };
    let monthly_report = raw.monthly_report.as_ref().is_none_or(|v| *v.get_ref());
    Some(ServiceConfig {
        monthly_report,
        max_absence: max_absence?,
        state_dir: state_dir?,
        case_prefix: case_prefix?,
        language: language?,
        digest_at: digest_at?,
        retention: retention?,
    })
}

fn mailbox(cx: &mut Ctx<'_>, v: &Option<Str>, key: &str, default: &str) -> Option<String> {
    match v {
        Some(v) => cx.nonempty(v, key),
        None => Some(default.to_string()),
    }
}

fn imap(cx: &mut Ctx<'_>, s: &Spanned<RawImap>) -> Option<ImapConfig> {
    let table = s.span();
    let r = s.get_ref();
    let (host, tls, port) = cx.server("imap", &table, &r.host, &r.tls, &r.port, |m| match m {
        TlsMode::Implicit => 993,
        _ => 143,
    });
    let username = cx
        .require(&r.username, &table, "imap.username")
        .and_then(|u| cx.nonempty(u, "imap.username"));
    let password = match (&r.password_file, &r.password_env) {
        (Some(f), None) => cx.secret_file(f, "imap.password_file"),
        (None, Some(e)) => cx.secret_env(e, "imap.password_env"),
        (Some(_), Some(e)) => {
            cx.at(
                e.span(),
                "imap.password_env",
                "give either password_file or password_env, not both",
            );
            None
        }
        (None, None)
            if cx.was_dropped("imap.password_file") || cx.was_dropped("imap.password_env") =>
        {
            None
        }
        (None, None) => {
            cx.at(
                table.clone(),
                "imap.password_file",
                "missing password: give password_file or password_env",
            );
            None
        }
    };
    let mailbox_ = mailbox(cx, &r.mailbox, "imap.mailbox", "INBOX");
    let processed = mailbox(
        cx,
        &r.processed_mailbox,
        "imap.processed_mailbox",
        "otklik/processed",
    );
    let rejected = mailbox(
        cx,
        &r.rejected_mailbox,
        "imap.rejected_mailbox",
        "otklik/rejected",
    );
    let poll_seconds = match &r.poll_seconds {
        None => Some(60),
        Some(p) if *p.get_ref() > 0 => u64::try_from(*p.get_ref()).ok(),
        Some(p) => {
            cx.at(
                p.span(),
                "imap.poll_seconds",
                format!("must be at least 1, not {}", p.get_ref()),
            );
            None
        }
    };
    let max_message_size = match &r.max_message_size {
        None => Some(super::DEFAULT_MAX_MESSAGE_SIZE),
        Some(m) => match parse_size(m.get_ref()) {
            Some(n) if n > 0 => Some(n),
            _ => {
                cx.at(
                    m.span(),
                    "imap.max_message_size",
                    "expected a size above zero, such as \"25MB\", \"500KB\" or a number of bytes",
                );
                None
            }
        },
    };
    let ca_file = cx.ca_file(&r.ca_file, "imap.ca_file");
    Some(ImapConfig {
        ca_file: ca_file?,
        host: host?,
        port: port?,
        tls: tls?,
        username: username?,
        password: password?,
        mailbox: mailbox_?,
        processed_mailbox: processed?,
        rejected_mailbox: rejected?,
        poll_seconds: poll_seconds?,
        max_message_size: max_message_size?,
    })
}

fn smtp(cx: &mut Ctx<'_>, s: &Spanned<RawSmtp>) -> Option<SmtpConfig> {
    let table = s.span();
    let r = s.get_ref();
    let (host, tls, port) = cx.server("smtp", &table, &r.host, &r.tls, &r.port, |m| match m {
        TlsMode::Implicit => 465,
        TlsMode::Starttls => 587,
        TlsMode::None => 25,
    });
    let username = match &r.username {
        Some(u) => cx.nonempty(u, "smtp.username").map(Some),
        None => Some(None),
    };
    let password = match (&r.password_file, &r.password_env) {
        (Some(f), None) => cx.secret_file(f, "smtp.password_file").map(Some),
        (None, Some(e)) => cx.secret_env(e, "smtp.password_env").map(Some),
        (Some(_), Some(e)) => {
            cx.at(
                e.span(),
                "smtp.password_env",
                "give either password_file or password_env, not both",
            );
            None
        }
        (None, None) => Some(None),
    };
    let has_password = r.password_file.is_some() || r.password_env.is_some();
    match (&r.username, has_password) {
        (Some(u), false) => cx.at(
            u.span(),
            "smtp.username",
            "a username needs password_file or password_env (omit all three for a relay \
             without SMTP AUTH)",
        ),
        (None, true) => {
            let span = r
                .password_file
                .as_ref()
                .or(r.password_env.as_ref())
                .map(|v| v.span())
                .unwrap_or(table.clone());
            cx.at(span, "smtp.username", "a password needs a username");
        }
        _ => {}
    }
    let from = cx.require(&r.from, &table, "smtp.from").and_then(|f| {
        let a = parse_address(f.get_ref());
        if a.is_none() {
            cx.at(
                f.span(),
                "smtp.from",
                format!(
                    "{:?} is not an address: expected name@domain or Name <name@domain>",
                    f.get_ref()
                ),
            );
        }
        a
    });
    let ok_pair = r.username.is_some() == has_password;
    let ca_file = cx.ca_file(&r.ca_file, "smtp.ca_file");
    Some(SmtpConfig {
        ca_file: ca_file?,
        host: host?,
        port: port?,
        tls: tls?,
        username: username.filter(|_| ok_pair)?,
        password: password?,
        from: from?,
    })
}

fn calendar(cx: &mut Ctx<'_>, s: &Spanned<RawCalendar>) -> Option<Calendar> {
    let table = s.span();
    let r = s.get_ref();
    let before = cx.problems.len();
    let timezone = cx
        .require(&r.timezone, &table, "calendar.timezone")
        .and_then(|t| cx.timezone(t, "calendar.timezone"));
    let preset = match &r.preset {
        None => None,
        Some(v) => match v.get_ref().trim().to_ascii_lowercase().as_str() {
            "ru" => Some(Preset::Ru),
            "none" | "" => None,
            other => {
                cx.at(
                    v.span(),
                    "calendar.preset",
                    format!("unknown preset {other:?}: expected ru or none"),
                );
                None
            }
        },
    };
    let workdays = match &r.workdays {
        None => vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ],
        Some(list) => {
            let mut out = Vec::new();
            for (i, d) in list.get_ref().iter().enumerate() {
                let key = format!("calendar.workdays[{i}]");
                match parse_weekday(d.get_ref()) {
                    Some(w) if out.contains(&w) => {
                        cx.at(d.span(), &key, format!("{:?} is listed twice", d.get_ref()))
                    }
                    Some(w) => out.push(w),
                    None => cx.at(
                        d.span(),
                        &key,
                        format!(
                            "unknown weekday {:?}: expected mon, tue, wed, thu, fri, sat or sun",
                            d.get_ref()
                        ),
                    ),
                }
            }
            if list.get_ref().is_empty() {
                cx.at(list.span(), "calendar.workdays", "no working days at all");
            }
            out
        }
    };
    let hours = match &r.hours {
        None => vec![
            DayInterval {
                start_min: 8 * 60,
                end_min: 12 * 60,
            },
            DayInterval {
                start_min: 13 * 60,
                end_min: 17 * 60,
            },
        ],
        Some(list) => {
            let mut out: Vec<DayInterval> = Vec::new();
            for (i, h) in list.get_ref().iter().enumerate() {
                let key = format!("calendar.hours[{i}]");
                match h.get_ref().parse::<DayInterval>() {
                    Ok(iv) => {
                        if let Some(prev) = out.last()
                            && iv.start_min < prev.end_min
                        {
                            cx.at(
                                h.span(),
                                &key,
                                format!(
                                    "{:?} overlaps or comes before the previous interval: \
                                         list hours in order, without overlaps",
                                    h.get_ref()
                                ),
                            );
                            continue;
                        }
                        out.push(iv);
                    }
                    Err(e) => cx.at(h.span(), &key, e.to_string()),
                }
            }
            if list.get_ref().is_empty() {
                cx.at(list.span(), "calendar.hours", "no working hours at all");
            }
            out
        }
    };
    let holidays = cx.dates(&r.holidays, "calendar.holidays");
    let working_days = cx.dates(&r.working_days, "calendar.working_days");
    let shortened_days = cx.dates(&r.shortened_days, "calendar.shortened_days");
    let timezone = timezone?;
    if cx.problems.len() != before {
        return None;
    }
    let spec = CalendarSpec {
        timezone,
        preset,
        workdays,
        hours,
        holidays,
        working_days,
        shortened_days,
    };
    match Calendar::new(spec) {
        Ok(c) => Some(c),
        Err(e) => {
            cx.at(table, "calendar", e.to_string());
            None
        }
    }
}

const DEFAULT_SET: DeadlineSet = DeadlineSet {
    answer: WorkDuration::Seconds(9 * 3600),
    draft_before_answer: WorkDuration::Seconds(4 * 3600),
    rework: WorkDuration::Seconds(3600),
    final_after_interim: WorkDuration::Days(7),
};

/// Fills a set from its keys, the missing ones from `base`, and checks it.
fn deadline_set(
    cx: &mut Ctx<'_>,
    prefix: &str,
    table: Range<usize>,
    keys: [&Option<Str>; 4],
    base: DeadlineSet,
) -> Option<DeadlineSet> {
    let [answer, draft, rework, fin] = keys;
    let mut ok = true;
    let mut get = |cx: &mut Ctx<'_>, v: &Option<Str>, name: &str, dflt: WorkDuration| match v {
        None => dflt,
        Some(v) => cx.duration(v, &join(prefix, name)).unwrap_or_else(|| {
            ok = false;
            dflt
        }),
    };
    let set = DeadlineSet {
        answer: get(cx, answer, "answer", base.answer),
        draft_before_answer: get(cx, draft, "draft_before_answer", base.draft_before_answer),
        rework: get(cx, rework, "rework", base.rework),
        final_after_interim: get(cx, fin, "final_after_interim", base.final_after_interim),
    };
    if !ok {
        return None;
    }
    let span_of = |v: &Option<Str>| v.as_ref().map(|s| s.span()).unwrap_or(table.clone());
    let zero = |d: WorkDuration| matches!(d, WorkDuration::Seconds(0) | WorkDuration::Days(0));
    for (d, v, name) in [
        (set.answer, answer, "answer"),
        (set.rework, rework, "rework"),
        (set.final_after_interim, fin, "final_after_interim"),
    ] {
        if zero(d) {
            cx.at(span_of(v), &join(prefix, name), "must be more than zero");
            ok = false;
        }
    }
    match (set.answer, set.draft_before_answer) {
        _ if !ok => {}
        (_, WorkDuration::Days(_)) => {
            cx.at(
                span_of(draft),
                &join(prefix, "draft_before_answer"),
                "must be working hours, minutes or seconds (such as 4h), not days",
            );
            ok = false;
        }
        (WorkDuration::Seconds(a), WorkDuration::Seconds(d)) if d >= a => {
            let (v, name) = if draft.is_some() {
                (draft, "draft_before_answer")
            } else {
                (answer, "answer")
            };
            cx.at(
                span_of(v),
                &join(prefix, name),
                format!(
                    "draft_before_answer ({}) must be shorter than answer ({}): it would leave \
                     no time for the draft",
                    set.draft_before_answer, set.answer
                ),
            );
            ok = false;
        }
        _ => {}
    }
    ok.then_some(set)
}

fn deadlines(cx: &mut Ctx<'_>, s: Option<&Spanned<RawDeadlines>>) -> Option<Deadlines> {
    let Some(s) = s else {
        return Some(Deadlines {
            default: DEFAULT_SET,
            categories: Vec::new(),
        });
    };
    let r = s.get_ref();
    let default = deadline_set(
        cx,
        "deadlines",
        s.span(),
        [
            &r.answer,
            &r.draft_before_answer,
            &r.rework,
            &r.final_after_interim,
        ],
        DEFAULT_SET,
    );
    let mut categories: Vec<(String, DeadlineSet)> = Vec::new();
    let mut ok = true;
    let empty = BTreeMap::new();
    for (name, set) in r.categories.as_ref().unwrap_or(&empty) {
        let mut prefix = "deadlines.categories".to_string();
        push_key(&mut prefix, name.get_ref());
        let lower = name.get_ref().trim().to_lowercase();
        if lower.is_empty() {
            cx.at(name.span(), &prefix, "empty category name");
            ok = false;
            continue;
        }
        if categories.iter().any(|(n, _)| *n == lower) {
            cx.at(
                name.span(),
                &prefix,
                "category given twice (names are matched case-insensitively)",
            );
            ok = false;
            continue;
        }
        let got = deadline_set(
            cx,
            &prefix,
            name.span(),
            [
                &set.answer,
                &set.draft_before_answer,
                &set.rework,
                &set.final_after_interim,
            ],
            default.unwrap_or(DEFAULT_SET),
        );
        match got {
            Some(g) => categories.push((lower, g)),
            None => ok = false,
        }
    }
    Some(Deadlines {
        default: default?,
        categories: ok.then_some(categories)?,
    })
}

fn person(cx: &mut Ctx<'_>, p: &Spanned<RawPerson>, key: &str) -> Option<Person> {
    let table = p.span();
    let r = p.get_ref();
    let name = cx
        .require(&r.name, &table, &join(key, "name"))
        .and_then(|n| cx.nonempty(n, &join(key, "name")));
    let email = cx
        .require(&r.email, &table, &join(key, "email"))
        .and_then(|e| cx.email(e, &join(key, "email")));
    Some(Person {
        name: name?,
        email: email?,
        position: person_position(r),
        new_cases: person_new_cases(cx, r, key),
    })
}

/// `people.*.position`: free text, empty when absent.
fn person_position(r: &RawPerson) -> String {
    r.position
        .as_ref()
        .map(|p| p.get_ref().trim().to_string())
        .unwrap_or_default()
}

/// `people.coordinator.new_cases` (default true); only the coordinator gets those notices.
fn person_new_cases(cx: &mut Ctx<'_>, r: &RawPerson, key: &str) -> bool {
    match &r.new_cases {
        None => true,
        Some(v) if key == "people.coordinator" => *v.get_ref(),
        Some(v) => {
            cx.at(
                v.span(),
                &join(key, "new_cases"),
                "only the coordinator gets a notice per new case (people.coordinator.new_cases)",
            );
            true
        }
    }
}

fn people(cx: &mut Ctx<'_>, s: &Spanned<RawPeople>) -> Option<People> {
    let r = s.get_ref();
    let coordinator = match &r.coordinator {
        Some(c) => person(cx, c, "people.coordinator"),
        None if cx.was_dropped("people.coordinator") => None,
        None => {
            cx.at(s.span(), "people.coordinator", "missing required key");
            None
        }
    };
    let supervisor = match &r.supervisor {
        Some(p) => person(cx, p, "people.supervisor").map(Some),
        None => Some(None),
    };
    let publisher = match &r.publisher {
        Some(p) => cx.email(p, "people.publisher").map(Some),
        None => Some(None),
    };
    Some(People {
        coordinator: coordinator?,
        supervisor: supervisor?,
        publisher: publisher?,
    })
}

fn absent_range(s: &str) -> Option<(NaiveDate, NaiveDate)> {
    match s.split_once("..") {
        Some((a, b)) => Some((parse_date(a)?, parse_date(b)?)),
        None => parse_date(s).map(|d| (d, d)),
    }
}

fn executors(
    cx: &mut Ctx<'_>,
    raw: &[(usize, Spanned<RawExecutor>)],
    broken: &HashSet<String>,
) -> Vec<Executor> {
    let mut out = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut emails: HashMap<String, usize> = HashMap::new();
    for (i, e) in raw {
        let p = format!("executors[{i}]");
        let table = e.span();
        let r = e.get_ref();
        let id = cx.require(&r.id, &table, &join(&p, "id")).and_then(|v| {
            let id = v.get_ref().trim();
            if !valid_id(id) {
                cx.at(
                    v.span(),
                    &join(&p, "id"),
                    format!(
                        "{id:?} is not an id: use lower-case latin letters, digits, - and _ \
                         (such as housing)"
                    ),
                );
                return None;
            }
            if let Some(first) = ids.get(id) {
                cx.at(
                    v.span(),
                    &join(&p, "id"),
                    format!("id {id:?} is already used by executors[{first}]"),
                );
                return None;
            }
            ids.insert(id.to_string(), *i);
            Some(id.to_string())
        });
        let name = cx
            .require(&r.name, &table, &join(&p, "name"))
            .and_then(|n| cx.nonempty(n, &join(&p, "name")));
        let position = r
            .position
            .as_ref()
            .map(|s| s.get_ref().trim().to_string())
            .unwrap_or_default();
        let email = cx
            .require(&r.email, &table, &join(&p, "email"))
            .and_then(|v| {
                let email = cx.email(v, &join(&p, "email"))?;
                if let Some(first) = emails.get(&email) {
                    cx.at(
                        v.span(),
                        &join(&p, "email"),
                        format!("address {email} is already used by executors[{first}]"),
                    );
                    return None;
                }
                emails.insert(email.clone(), *i);
                Some(email)
            });
        let mut absent = Vec::new();
        for (j, a) in r.absent.iter().flat_map(|l| l.get_ref().iter().enumerate()) {
            let key = format!("{p}.absent[{j}]");
            match absent_range(a.get_ref()) {
                Some((from, to)) if from <= to => absent.push((from, to)),
                Some(_) => cx.at(
                    a.span(),
                    &key,
                    format!("range {:?} ends before it starts", a.get_ref()),
                ),
                None => cx.at(
                    a.span(),
                    &key,
                    format!(
                        "invalid date range {:?}: expected YYYY-MM-DD..YYYY-MM-DD (inclusive)",
                        a.get_ref()
                    ),
                ),
            }
        }
        if let (Some(id), Some(name), Some(email)) = (id, name, email) {
            out.push(Executor {
                id,
                name,
                position,
                email,
                deputy: r.deputy.as_ref().map(|d| d.get_ref().trim().to_string()),
                absent,
            });
        }
    }
    // Deputies, once every id is known.
    for (i, e) in raw {
        let Some(d) = &e.get_ref().deputy else {
            continue;
        };
        let key = format!("executors[{i}].deputy");
        let deputy = d.get_ref().trim();
        let own = e.get_ref().id.as_ref().map(|v| v.get_ref().trim());
        if own == Some(deputy) {
            cx.at(d.span(), &key, "an executor cannot be their own deputy");
        } else if !ids.contains_key(deputy) && !broken.contains(deputy) {
            cx.at(d.span(), &key, format!("no executor has id {deputy:?}"));
        }
    }
    out
}

fn rules(
    cx: &mut Ctx<'_>,
    raw: &[(usize, Spanned<RawRule>)],
    known: &HashSet<String>,
) -> Vec<Rule> {
    let mut out = Vec::new();
    for (i, rule) in raw {
        let p = format!("rules[{i}]");
        let r = rule.get_ref();
        let name = match &r.name {
            Some(n) => n.get_ref().trim().to_string(),
            None => format!("rule {}", i + 1),
        };
        let topic = cx.patterns(&r.topic, &join(&p, "topic"), false);
        let location = cx.patterns(&r.location, &join(&p, "location"), false);
        let category = cx.patterns(&r.category, &join(&p, "category"), false);
        let mut text = Vec::new();
        for (j, t) in r.text.iter().flat_map(|l| l.get_ref().iter().enumerate()) {
            match regex::Regex::new(t.get_ref()) {
                Ok(re) => text.push(re),
                Err(e) => cx.at(
                    t.span(),
                    &format!("{p}.text[{j}]"),
                    format!("invalid regular expression: {}", regex_message(&e)),
                ),
            }
        }
        let executor = cx
            .require(&r.executor, &rule.span(), &join(&p, "executor"))
            .and_then(|v| {
                let id = v.get_ref().trim();
                if known.contains(id) {
                    Some(id.to_string())
                } else {
                    cx.at(
                        v.span(),
                        &join(&p, "executor"),
                        format!("no executor has id {id:?}"),
                    );
                    None
                }
            });
        if let Some(executor) = executor {
            out.push(Rule {
                name,
                topic,
                location,
                category,
                text,
                executor,
            });
        }
    }
    out
}

fn escalations(
    cx: &mut Ctx<'_>,
    raw: &[(usize, Spanned<RawEscalation>)],
    has_supervisor: bool,
) -> Vec<Escalation> {
    let mut out = Vec::new();
    for (i, esc) in raw {
        let p = format!("escalations[{i}]");
        let table = esc.span();
        let r = esc.get_ref();
        let deadline = cx
            .require(&r.deadline, &table, &join(&p, "deadline"))
            .and_then(|v| match v.get_ref().trim().to_ascii_lowercase().as_str() {
                "draft" => Some(DeadlineKind::Draft),
                "answer" => Some(DeadlineKind::Answer),
                "rework" => Some(DeadlineKind::Rework),
                "final" => Some(DeadlineKind::Final),
                other => {
                    cx.at(
                        v.span(),
                        &join(&p, "deadline"),
                        format!(
                            "unknown deadline {other:?}: expected draft, answer, rework or final"
                        ),
                    );
                    None
                }
            });
        let at = cx
            .require(&r.at, &table, &join(&p, "at"))
            .and_then(|v| match v.get_ref().parse::<Offset>() {
                Ok(o) if o.negative && matches!(o.amount, WorkDuration::Days(_)) => {
                    cx.at(
                        v.span(),
                        &join(&p, "at"),
                        "an offset before the deadline must be in hours, minutes or seconds, not days",
                    );
                    None
                }
                Ok(o) => Some(o),
                Err(e) => {
                    cx.at(v.span(), &join(&p, "at"), e.to_string());
                    None
                }
            });
        let mut notify = Vec::new();
        let mut ok = true;
        match &r.notify {
            None if cx.was_dropped(&join(&p, "notify")) => ok = false,
            None => {
                cx.at(table.clone(), &join(&p, "notify"), "missing required key");
                ok = false;
            }
            Some(list) if list.get_ref().is_empty() => {
                cx.at(list.span(), &join(&p, "notify"), "nobody to notify");
                ok = false;
            }
            Some(list) => {
                for (j, n) in list.get_ref().iter().enumerate() {
                    let key = format!("{p}.notify[{j}]");
                    let s = n.get_ref().trim();
                    let target = match s.to_lowercase().as_str() {
                        "executor" => NotifyTarget::Executor,
                        "coordinator" => NotifyTarget::Coordinator,
                        "supervisor" if has_supervisor => NotifyTarget::Supervisor,
                        "supervisor" => {
                            cx.at(
                                n.span(),
                                &key,
                                "no supervisor is set in [people]: add people.supervisor",
                            );
                            ok = false;
                            continue;
                        }
                        _ if is_email(s) => NotifyTarget::Email(s.to_lowercase()),
                        _ => {
                            cx.at(
                                n.span(),
                                &key,
                                format!(
                                    "{s:?} is neither a role (executor, coordinator, supervisor) \
                                     nor an email address"
                                ),
                            );
                            ok = false;
                            continue;
                        }
                    };
                    if !notify.contains(&target) {
                        notify.push(target);
                    }
                }
            }
        }
        if let (Some(deadline), Some(at), true) = (deadline, at, ok) {
            out.push(Escalation {
                deadline,
                at,
                notify,
            });
        }
    }
    out
}

fn intake(cx: &mut Ctx<'_>, s: &Spanned<RawIntake>, zone: Option<Tz>) -> Option<IntakeConfig> {
    let table = s.span();
    let r = s.get_ref();
    let senders = match &r.senders {
        None if cx.was_dropped("intake.senders") => None,
        None => {
            cx.at(
                table.clone(),
                "intake.senders",
                "missing required key: list who may open cases, such as [\"*@monitoring.example\"]",
            );
            None
        }
        Some(list) if list.get_ref().is_empty() => {
            cx.at(
                list.span(),
                "intake.senders",
                "empty: nobody could open cases; list the monitoring system's addresses",
            );
            None
        }
        Some(_) => Some(cx.patterns(&r.senders, "intake.senders", true)),
    };
    let lexicon = match &r.exclude_words_file {
        None => Some(Lexicon::parse("").unwrap_or_default()),
        Some(v) => {
            let p = cx.resolve(v.get_ref().trim());
            match cx.read_text(&p) {
                Ok(text) => match Lexicon::parse(&text) {
                    Ok(l) => Some(l),
                    Err(e) => {
                        cx.at(
                            v.span(),
                            "intake.exclude_words_file",
                            format!("{}:{}: {}", p.display(), e.line, e.message),
                        );
                        None
                    }
                },
                Err(e) => {
                    cx.at(
                        v.span(),
                        "intake.exclude_words_file",
                        format!("cannot read {}: {e}", p.display()),
                    );
                    None
                }
            }
        }
    };
    let repeat_window = match &r.repeat_window {
        None => Some(chrono::Duration::days(30)),
        Some(v) => match cx.duration(v, "intake.repeat_window")? {
            WorkDuration::Days(n) => Some(chrono::Duration::days(i64::from(n))),
            WorkDuration::Seconds(_) => {
                cx.at(
                    v.span(),
                    "intake.repeat_window",
                    "must be calendar days, such as 30d",
                );
                None
            }
        },
    };
    let source_timezone = match &r.source_timezone {
        Some(v) => cx.timezone(v, "intake.source_timezone"),
        None => zone,
    };
    let mut labels = Labels::builtin();
    let mut labels_ok = true;
    for (key, list) in r.labels.iter().flatten() {
        let mut k = "intake.labels".to_string();
        push_key(&mut k, key.get_ref());
        let Some(field) = Field::from_key(key.get_ref().trim()) else {
            cx.at(
                key.span(),
                &k,
                format!(
                    "{:?} is not a field: expected source_id, topic, location, category, source, \
                     link, author, detected_at, text or repeat",
                    key.get_ref()
                ),
            );
            labels_ok = false;
            continue;
        };
        for (j, label) in list.get_ref().iter().enumerate() {
            let l = label.get_ref().trim();
            if l.is_empty() {
                cx.at(label.span(), &format!("{k}[{j}]"), "empty label");
                labels_ok = false;
            } else {
                labels.add(field, l);
            }
        }
    }
    Some(IntakeConfig {
        senders: senders?,
        lexicon: lexicon?,
        repeat_window: repeat_window?,
        source_timezone: source_timezone?,
        labels: labels_ok.then_some(labels)?,
    })
}

/// `"25MB"`, `"500 KB"`, `"1GB"`, `"1024"` or a number: bytes (K, M, G are powers of 1024).
fn parse_size(v: &RawSize) -> Option<u64> {
    let text = match v {
        RawSize::Bytes(n) => return u64::try_from(*n).ok(),
        RawSize::Text(t) => t.trim().to_ascii_uppercase(),
    };
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let factor: u64 = match unit.trim().trim_end_matches("IB").trim_end_matches('B') {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(factor)
}
