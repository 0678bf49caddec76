//! Bytes stored once: attachment bytes by SHA-256, and outbox bodies that refer to them
//! instead of carrying a second copy in base64.

use otklik_core::inbound::Attachment;
use otklik_core::workflow::Case;

use super::{Store, StoreError, u64_from};
use serde::Deserialize;

/// Every attachment a case holds: the notification's, the draft's, the approved text's.
pub(super) fn attachments(case: &Case) -> impl Iterator<Item = &Attachment> {
    case.notification
        .attachments
        .iter()
        .chain(case.draft.iter().flat_map(|d| d.attachments.iter()))
        .chain(case.approved.iter().flat_map(|d| d.attachments.iter()))
}

/// [`attachments`], mutable, in the same order.
pub(super) fn attachments_mut(case: &mut Case) -> impl Iterator<Item = &mut Attachment> {
    case.notification
        .attachments
        .iter_mut()
        .chain(case.draft.iter_mut().flat_map(|d| d.attachments.iter_mut()))
        .chain(
            case.approved
                .iter_mut()
                .flat_map(|d| d.attachments.iter_mut()),
        )
}

/// Only the attachment hashes of a stored case.
#[derive(Deserialize)]
pub(super) struct RecordedRefs {
    pub(super) notification: RefList,
    #[serde(default)]
    pub(super) draft: Option<RefList>,
    #[serde(default)]
    pub(super) approved: Option<RefList>,
}

#[derive(Deserialize)]
pub(super) struct RefList {
    #[serde(default)]
    pub(super) attachments: Vec<RefOnly>,
}

#[derive(Deserialize)]
pub(super) struct RefOnly {
    #[serde(default)]
    pub(super) sha256: String,
}

/// Attachments smaller than this stay inline in an outbox body (a reference saves little).
pub(super) const SHARED_MIN: usize = 4096;

/// Length of a hex SHA-256.
pub(super) const HASH_HEX: usize = 64;

/// Outbox body pieces: `0 ‖ u64 length ‖ bytes`, or `1 ‖ hex SHA-256 ‖ u64 size`: the
/// attachment's bytes in base64, 76-column lines joined by CRLF, as MIME bodies are.
pub(super) const PIECE_LITERAL: u8 = 0;

pub(super) const PIECE_ATTACHMENT: u8 = 1;

/// An outbox mail's bytes as stored: where `raw` holds one of the `shared` attachments in
/// base64 exactly as [`base64_lines`] writes it, a reference to the stored bytes; the rest
/// as is. `check` confirms an attachment's bytes match its hash before it is referred to,
/// so decoding gives back the same bytes.
pub(super) fn encode_body(
    raw: &[u8],
    shared: &[(&str, &[u8])],
    check: &mut dyn FnMut(&str, &[u8]) -> bool,
) -> Vec<u8> {
    let mut spans: Vec<(usize, usize, &str, u64)> = Vec::new();
    for (hash, data) in shared {
        if hash.len() != HASH_HEX || base64_len(data.len()) > raw.len() {
            continue;
        }
        let text = base64_lines(data);
        let mut from = 0;
        let mut confirmed = None;
        while let Some(at) = find(raw, &text, from) {
            if !*confirmed.get_or_insert_with(|| check(hash, data)) {
                break;
            }
            spans.push((at, at + text.len(), hash, data.len() as u64));
            from = at + text.len();
        }
    }
    spans.sort_by_key(|s| s.0);
    let mut out = Vec::new();
    let literal = |out: &mut Vec<u8>, bytes: &[u8]| {
        if !bytes.is_empty() {
            out.push(PIECE_LITERAL);
            out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            out.extend_from_slice(bytes);
        }
    };
    let mut pos = 0;
    for (start, end, hash, size) in spans {
        if start < pos {
            continue;
        }
        literal(&mut out, &raw[pos..start]);
        out.push(PIECE_ATTACHMENT);
        out.extend_from_slice(hash.as_bytes());
        out.extend_from_slice(&size.to_be_bytes());
        pos = end;
    }
    literal(&mut out, &raw[pos..]);
    out
}

pub(super) fn take_u64(b: &[u8]) -> Option<(u64, &[u8])> {
    let (n, rest) = b.split_at_checked(8)?;
    Some((u64_from(n)?, rest))
}

