//! Mailbox names: the server's personal namespace and separator (NAMESPACE, RFC 2342), modified UTF-7 (RFC 3501 5.1.3), and creating the processed and rejected mailboxes.

use std::collections::HashSet;
use std::io;

use futures::TryStreamExt;
use tokio::io::AsyncRead;
use tokio::time::timeout;

use otklik_core::config::ImapConfig;

use super::stream::{ImapSession, ServerCaps, step};
use super::{MailboxError, STEP_TIMEOUT};

/// The server-side names of the mailboxes the watcher uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxNames {
    /// Where new mail arrives.
    pub intake: String,
    /// Where handled mail goes.
    pub processed: String,
    /// Where rejected mail goes.
    pub rejected: String,
    /// Where they were built.
    pub namespace: Namespace,
}

/// The server's personal namespace (RFC 2342): where the account's own mailboxes live.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Namespace {
    /// What every mailbox name but INBOX starts with, as the server spells it: `""` on most
    /// servers, `INBOX.` on Courier and older Cyrus.
    pub prefix: String,
    /// The hierarchy separator: `.`, `/`, `|` (Yandex)…; None: a flat namespace.
    pub separator: Option<String>,
}

/// `processed/sub` with `/` replaced by the server's separator (`.` for Dovecot's Maildir).
/// Without a separator (flat namespace) the name is kept as written.
pub fn server_mailbox_name(name: &str, separator: Option<&str>) -> String {
    match separator {
        Some(sep) if !sep.is_empty() && sep != "/" => name.split('/').collect::<Vec<_>>().join(sep),
        _ => name.to_string(),
    }
}

/// A mailbox name in IMAP's modified UTF-7 (RFC 3501 §5.1.3), as servers without
/// UTF8=ACCEPT expect it: `otklik/обработано` → `otklik/&BD4EMQRABDAEMQQ+BEIEMAQ9BD4-`.
pub fn encode_mailbox_name(name: &str) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    fn flush(units: &mut Vec<u16>, out: &mut String) {
        if units.is_empty() {
            return;
        }
        let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1; // 1 byte → 2 chars, 2 → 3, 3 → 4; no padding
            for i in 0..chars {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            }
        }
        out.push('-');
        units.clear();
    }
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// A configured mailbox name (`/` between levels) as the server calls it in `ns`: levels
/// joined with its separator, modified UTF-7, under its personal prefix. A name that already
/// starts with the prefix (`INBOX/otklik/processed` on Courier) and INBOX itself are not
/// prefixed again. `otklik/processed` → `otklik.processed` (Dovecot), `INBOX.otklik.processed`
/// (Courier), `otklik|processed` (Yandex).
pub fn server_mailbox(configured: &str, ns: &Namespace) -> String {
    if configured.eq_ignore_ascii_case("INBOX") {
        return "INBOX".to_string();
    }
    let name = encode_mailbox_name(&server_mailbox_name(configured, ns.separator.as_deref()));
    let prefix = ns.prefix.as_str();
    match name.get(..prefix.len()) {
        _ if prefix.is_empty() => name,
        Some(head) if head == prefix => name,
        // INBOX is case-insensitive (RFC 3501 §5.1): `inbox.x` under `INBOX.`
        Some(head)
            if head.eq_ignore_ascii_case(prefix)
                && prefix
                    .get(..5)
                    .is_some_and(|p| p.eq_ignore_ascii_case("INBOX")) =>
        {
            format!("{prefix}{}", &name[prefix.len()..])
        }
        _ => format!("{prefix}{name}"),
    }
}

/// The mailboxes to create for `name` (from [`server_mailbox`]), outermost first, itself
/// last: its parents below the namespace prefix (`INBOX.a.b` under `INBOX.`: `INBOX.a`,
/// `INBOX.a.b`; the prefix is the server's, never created).
pub fn mailboxes_to_create(name: &str, ns: &Namespace) -> Vec<String> {
    let mut all: Vec<String> = parent_mailboxes(name, ns.separator.as_deref())
        .into_iter()
        .filter(|p| p.len() > ns.prefix.len())
        .collect();
    all.push(name.to_string());
    all
}

/// The parents of a hierarchical name, outermost first: `a.b.c` → `a`, `a.b`.
pub fn parent_mailboxes(name: &str, separator: Option<&str>) -> Vec<String> {
    let Some(sep) = separator.filter(|s| !s.is_empty()) else {
        return Vec::new();
    };
    let parts: Vec<&str> = name.split(sep).collect();
    (1..parts.len())
        .map(|n| parts[..n].join(sep))
        .filter(|p| !p.is_empty())
        .collect()
}

