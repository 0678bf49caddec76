//! How deep a raw message's MIME structure nests, found in one pass over the bytes before
//! the parser sees them (see [`super::MAX_MIME_DEPTH`]).

/// Attached messages encoded in base64 or quoted-printable that the parser decodes and
/// reads in turn (mail-parser 0.11 stops after three); [`mime_depth`] follows as many.
const ENCODED_MESSAGE_LEVELS: usize = 3;

/// How deep the MIME structure of `raw` nests: multiparts and attached messages within
/// each other (the top-level message is 0, a plain multipart/mixed 1), counted up to
/// `limit + 1` and no further. One pass over the bytes, no parsing: linear in the size,
/// constant stack. It reads the structure the way the parser does — a multipart part's
/// children start after a `--boundary` line, an attached message's header block follows
/// its part's header directly, an encoded attached message is decoded and read too — and
/// errs towards counting deeper, never shallower: a boundary line closes only the parts
/// opened inside its own multipart.
pub fn mime_depth(raw: &[u8], limit: usize) -> usize {
    depth_from(raw, 0, limit, ENCODED_MESSAGE_LEVELS)
}

/// One multipart open at some depth: its boundary, its depth, whether it is a digest
/// (whose parts are messages by default).
struct OpenMultipart<'a> {
    boundary: &'a [u8],
    depth: usize,
    digest: bool,
}

/// What a header block declares.
enum PartKind<'a> {
    Multipart { boundary: &'a [u8], digest: bool },
    Message { encoded: bool },
    Leaf,
}

fn depth_from(raw: &[u8], base: usize, limit: usize, encoded_levels: usize) -> usize {
    let mut open: Vec<OpenMultipart<'_>> = Vec::new();
    let mut depth = base;
    let mut deepest = base;
    // In a header block (true) or a body (false).
    let mut in_headers = true;
    let mut in_digest = false;
    let mut content_type: Option<(usize, usize)> = None;
    let mut transfer_encoding: Option<(usize, usize)> = None;
    let mut last_field: Option<u8> = None; // b'c' Content-Type, b'e' the encoding
    // An encoded attached message being skipped: where its body starts.
    let mut encoded_body: Option<usize> = None;
    let mut pos = 0;
    while pos < raw.len() {
        let end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| pos + i);
        let next = (end + 1).min(raw.len());
        let line = trim_cr(&raw[pos..end]);
        if in_headers {
            if line.iter().all(|b| *b == b' ' || *b == b'\t') {
                // The end of a header block.
                let kind = part_kind(
                    content_type.map(|(a, b)| &raw[a..b]),
                    transfer_encoding.map(|(a, b)| &raw[a..b]),
                    in_digest,
                );
                content_type = None;
                transfer_encoding = None;
                last_field = None;
                in_digest = false;
                match kind {
                    PartKind::Multipart { boundary, digest } => {
                        depth += 1;
                        open.push(OpenMultipart {
                            boundary,
                            depth,
                            digest,
                        });
                        in_headers = false;
                    }
                    PartKind::Message { encoded: false } => {
                        // The attached message's own header block follows at once.
                        depth += 1;
                    }
                    PartKind::Message { encoded: true } => {
                        encoded_body = Some(next);
                        in_headers = false;
                    }
                    PartKind::Leaf => in_headers = false,
                }
                deepest = deepest.max(depth);
                if deepest > limit {
                    return deepest;
                }
            } else if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                // A folded line continues the field before it.
                match last_field {
                    Some(b'c') => content_type = content_type.map(|(a, _)| (a, end)),
                    Some(b'e') => transfer_encoding = transfer_encoding.map(|(a, _)| (a, end)),
                    _ => {}
                }
            } else {
                last_field = None;
                if let Some(colon) = line.iter().position(|&b| b == b':') {
                    let name = line[..colon].trim_ascii();
                    let value = (pos + colon + 1, end);
                    if name.eq_ignore_ascii_case(b"content-type") {
                        content_type = Some(value);
                        last_field = Some(b'c');
                    } else if name.eq_ignore_ascii_case(b"content-transfer-encoding") {
                        transfer_encoding = Some(value);
                        last_field = Some(b'e');
                    }
                }
            }
        } else if let Some(rest) = line.strip_prefix(b"--")
            && let Some(i) = open
                .iter()
                .rposition(|m| !m.boundary.is_empty() && rest.starts_with(m.boundary))
        {
            if let Some(start) = encoded_body.take() {
                deepest = deepest.max(encoded_message_depth(
                    &raw[start.min(pos)..pos],
                    depth,
                    limit,
                    encoded_levels,
                ));
                if deepest > limit {
                    return deepest;
                }
            }
            let m = &open[i];
            let closing = rest[m.boundary.len()..].starts_with(b"--");
            if closing {
                depth = m.depth - 1;
                open.truncate(i);
            } else {
                depth = m.depth;
                in_digest = m.digest;
                open.truncate(i + 1);
                in_headers = true;
            }
        }
        pos = next;
    }
    if let Some(start) = encoded_body {
        deepest = deepest.max(encoded_message_depth(
            &raw[start.min(raw.len())..],
            depth,
            limit,
            encoded_levels,
        ));
    }
    deepest
}

