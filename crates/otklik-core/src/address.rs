//! E-mail addresses and hosts as the configuration and incoming mail accept them. A leaf:
//! it uses nothing else of the crate, so both the configuration and the message parser can.

use std::net::IpAddr;

/// `Name <addr@host>` split up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The display name, unquoted and trimmed; `None` when absent or empty.
    pub name: Option<String>,
    /// Lower-cased.
    pub email: String,
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
