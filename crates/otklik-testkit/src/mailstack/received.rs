//! One message as a test reads it from a mailbox: parsed, its headers unfolded.

/// One message as found in a mailbox, parsed with mail-parser.
#[derive(Debug, Clone)]
pub struct Received {
    /// IMAP UID in the mailbox it was read from.
    pub uid: u32,
    /// The message exactly as the server stores it (with the Received: and
    /// Return-Path: headers the delivery added).
    pub raw: Vec<u8>,
    /// Decoded subject ("" when missing).
    pub subject: String,
    /// Address of the first `From:` mailbox ("" when missing).
    pub from: String,
    /// Addresses of `To:`.
    pub to: Vec<String>,
    /// Addresses of `Cc:`.
    pub cc: Vec<String>,
    /// Address of the first `Reply-To:` mailbox, if any.
    pub reply_to: Option<String>,
    /// `Message-ID:` without the angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To:` (the first id) without the angle brackets.
    pub in_reply_to: Option<String>,
    /// `References:` ids in order, without the angle brackets.
    pub references: Vec<String>,
    /// The first text body (mail-parser derives one from HTML if the message has no text part).
    pub text: String,
    /// The first HTML body, if the message has an HTML part.
    pub html: Option<String>,
    /// Attachments: (file name or "", "type/subtype", decoded bytes).
    pub attachments: Vec<(String, String, Vec<u8>)>,
    /// All header fields in order: (name as written, raw value unfolded and
    /// trimmed; encoded words are NOT decoded here, use the fields above).
    pub headers: Vec<(String, String)>,
}

impl Received {
    /// Parses a raw message; `uid` is whatever the caller knows (0 if none).
    pub fn parse(uid: u32, raw: Vec<u8>) -> Received {
        let parser = mail_parser::MessageParser::default();
        let Some(msg) = parser.parse(&raw[..]) else {
            return Received {
                uid,
                subject: String::new(),
                from: String::new(),
                to: Vec::new(),
                cc: Vec::new(),
                reply_to: None,
                message_id: None,
                in_reply_to: None,
                references: Vec::new(),
                text: String::from_utf8_lossy(&raw).into_owned(),
                html: None,
                attachments: Vec::new(),
                headers: Vec::new(),
                raw,
            };
        };
        let addrs = |a: Option<&mail_parser::Address>| -> Vec<String> {
            a.map(|a| {
                a.iter()
                    .filter_map(|x| x.address().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
        };
        let first = |a: Option<&mail_parser::Address>| -> Option<String> {
            a.and_then(|a| a.first())
                .and_then(|x| x.address())
                .map(str::to_owned)
        };
        let ids = |v: &mail_parser::HeaderValue| -> Vec<String> {
            match v {
                mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
                mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
                _ => Vec::new(),
            }
        };
        let attachments = msg
            .attachments()
            .map(|part| {
                use mail_parser::MimeHeaders;
                let name = part.attachment_name().unwrap_or("").to_owned();
                let ctype = part
                    .content_type()
                    .map(|ct| match ct.subtype() {
                        Some(sub) => format!("{}/{}", ct.ctype(), sub),
                        None => ct.ctype().to_owned(),
                    })
                    .unwrap_or_else(|| "application/octet-stream".to_owned());
                (name, ctype, part.contents().to_vec())
            })
            .collect();
        let headers = msg
            .headers_raw()
            .map(|(name, value)| (name.to_owned(), unfold(value)))
            .collect();
        Received {
            uid,
            subject: msg.subject().unwrap_or("").to_owned(),
            from: first(msg.from()).unwrap_or_default(),
            to: addrs(msg.to()),
            cc: addrs(msg.cc()),
            reply_to: first(msg.reply_to()),
            message_id: msg.message_id().map(str::to_owned),
            in_reply_to: ids(msg.in_reply_to()).into_iter().next(),
            references: ids(msg.references()),
            text: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
            html: msg.body_html(0).map(|t| t.into_owned()),
            attachments,
            headers,
            raw: raw.clone(),
        }
    }

    /// The raw (unfolded, trimmed) value of the first header field called
    /// `name`, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All raw values of the header fields called `name`, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// One line for failure messages.
    pub fn summary(&self) -> String {
        format!(
            "uid {} from <{}> to {:?} subject {:?} message-id {:?}",
            self.uid, self.from, self.to, self.subject, self.message_id
        )
    }
}

/// RFC 5322 unfolding (drop the line breaks, keep the blanks after them), trimmed.
pub(super) fn unfold(value: &str) -> String {
    value
        .replace("\r\n", "")
        .replace('\n', "")
        .trim()
        .to_owned()
}
