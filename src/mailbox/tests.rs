//! Unit tests of the pure parts: names, NAMESPACE answers, backoff, the loopback rule.

use otklik_core::config::{ImapConfig, TlsMode};

use super::names::*;
use super::stream::*;
use super::watcher::*;
use super::*;
use crate::tls::TlsOptions;

#[test]
fn separator_mapping() {
    assert_eq!(
        server_mailbox_name("otklik/processed", Some(".")),
        "otklik.processed"
    );
    assert_eq!(
        server_mailbox_name("otklik/processed", Some("/")),
        "otklik/processed"
    );
    assert_eq!(
        server_mailbox_name("otklik/processed", None),
        "otklik/processed"
    );
    assert_eq!(server_mailbox_name("flat", Some(".")), "flat");
}

#[test]
fn modified_utf7_names() {
    // RFC 3501 §5.1.3's example, and ASCII/ampersand handling.
    assert_eq!(
        encode_mailbox_name("~peter/mail/台北/日本語"),
        "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
    );
    assert_eq!(encode_mailbox_name("INBOX"), "INBOX");
    assert_eq!(encode_mailbox_name("A&B"), "A&-B");
    assert_eq!(
        encode_mailbox_name("otklik.обработано"),
        "otklik.&BD4EMQRABDAEMQQ+BEIEMAQ9BD4-"
    );
}

#[test]
fn parents() {
    assert_eq!(
        parent_mailboxes("a.b.c", Some(".")),
        vec!["a".to_string(), "a.b".to_string()]
    );
    assert!(parent_mailboxes("a", Some(".")).is_empty());
    assert!(parent_mailboxes("a/b", None).is_empty());
}

fn ns(prefix: &str, separator: Option<&str>) -> Namespace {
    Namespace {
        prefix: prefix.into(),
        separator: separator.map(str::to_string),
    }
}