/// An attached message in base64 or quoted-printable: decoded and read like the parser
/// does, one level deeper, while encoded levels remain.
fn encoded_message_depth(body: &[u8], depth: usize, limit: usize, encoded_levels: usize) -> usize {
    let Some(levels) = encoded_levels.checked_sub(1) else {
        return depth;
    };
    let decoded = mail_parser::decoders::base64::base64_decode(body)
        .or_else(|| mail_parser::decoders::quoted_printable::quoted_printable_decode(body));
    match decoded {
        Some(inner) => depth_from(&inner, depth + 1, limit, levels),
        None => depth + 1,
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// What a header block with this Content-Type and transfer encoding opens.
fn part_kind<'a>(
    content_type: Option<&'a [u8]>,
    encoding: Option<&[u8]>,
    in_digest: bool,
) -> PartKind<'a> {
    let encoded = encoding.is_some_and(|e| {
        let e = e.trim_ascii();
        e.eq_ignore_ascii_case(b"base64") || e.eq_ignore_ascii_case(b"quoted-printable")
    });
    let Some(ct) = content_type else {
        return if in_digest {
            PartKind::Message { encoded }
        } else {
            PartKind::Leaf
        };
    };
    let ct = ct.trim_ascii();
    let media_end = ct
        .iter()
        .position(|&b| b == b';' || b.is_ascii_whitespace())
        .unwrap_or(ct.len());
    let media = &ct[..media_end];
    let starts = |p: &[u8]| media.len() >= p.len() && media[..p.len()].eq_ignore_ascii_case(p);
    if starts(b"multipart/") {
        // Any parameter spelled `boundary`, quoted or not (over-reading is safe: it can
        // only open more levels).
        let boundary = parameter(ct, b"boundary").unwrap_or(b"");
        if boundary.is_empty() {
            return PartKind::Leaf;
        }
        return PartKind::Multipart {
            boundary,
            digest: media.eq_ignore_ascii_case(b"multipart/digest"),
        };
    }
    if media.eq_ignore_ascii_case(b"message/rfc822")
        || media.eq_ignore_ascii_case(b"message/global")
    {
        return PartKind::Message { encoded };
    }
    PartKind::Leaf
}

/// The value of parameter `name` in a Content-Type value (quotes removed).
fn parameter<'a>(value: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut i = 0;
    while i + name.len() < value.len() {
        let at = value[i..]
            .windows(name.len())
            .position(|w| w.eq_ignore_ascii_case(name))?
            + i;
        let after = value[at + name.len()..].trim_ascii_start();
        if let Some(v) = after.strip_prefix(b"=") {
            let v = v.trim_ascii_start();
            return Some(match v.strip_prefix(b"\"") {
                Some(q) => &q[..q.iter().position(|&b| b == b'"').unwrap_or(q.len())],
                None => {
                    let end = v
                        .iter()
                        .position(|&b| b == b';' || b.is_ascii_whitespace())
                        .unwrap_or(v.len());
                    &v[..end]
                }
            });
        }
        i = at + 1;
    }
    None
}
