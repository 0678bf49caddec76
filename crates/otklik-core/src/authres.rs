//! `Authentication-Results` (RFC 8601): what the receiving mail server found out about a
//! message's sender (SPF, DKIM, DMARC), and whether that proves the `From` address. Pure.
//!
//! Anyone can write any `From:` and any header, this one included. What a message cannot
//! forge is the header the receiving server adds on delivery, under its own *authserv-id*
//! (`intake.trusted_authserv_id`): RFC 8601 §5 has a server remove, on the way in, any
//! header that already carries its id. So only that server's header counts:
//!
//! - the **topmost** `Authentication-Results` header whose authserv-id is the trusted one
//!   (a server prepends its header; one written by the sender sits below it), together
//!   with the headers with the same id right below it, with no other field in between
//!   (some servers write SPF, DKIM and DMARC as separate headers at once);
//! - headers with other ids, and lower headers with the trusted id, are ignored: they may
//!   be anyone's.
//!
//! The `From` domain is proven when one of those results says
//! - `dmarc=pass` (DMARC itself checks alignment with the `From` domain; a `header.from`
//!   property, when present, must name the `From` domain),
//! - `spf=pass` with an `smtp.mailfrom` whose domain is the `From` domain, or
//! - `dkim=pass` with a `header.d` equal to the `From` domain, or a `header.i` whose domain
//!   is.
//!
//! Domains are compared exactly (ASCII, ignoring case): a signature of `mail.example.ru`
//! does not prove `example.ru` and the other way round.
//!
//! The parser reads the grammar of RFC 8601 §2.2 leniently: comments in parentheses
//! (nested, with `\` escapes) are dropped, values may be quoted strings, a header may carry
//! many results separated by `;`, names are compared ignoring case. It runs in one pass,
//! linear in the header's length, and never fails: what it cannot read it skips.

/// One method's result in a header: `dkim=pass header.d=example.ru`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// The method, lower-cased, without a version (`dkim`, `spf`, `dmarc`, `auth`…).
    pub method: String,
    /// The result, lower-cased (`pass`, `fail`, `none`, `softfail`…).
    pub result: String,
    /// `ptype.property` (lower-cased) and its value as written (quotes removed), in order;
    /// `reason` is kept here too.
    pub props: Vec<(String, String)>,
}

impl MethodResult {
    /// The value of a property (`header.d`), if present.
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One `Authentication-Results` header, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    /// The id of the server that wrote it (as written).
    pub authserv_id: String,
    /// Its results, in order; empty for `none`.
    pub results: Vec<MethodResult>,
}

/// A lexical unit of the header's value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An atom or a dot-atom: `dkim`, `header.d`, `user@example.ru`.
    Word(String),
    /// A quoted string, unquoted.
    Quoted(String),
    Equals,
    Semicolon,
    Slash,
}