/// The first `needle` in `hay` at or after `from`.
pub(super) fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut i = from;
    while i <= last_start {
        let at = i + hay.get(i..=last_start)?.iter().position(|&b| b == first)?;
        if hay.get(at..at + needle.len()) == Some(needle) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

pub(super) const BASE64: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 (RFC 4648, padded) in lines of 76 characters joined by CRLF, no CRLF at the end.
pub(super) fn base64_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(base64_len(data.len()));
    for (i, line) in data.chunks(57).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        for group in line.chunks(3) {
            let b = [
                group[0],
                group.get(1).copied().unwrap_or(0),
                group.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let sextet = |shift: u32| BASE64[((n >> shift) & 63) as usize];
            out.push(sextet(18));
            out.push(sextet(12));
            out.push(if group.len() > 1 { sextet(6) } else { b'=' });
            out.push(if group.len() > 2 { sextet(0) } else { b'=' });
        }
    }
    out
}

pub(super) fn base64_len(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    n.div_ceil(3) * 4 + (n.div_ceil(57) - 1) * 2
}

impl Store {
    /// An outbox body back to the mail's bytes (see [`encode_body`]).
    pub(super) fn decode_body(&self, seq: u64, body: &[u8]) -> Result<Vec<u8>, StoreError> {
        let damaged = |reason: String| StoreError::Damaged {
            key: format!("outbox_body {seq}"),
            reason,
        };
        let mut out = Vec::new();
        let mut rest = body;
        while let Some((&tag, tail)) = rest.split_first() {
            match tag {
                PIECE_LITERAL => {
                    let (len, tail) = take_u64(tail).ok_or_else(|| damaged("truncated".into()))?;
                    let len = usize::try_from(len).map_err(|_| damaged("too long".into()))?;
                    let bytes = tail.get(..len).ok_or_else(|| damaged("truncated".into()))?;
                    out.extend_from_slice(bytes);
                    rest = &tail[len..];
                }
                PIECE_ATTACHMENT => {
                    let hash = tail
                        .get(..HASH_HEX)
                        .ok_or_else(|| damaged("truncated".into()))?;
                    let (size, tail) =
                        take_u64(&tail[HASH_HEX..]).ok_or_else(|| damaged("truncated".into()))?;
                    let bytes = self.attachments.get(hash)?.ok_or_else(|| {
                        damaged(format!(
                            "attachment {} is not stored",
                            String::from_utf8_lossy(hash)
                        ))
                    })?;
                    if bytes.len() as u64 != size {
                        return Err(damaged(format!(
                            "attachment {} has {} bytes, not {size}",
                            String::from_utf8_lossy(hash),
                            bytes.len()
                        )));
                    }
                    out.extend_from_slice(&base64_lines(&bytes));
                    rest = tail;
                }
                other => return Err(damaged(format!("unknown piece {other}"))),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_core::inbound::sha256_hex;

    #[test]
    fn base64_lines_is_how_mime_bodies_are_written() {
        // The encoder lettre uses for attachments: 57 bytes a line, CRLF between lines.
        for n in [0usize, 1, 2, 3, 56, 57, 58, 114, 1000] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            let body = lettre::message::Body::new_with_encoding(
                data.clone(),
                lettre::message::header::ContentTransferEncoding::Base64,
            )
            .map_err(|_| "not encodable")
            .unwrap();
            assert_eq!(base64_lines(&data), body.as_ref(), "{n} bytes");
            assert_eq!(base64_len(n), body.len(), "{n} bytes");
        }
    }

    #[test]
    fn bodies_give_back_the_same_bytes() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let hash = sha256_hex(&data);
        let text = base64_lines(&data);
        let mut raw = b"Subject: x\r\n\r\n--b\r\n\r\n".to_vec();
        raw.extend_from_slice(&text);
        raw.extend_from_slice(b"\r\n--b\r\nagain\r\n");
        raw.extend_from_slice(&text);
        raw.extend_from_slice(b"\r\n--b--\r\n");
        let shared = [(hash.as_str(), data.as_slice())];
        let body = encode_body(&raw, &shared, &mut |h, d| sha256_hex(d) == h);
        assert!(
            body.len() < 300,
            "both copies referred to: {} bytes",
            body.len()
        );
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .attachments
            .insert(hash.as_bytes(), data.as_slice())
            .unwrap();
        assert_eq!(store.decode_body(1, &body).unwrap(), raw);
        // Bytes that do not match their hash are never referred to.
        let body = encode_body(&raw, &shared, &mut |_, _| false);
        assert_eq!(store.decode_body(1, &body).unwrap(), raw);
        assert!(body.len() > raw.len());
    }
}