/// Reads the personal namespace: from NAMESPACE where the server has it, else only the
/// separator, from `LIST "" ""` (RFC 3501 §6.3.8), with no prefix.
pub async fn namespace(
    session: &mut ImapSession,
    caps: ServerCaps,
) -> Result<Namespace, MailboxError> {
    if caps.namespace {
        if let Some(ns) = read_namespace(session).await? {
            return Ok(ns);
        }
        tracing::warn!("imap: no usable NAMESPACE answer; taking the separator from LIST");
    }
    let names: Vec<_> = step("LIST separator", STEP_TIMEOUT, async {
        session
            .list(Some(""), Some("\"\""))
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    Ok(Namespace {
        prefix: String::new(),
        separator: names.iter().find_map(|n| n.delimiter().map(str::to_string)),
    })
}

/// The tag of our NAMESPACE command; async-imap's own tags are `A` and a number.
pub(super) const NAMESPACE_TAG: &str = "otklikns";

/// Bound on the NAMESPACE exchange (a real one is a few hundred bytes).
pub(super) const NAMESPACE_MAX: usize = 64 * 1024;

/// `NAMESPACE` (RFC 2342), exchanged on the raw stream: imap-proto, async-imap's parser,
/// has no grammar for the `* NAMESPACE` answer, and an answer it cannot parse stays stuck in
/// its buffer for good. This runs right after LOGIN/CAPABILITY (nothing is selected, so
/// nothing unsolicited is due), reads byte by byte up to and including our tagged line, and
/// so leaves the stream exactly where async-imap expects it. None: the server refused it,
/// or its personal namespace could not be read.
pub(super) async fn read_namespace(
    session: &mut ImapSession,
) -> Result<Option<Namespace>, MailboxError> {
    use tokio::io::AsyncWriteExt;
    let io_err = |e: io::Error| MailboxError::Imap {
        step: "NAMESPACE",
        source: async_imap::error::Error::Io(e),
    };
    let exchange = async {
        let stream = session.get_mut();
        stream
            .write_all(format!("{NAMESPACE_TAG} NAMESPACE\r\n").as_bytes())
            .await
            .map_err(io_err)?;
        stream.flush().await.map_err(io_err)?;
        let mut budget = NAMESPACE_MAX;
        let mut found = None;
        loop {
            let line = read_line(stream, &mut budget).await.map_err(io_err)?;
            if let Some(rest) =
                strip_prefix_ci(&line, NAMESPACE_TAG.as_bytes()).and_then(|r| r.strip_prefix(b" "))
            {
                let ok = strip_prefix_ci(rest, b"OK").is_some();
                if !ok {
                    tracing::debug!(answer = %String::from_utf8_lossy(rest).trim_end(), "imap: NAMESPACE refused");
                }
                return Ok(if ok { found } else { None });
            }
            if let Some(rest) = strip_prefix_ci(&line, b"* NAMESPACE ") {
                found = parse_namespace(rest);
            }
        }
    };
    match timeout(STEP_TIMEOUT, exchange).await {
        Err(_) => Err(MailboxError::Timeout {
            step: "NAMESPACE",
            after: STEP_TIMEOUT,
        }),
        Ok(r) => r,
    }
}

pub(super) fn strip_prefix_ci<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    s.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &s[prefix.len()..])
}

/// One server response line with its literals (`{n}` CRLF and n bytes) inlined, CRLF
/// included; never reads past it. Fails past `budget` bytes in all.
pub(super) async fn read_line<R: AsyncRead + Unpin>(
    stream: &mut R,
    budget: &mut usize,
) -> io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut line = Vec::new();
    loop {
        if *budget == 0 {
            return Err(io::Error::other("NAMESPACE answer too long"));
        }
        let byte = stream.read_u8().await?;
        *budget -= 1;
        line.push(byte);
        if !line.ends_with(b"\r\n") {
            continue;
        }
        let Some(n) = literal_len(&line[..line.len() - 2]) else {
            return Ok(line);
        };
        if n > *budget {
            return Err(io::Error::other("NAMESPACE answer too long"));
        }
        let start = line.len();
        line.resize(start + n, 0);
        stream.read_exact(&mut line[start..]).await?;
        *budget -= n;
    }
}