#[test]
fn namespace_answers_of_real_servers() {
    // Dovecot, Courier / old Cyrus, Yandex, a flat one, and Gmail's.
    for (answer, want) in [
        (&b"((\"\" \".\")) NIL NIL\r\n"[..], ns("", Some("."))),
        (
            b"((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\")(\"shared.\" \".\"))\r\n",
            ns("INBOX.", Some(".")),
        ),
        (b"((\"\" \"|\")) NIL NIL\r\n", ns("", Some("|"))),
        (b"((\"\" NIL)) NIL NIL\r\n", ns("", None)),
        (b"((\"\" \"/\")) NIL NIL\r\n", ns("", Some("/"))),
        // escapes, RFC 2342 extensions, a literal, lower-case NIL
        (b"((\"\" \"\\\\\")) nil nil\r\n", ns("", Some("\\"))),
        (
            b"((\"\" \"/\" \"X-PARAM\" (\"FLAG1\" \"FLAG2\"))) NIL NIL\r\n",
            ns("", Some("/")),
        ),
        (
            b"(({6}\r\nINBOX. \".\")) NIL NIL\r\n",
            ns("INBOX.", Some(".")),
        ),
    ] {
        assert_eq!(
            parse_namespace(answer),
            Some(want),
            "{}",
            String::from_utf8_lossy(answer)
        );
    }
    for bad in [
        &b"NIL NIL NIL\r\n"[..],
        b"(\"\" \".\") NIL NIL\r\n",
        b"((\"INBOX. \".\")) NIL NIL\r\n",
        b"(({60}\r\nINBOX. \".\")) NIL NIL\r\n",
        b"",
        b"((((((((((((\"\" \".\"))))))))))))",
    ] {
        assert_eq!(
            parse_namespace(bad),
            None,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[tokio::test]
async fn a_response_line_is_read_with_its_literals_and_no_further() {
    let mut input: &[u8] = b"* NAMESPACE (({6}\r\nINBOX. \".\")) NIL NIL\r\nA0001 OK next\r\n";
    let mut budget = 1000;
    let line = read_line(&mut input, &mut budget).await.unwrap();
    assert_eq!(line, b"* NAMESPACE (({6}\r\nINBOX. \".\")) NIL NIL\r\n");
    assert_eq!(input, b"A0001 OK next\r\n", "read past the line");
    let mut budget = 10;
    let mut input: &[u8] = b"* NAMESPACE NIL NIL NIL\r\n";
    assert!(read_line(&mut input, &mut budget).await.is_err());
    assert_eq!(literal_len(b"x {12}"), Some(12));
    assert_eq!(literal_len(b"x {12+}"), Some(12));
    assert_eq!(literal_len(b"x {}"), None);
    assert_eq!(literal_len(b"x \"{1}\""), None);
}

#[test]
fn configured_names_in_the_servers_namespace() {
    let dovecot = ns("", Some("."));
    let courier = ns("INBOX.", Some("."));
    let yandex = ns("", Some("|"));
    assert_eq!(
        server_mailbox("otklik/processed", &dovecot),
        "otklik.processed"
    );
    assert_eq!(
        server_mailbox("otklik/processed", &courier),
        "INBOX.otklik.processed"
    );
    assert_eq!(
        server_mailbox("otklik/processed", &yandex),
        "otklik|processed"
    );
    // already under the prefix, in any case of INBOX; INBOX itself
    assert_eq!(
        server_mailbox("INBOX/otklik/processed", &courier),
        "INBOX.otklik.processed"
    );
    assert_eq!(server_mailbox("inbox/otklik", &courier), "INBOX.otklik");
    assert_eq!(server_mailbox("inbox", &courier), "INBOX");
    // modified UTF-7 per level, the separator and prefix as the server has them
    assert_eq!(
        server_mailbox("отклик/обработано", &courier),
        format!(
            "INBOX.{}.{}",
            encode_mailbox_name("отклик"),
            encode_mailbox_name("обработано")
        )
    );
    assert_eq!(
        server_mailbox("отклик/обработано", &yandex),
        "&BD4EQgQ6BDsEOAQ6-|&BD4EMQRABDAEMQQ+BEIEMAQ9BD4-"
    );
    // a prefix that is not INBOX is matched exactly
    let mail = ns("Mail/", Some("/"));
    assert_eq!(server_mailbox("mail/x", &mail), "Mail/mail/x");
    assert_eq!(server_mailbox("Mail/x", &mail), "Mail/x");

    assert_eq!(
        mailboxes_to_create("INBOX.otklik.processed", &courier),
        ["INBOX.otklik", "INBOX.otklik.processed"]
    );
    assert_eq!(
        mailboxes_to_create("otklik|processed", &yandex),
        ["otklik", "otklik|processed"]
    );
    assert_eq!(mailboxes_to_create("flat", &dovecot), ["flat"]);
}

#[test]
fn backoff_grows_and_caps() {
    assert_eq!(backoff_delay(1, 1.0), Duration::from_secs(2));
    assert_eq!(backoff_delay(2, 1.0), Duration::from_secs(4));
    assert_eq!(backoff_delay(6, 1.0), Duration::from_secs(64));
    assert_eq!(backoff_delay(7, 1.0), Duration::from_secs(80));
    assert_eq!(backoff_delay(1000, 1.0), Duration::from_secs(80));
    // Jitter never leaves the 2 s .. 80 s band.
    assert_eq!(backoff_delay(1, 0.8), Duration::from_secs(2));
    assert_eq!(backoff_delay(1000, 1.2), Duration::from_secs(80));
    let d = backoff_delay(3, 1.1);
    assert!(d > Duration::from_secs(8) && d < Duration::from_secs(9));
}

#[test]
fn plain_imap_only_on_loopback() {
    let mut cfg = ImapConfig {
        host: "imap.example.ru".into(),
        port: 143,
        tls: TlsMode::None,
        username: "u".into(),
        password: otklik_core::config::Password("p".into()),
        mailbox: "INBOX".into(),
        processed_mailbox: "otklik/processed".into(),
        rejected_mailbox: "otklik/rejected".into(),
        poll_seconds: 60,
        max_message_size: otklik_core::config::DEFAULT_MAX_MESSAGE_SIZE,
        ca_file: None,
    };
    assert!(matches!(
        prepare_tls(&cfg, &TlsOptions::default()),
        Err(MailboxError::InsecureHost(_))
    ));
    cfg.host = "127.0.0.1".into();
    assert!(matches!(
        prepare_tls(&cfg, &TlsOptions::default()),
        Ok(None)
    ));
    cfg.tls = TlsMode::Implicit;
    assert!(matches!(
        prepare_tls(&cfg, &TlsOptions::default()),
        Ok(Some(_))
    ));
}

#[test]
fn uid_sets_are_ranges_where_uids_follow_each_other() {
    assert_eq!(uid_set(&[]), "");
    assert_eq!(uid_set(&[7]), "7");
    assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
    assert_eq!(uid_set(&[4, 6, 8]), "4,6,8");
    assert_eq!(uid_set(&[u32::MAX - 1, u32::MAX]), "4294967294:4294967295");
}
