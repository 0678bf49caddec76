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

/// One pass of [`depth_from`]: the multiparts open, the depth reached, and the header
/// block being read.
struct DepthScan<'a> {
    raw: &'a [u8],
    limit: usize,
    encoded_levels: usize,
    open: Vec<OpenMultipart<'a>>,
    depth: usize,
    deepest: usize,
    /// In a header block (true) or a body (false).
    in_headers: bool,
    in_digest: bool,
    content_type: Option<(usize, usize)>,
    transfer_encoding: Option<(usize, usize)>,
    /// b'c' Content-Type, b'e' the encoding.
    last_field: Option<u8>,
    /// An encoded attached message being skipped: where its body starts.
    encoded_body: Option<usize>,
}

fn depth_from(raw: &[u8], base: usize, limit: usize, encoded_levels: usize) -> usize {
    let mut scan = DepthScan {
        raw,
        limit,
        encoded_levels,
        open: Vec::new(),
        depth: base,
        deepest: base,
        in_headers: true,
        in_digest: false,
        content_type: None,
        transfer_encoding: None,
        last_field: None,
        encoded_body: None,
    };
    let mut pos = 0;
    while pos < raw.len() {
        let end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| pos + i);
        let next = (end + 1).min(raw.len());
        let line = trim_cr(&raw[pos..end]);
        let over_limit = if scan.in_headers {
            scan.header_line(line, pos, end, next)
        } else {
            scan.body_line(line, pos)
        };
        if over_limit {
            return scan.deepest;
        }
        pos = next;
    }
    if let Some(start) = scan.encoded_body {
        scan.deepest = scan.deepest.max(encoded_message_depth(
            &raw[start.min(raw.len())..],
            scan.depth,
            limit,
            encoded_levels,
        ));
    }
    scan.deepest
}

impl<'a> DepthScan<'a> {
    /// A line of a header block, `raw[pos..end]` (without its line break); `next` is where
    /// the following line starts. True once the depth is past the limit.
    fn header_line(&mut self, line: &[u8], pos: usize, end: usize, next: usize) -> bool {
        if line.iter().all(|b| *b == b' ' || *b == b'\t') {
            return self.end_of_headers(next);
        }
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            // A folded line continues the field before it.
            match self.last_field {
                Some(b'c') => self.content_type = self.content_type.map(|(a, _)| (a, end)),
                Some(b'e') => {
                    self.transfer_encoding = self.transfer_encoding.map(|(a, _)| (a, end))
                }
                _ => {}
            }
            return false;
        }
        self.last_field = None;
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = line[..colon].trim_ascii();
            let value = (pos + colon + 1, end);
            if name.eq_ignore_ascii_case(b"content-type") {
                self.content_type = Some(value);
                self.last_field = Some(b'c');
            } else if name.eq_ignore_ascii_case(b"content-transfer-encoding") {
                self.transfer_encoding = Some(value);
                self.last_field = Some(b'e');
            }
        }
        false
    }

    /// The blank line that ends a header block: what the block declared opens. True once
    /// the depth is past the limit.
    fn end_of_headers(&mut self, next: usize) -> bool {
        let raw = self.raw;
        let kind = part_kind(
            self.content_type.map(|(a, b)| &raw[a..b]),
            self.transfer_encoding.map(|(a, b)| &raw[a..b]),
            self.in_digest,
        );
        self.content_type = None;
        self.transfer_encoding = None;
        self.last_field = None;
        self.in_digest = false;
        match kind {
            PartKind::Multipart { boundary, digest } => {
                self.depth += 1;
                self.open.push(OpenMultipart {
                    boundary,
                    depth: self.depth,
                    digest,
                });
                self.in_headers = false;
            }
            PartKind::Message { encoded: false } => {
                // The attached message's own header block follows at once.
                self.depth += 1;
            }
            PartKind::Message { encoded: true } => {
                self.encoded_body = Some(next);
                self.in_headers = false;
            }
            PartKind::Leaf => self.in_headers = false,
        }
        self.deepest = self.deepest.max(self.depth);
        self.deepest > self.limit
    }

    /// A line of a body, starting at `pos`: a boundary of an open multipart closes what
    /// was opened inside it. True once the depth is past the limit.
    fn body_line(&mut self, line: &[u8], pos: usize) -> bool {
        let Some(rest) = line.strip_prefix(b"--") else {
            return false;
        };
        let Some(i) = self
            .open
            .iter()
            .rposition(|m| !m.boundary.is_empty() && rest.starts_with(m.boundary))
        else {
            return false;
        };
        if let Some(start) = self.encoded_body.take() {
            self.deepest = self.deepest.max(encoded_message_depth(
                &self.raw[start.min(pos)..pos],
                self.depth,
                self.limit,
                self.encoded_levels,
            ));
            if self.deepest > self.limit {
                return true;
            }
        }
        let m = &self.open[i];
        let closing = rest[m.boundary.len()..].starts_with(b"--");
        if closing {
            self.depth = m.depth - 1;
            self.open.truncate(i);
        } else {
            self.depth = m.depth;
            self.in_digest = m.digest;
            self.open.truncate(i + 1);
            self.in_headers = true;
        }
        false
    }
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