/// `n` if `text` ends with a literal's announcement `{n}` (or `{n+}`).
pub(super) fn literal_len(text: &[u8]) -> Option<usize> {
    let body = text.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// An IMAP value as far as NAMESPACE needs it.
#[derive(Debug, PartialEq)]
pub(super) enum Value {
    Nil,
    /// Quoted or literal.
    Str(Vec<u8>),
    Atom,
    List(Vec<Value>),
}

/// The personal namespace from the text after `* NAMESPACE ` (literals inlined): the first
/// of `(("prefix" "sep") …)`. None when there is none or it cannot be read.
pub fn parse_namespace(text: &[u8]) -> Option<Namespace> {
    let mut pos = 0;
    let Value::List(personal) = parse_value(text, &mut pos, 0)? else {
        return None; // NIL: no personal namespace
    };
    let Some(Value::List(first)) = personal.first() else {
        return None;
    };
    let prefix = match first.first()? {
        Value::Str(p) => String::from_utf8(p.clone()).ok()?,
        _ => return None,
    };
    let separator = match first.get(1)? {
        Value::Nil => None,
        Value::Str(s) => Some(String::from_utf8(s.clone()).ok()?).filter(|s| !s.is_empty()),
        Value::Atom | Value::List(_) => return None,
    };
    Some(Namespace { prefix, separator })
}

pub(super) fn parse_value(text: &[u8], pos: &mut usize, depth: u32) -> Option<Value> {
    // Namespace answers nest three deep (with extension values, four).
    if depth > 8 {
        return None;
    }
    while text.get(*pos) == Some(&b' ') {
        *pos += 1;
    }
    match *text.get(*pos)? {
        b'(' => {
            *pos += 1;
            let mut items = Vec::new();
            loop {
                while text.get(*pos) == Some(&b' ') {
                    *pos += 1;
                }
                if *text.get(*pos)? == b')' {
                    *pos += 1;
                    return Some(Value::List(items));
                }
                items.push(parse_value(text, pos, depth + 1)?);
            }
        }
        b'"' => {
            *pos += 1;
            let mut out = Vec::new();
            loop {
                match *text.get(*pos)? {
                    b'"' => {
                        *pos += 1;
                        return Some(Value::Str(out));
                    }
                    b'\\' => {
                        out.push(*text.get(*pos + 1)?);
                        *pos += 2;
                    }
                    b'\r' | b'\n' => return None,
                    b => {
                        out.push(b);
                        *pos += 1;
                    }
                }
            }
        }
        b'{' => {
            let close = *pos + text[*pos..].iter().position(|&b| b == b'}')?;
            let n = literal_len(&text[*pos..=close])?;
            let start = close + 1 + 2; // after "}\r\n"
            if text.get(close + 1..start)? != b"\r\n" {
                return None;
            }
            let data = text.get(start..start.checked_add(n)?)?.to_vec();
            *pos = start + n;
            Some(Value::Str(data))
        }
        _ => {
            let end = text[*pos..]
                .iter()
                .position(|&b| matches!(b, b' ' | b'(' | b')' | b'\r' | b'\n'))
                .map_or(text.len(), |i| *pos + i);
            let atom = &text[*pos..end];
            *pos = end;
            if atom.eq_ignore_ascii_case(b"NIL") {
                Some(Value::Nil)
            } else if atom.is_empty() {
                None
            } else {
                Some(Value::Atom)
            }
        }
    }
}

/// Reads the namespace, maps the configured names to the server's ([`server_mailbox`]),
/// and creates `processed_mailbox` and `rejected_mailbox` (and their parents below the
/// namespace prefix) if missing.
pub async fn ensure_mailboxes(
    session: &mut ImapSession,
    cfg: &ImapConfig,
    caps: ServerCaps,
) -> Result<MailboxNames, MailboxError> {
    let ns = namespace(session, caps).await?;
    let existing: HashSet<String> = step("LIST", STEP_TIMEOUT, async {
        session
            .list(Some(""), Some("*"))
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?
    .iter()
    .map(|n| n.name().to_string())
    .collect();
    let names = MailboxNames {
        intake: server_mailbox(&cfg.mailbox, &ns),
        processed: server_mailbox(&cfg.processed_mailbox, &ns),
        rejected: server_mailbox(&cfg.rejected_mailbox, &ns),
        namespace: ns,
    };
    tracing::info!(
        intake = %names.intake,
        processed = %names.processed,
        rejected = %names.rejected,
        "imap: mailbox names on this server"
    );
    let mut created: HashSet<String> = HashSet::new();
    for target in [&names.processed, &names.rejected] {
        for mbox in mailboxes_to_create(target, &names.namespace) {
            if existing.contains(&mbox) || created.contains(&mbox) {
                continue;
            }
            match timeout(STEP_TIMEOUT, session.create(&mbox)).await {
                Err(_) => {
                    return Err(MailboxError::Timeout {
                        step: "CREATE",
                        after: STEP_TIMEOUT,
                    });
                }
                // Someone else created it meanwhile (or the server made the parent
                // implicitly): fine.
                Ok(Err(async_imap::error::Error::No(msg)))
                    if msg.to_ascii_uppercase().contains("ALREADYEXISTS")
                        || msg.to_ascii_lowercase().contains("already exists") => {}
                Ok(Err(source)) => {
                    return Err(MailboxError::Imap {
                        step: "CREATE",
                        source,
                    });
                }
                Ok(Ok(())) => tracing::info!(mailbox = %mbox, "imap: created mailbox"),
            }
            created.insert(mbox);
        }
    }
    Ok(names)
}