/// Splits a header value into tokens; comments and white space go.
fn tokens(value: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Token>| {
        if !word.is_empty() {
            out.push(Token::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                flush(&mut word, &mut out);
                // A comment, possibly nested; `\` quotes the next character.
                let mut depth = 1usize;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            '"' => {
                flush(&mut word, &mut out);
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                s.push(n);
                            }
                        }
                        '"' => break,
                        _ => s.push(c),
                    }
                }
                out.push(Token::Quoted(s));
            }
            '=' => {
                flush(&mut word, &mut out);
                out.push(Token::Equals);
            }
            ';' => {
                flush(&mut word, &mut out);
                out.push(Token::Semicolon);
            }
            '/' => {
                flush(&mut word, &mut out);
                out.push(Token::Slash);
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Parses one header's value (without the field name). `None` when it names no
/// authserv-id.
pub fn parse(value: &str) -> Option<AuthResults> {
    let tokens = tokens(value);
    let mut groups = tokens.split(|t| *t == Token::Semicolon);
    let head = groups.next()?;
    let authserv_id = match head.first()? {
        Token::Word(w) | Token::Quoted(w) if !w.is_empty() => w.clone(),
        _ => return None,
    };
    // After the id: an optional version (digits), nothing else.
    if head.len() > 2 || head.get(1).is_some_and(|t| !is_digits(t)) {
        return None;
    }
    let mut results = Vec::new();
    for group in groups {
        if let Some(r) = method_result(group) {
            results.push(r);
        }
    }
    Some(AuthResults {
        authserv_id,
        results,
    })
}

fn is_digits(t: &Token) -> bool {
    matches!(t, Token::Word(w) if w.bytes().all(|b| b.is_ascii_digit()))
}

/// `method[/version]=result [reason=value] [ptype.property=value]…`
fn method_result(group: &[Token]) -> Option<MethodResult> {
    let mut it = group.iter().peekable();
    let method = match it.next()? {
        Token::Word(w) => w.to_ascii_lowercase(),
        _ => return None,
    };
    if it.peek() == Some(&&Token::Slash) {
        it.next();
        it.next();
    }
    if it.next()? != &Token::Equals {
        return None;
    }
    let result = match it.next()? {
        Token::Word(w) => w.to_ascii_lowercase(),
        _ => return None,
    };
    let mut props = Vec::new();
    while let Some(t) = it.next() {
        // A name, `=`, a value; stray tokens (a base64 value's `=` padding) are skipped.
        let Token::Word(name) = t else { continue };
        if it.peek() != Some(&&Token::Equals) {
            continue;
        }
        it.next();
        let value = match it.peek() {
            Some(Token::Word(v)) | Some(Token::Quoted(v)) => {
                let v = v.clone();
                it.next();
                v
            }
            _ => String::new(),
        };
        props.push((name.to_ascii_lowercase(), value));
    }
    Some(MethodResult {
        method,
        result,
        props,
    })
}

/// The results the trusted server wrote, from a message's `Authentication-Results`
/// headers given top first as (position among all the message's header fields, value):
/// the topmost with the trusted id and the ones with that id right below it.
pub fn trusted(headers: &[(usize, String)], trusted_id: &str) -> Vec<AuthResults> {
    let is_trusted = |r: &AuthResults| {
        r.authserv_id.eq_ignore_ascii_case(trusted_id.trim()) && !trusted_id.trim().is_empty()
    };
    let mut out: Vec<AuthResults> = Vec::new();
    let mut last: Option<usize> = None;
    for (pos, value) in headers {
        let Some(parsed) = parse(value).filter(is_trusted) else {
            if last.is_some() {
                break;
            }
            continue;
        };
        match last {
            Some(l) if *pos != l + 1 => break,
            _ => {}
        }
        last = Some(*pos);
        out.push(parsed);
    }
    out
}

/// The domain of an address or of a bare domain (`user@example.ru`, `@example.ru`,
/// `example.ru`), lower-cased.
fn domain_of(value: &str) -> String {
    value
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Does one of `results` prove that the message comes from `from_domain`?
pub fn proves(results: &[AuthResults], from_domain: &str) -> bool {
    let from_domain = from_domain.trim().to_ascii_lowercase();
    if from_domain.is_empty() || !from_domain.is_ascii() {
        return false;
    }
    let same = |v: &str| domain_of(v) == from_domain;
    results.iter().flat_map(|r| &r.results).any(|m| {
        m.result == "pass"
            && match m.method.as_str() {
                "dmarc" => m.prop("header.from").is_none_or(same),
                "spf" => m.prop("smtp.mailfrom").is_some_and(same),
                "dkim" => {
                    m.prop("header.d").is_some_and(same) || m.prop("header.i").is_some_and(same)
                }
                _ => false,
            }
    })
}

/// Is a message with these headers (top first, with positions) from `from` (an address),
/// by the trusted server's word?
pub fn sender_proven(headers: &[(usize, String)], trusted_id: Option<&str>, from: &str) -> bool {
    let Some(id) = trusted_id.filter(|id| !id.trim().is_empty()) else {
        return false;
    };
    let Some((_, domain)) = from.rsplit_once('@') else {
        return false;
    };
    proves(&trusted(headers, id), domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(values: &[&str]) -> Vec<(usize, String)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (i, v.to_string()))
            .collect()
    }

    #[test]
    fn parses_id_version_results_and_properties() {
        let r = parse(
            "mx.example.ru 1; spf=pass smtp.mailfrom=boss@example.ru;\r\n\t DKIM=Pass header.d=Example.RU header.s=mail; dmarc=fail",
        )
        .unwrap();
        assert_eq!(r.authserv_id, "mx.example.ru");
        assert_eq!(r.results.len(), 3);
        assert_eq!(r.results[0].method, "spf");
        assert_eq!(r.results[0].prop("smtp.mailfrom"), Some("boss@example.ru"));
        assert_eq!(r.results[1].method, "dkim");
        assert_eq!(r.results[1].result, "pass");
        assert_eq!(r.results[1].prop("header.d"), Some("Example.RU"));
        assert_eq!(r.results[2].result, "fail");
    }

    #[test]
    fn comments_and_quoted_strings_are_read() {
        // A `;` and a `dkim=pass` inside a comment or a quoted string are no result.
        let r = parse(
            "(the server; dkim=pass header.d=evil.example) mx.example.ru;\
             dkim=fail reason=\"bad; dkim=pass header.d=example.ru\" (2048-bit key; (nested) secure) header.d=example.ru header.b=\"ab=cd\";\
             dkim-atps=neutral",
        )
        .unwrap();
        assert_eq!(r.authserv_id, "mx.example.ru");
        assert_eq!(r.results.len(), 2, "{r:?}");
        assert_eq!(r.results[0].result, "fail");
        assert_eq!(
            r.results[0].prop("reason"),
            Some("bad; dkim=pass header.d=example.ru")
        );
        assert_eq!(r.results[0].prop("header.b"), Some("ab=cd"));
        assert!(!proves(&[r], "example.ru"));
        let quoted = parse("\"mx.example.ru\"; none").unwrap();
        assert_eq!(quoted.authserv_id, "mx.example.ru");
        assert!(quoted.results.is_empty());
    }

    #[test]
    fn unquoted_base64_with_padding_does_not_derail_the_properties() {
        let r = parse("mx; dkim=pass header.b=abcd== header.d=example.ru").unwrap();
        assert_eq!(r.results[0].prop("header.d"), Some("example.ru"));
    }

    #[test]
    fn a_header_without_an_authserv_id_is_none() {
        // Outlook's headers without an id: anyone's.
        assert!(parse("spf=pass (sender IP) smtp.mailfrom=example.ru").is_none());
        assert!(parse("").is_none());
        assert!(parse("; dkim=pass").is_none());
    }

    #[test]
    fn which_results_prove_the_from_domain() {
        let p = |v: &str| proves(&[parse(v).unwrap()], "example.ru");
        assert!(p("mx; dmarc=pass header.from=example.ru"));
        assert!(p("mx; dmarc=pass"));
        assert!(!p("mx; dmarc=pass header.from=evil.example"));
        assert!(p("mx; spf=pass smtp.mailfrom=boss@example.ru"));
        assert!(p("mx; spf=pass smtp.mailfrom=example.ru"));
        assert!(!p("mx; spf=pass smtp.mailfrom=boss@evil.example"));
        assert!(!p("mx; spf=pass smtp.helo=example.ru"));
        assert!(!p("mx; spf=softfail smtp.mailfrom=example.ru"));
        assert!(p("mx; dkim=pass header.d=example.ru"));
        assert!(p("mx; dkim=pass header.i=@example.ru"));
        assert!(p("mx; dkim=pass header.i=boss@EXAMPLE.ru"));
        assert!(!p("mx; dkim=pass header.d=mail.example.ru"));
        assert!(!p("mx; dkim=pass header.d=evil.example"));
        assert!(!p("mx; notdkim=pass header.d=example.ru"));
        assert!(!p("mx; dkim=fail header.d=example.ru"));
        assert!(p(
            "mx; dkim=fail header.d=example.ru; spf=pass smtp.mailfrom=example.ru"
        ));
    }

    #[test]
    fn only_the_topmost_trusted_header_and_its_neighbours_count() {
        let good = "mx.example.ru; dkim=pass header.d=example.ru";
        let forged = "mx.example.ru; dmarc=pass header.from=example.ru";
        let none = "mx.example.ru; spf=none smtp.mailfrom=example.ru";
        let other = "evil.example; dmarc=pass header.from=example.ru";
        let ok = |h: &[(usize, String)]| sender_proven(h, Some("MX.example.ru"), "boss@example.ru");
        assert!(ok(&at(&[good])));
        // Another server's word is no proof, wherever it stands.
        assert!(!ok(&at(&[other])));
        assert!(!ok(&at(&[other, none])));
        // A lower header with the trusted id, below our server's (something else in
        // between, such as a Received field), was written by the sender.
        assert!(!ok(&[(0, none.to_string()), (5, forged.to_string())]));
        // Right below it (the same server's separate SPF, DKIM, DMARC headers) it counts.
        assert!(ok(&[(0, none.to_string()), (1, good.to_string())]));
        // Other ids above ours are skipped.
        assert!(ok(&[(0, other.to_string()), (3, good.to_string())]));
        // No trusted id configured: nothing proves anything.
        assert!(!sender_proven(&at(&[good]), None, "boss@example.ru"));
        assert!(!sender_proven(&at(&[good]), Some(" "), "boss@example.ru"));
        // The proof is for the From domain only.
        assert!(!sender_proven(
            &at(&[good]),
            Some("mx.example.ru"),
            "boss@evil.example"
        ));
    }

    #[test]
    fn parsing_is_linear_on_hostile_input() {
        let long = format!("mx; {}", "(".repeat(200_000));
        assert!(parse(&long).is_some());
        let many = format!("mx{}", "; dkim=pass header.d=x".repeat(50_000));
        assert_eq!(parse(&many).unwrap().results.len(), 50_000);
    }
}
