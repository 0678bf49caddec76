//! The test actors: sending over SMTP, reading, appending and waiting for mail over IMAP,
//! as the stack's users.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures::TryStreamExt;

use super::{
    ImapSession, MailStack, POLL_EVERY, Received, SERVER_DEADLINE, TlsImapSession, TlsMode, tail,
};

impl MailStack {
    // ----------------------------------------------------------------- SMTP

    /// Sends `raw` over SMTP (the plain `smtp_port`, no AUTH) with the given
    /// envelope (bare user names get `@otklik.test`; an empty `from` is the
    /// null sender `<>`). It arrives byte for byte as given, after the trace
    /// headers Postfix and Dovecot prepend (Postfix adds `Date:`/`Message-ID:`
    /// only if missing). Panics if the server refuses it.
    pub async fn send(&self, from: &str, to: &[&str], raw: &[u8]) {
        if let Err(e) = self.try_send(from, to, raw).await {
            panic!(
                "SMTP send from {from} to {to:?} failed: {e}\n--- postfix log tail ---\n{}",
                tail(&self.postfix_log(), 20)
            );
        }
    }

    /// Like [`MailStack::send`], but returns the server's refusal as text
    /// (e.g. a recipient outside the test domain: "Relay access denied").
    pub async fn try_send(&self, from: &str, to: &[&str], raw: &[u8]) -> Result<(), String> {
        use lettre::AsyncTransport;
        let from = if from.is_empty() {
            None
        } else {
            Some(
                self.addr(from)
                    .parse::<lettre::Address>()
                    .map_err(|e| format!("bad envelope sender {from:?}: {e}"))?,
            )
        };
        let to = to
            .iter()
            .map(|t| {
                self.addr(t)
                    .parse::<lettre::Address>()
                    .map_err(|e| format!("bad envelope recipient {t:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = lettre::address::Envelope::new(from, to).map_err(|e| e.to_string())?;
        let transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor> =
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(self.host())
                .port(self.smtp_port)
                .timeout(Some(SERVER_DEADLINE))
                .build();
        // lettre always ends the DATA with "\r\n.\r\n": a message's own final
        // line break would arrive as an extra empty line
        let raw = raw
            .strip_suffix(b"\r\n")
            .or_else(|| raw.strip_suffix(b"\n"))
            .unwrap_or(raw);
        transport
            .send_raw(&envelope, raw)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Replies to `to` as `from_user`: `Re: <subject>`, `In-Reply-To` and
    /// `References` kept, plain UTF-8 text; sent to its `Reply-To` or `From`.
    /// Returns the reply's Message-ID (without angle brackets).
    pub async fn reply(&self, from_user: &str, to: &Received, body: &str) -> String {
        let subject = if to.subject.to_lowercase().starts_with("re:") {
            to.subject.clone()
        } else {
            format!("Re: {}", to.subject)
        };
        self.reply_with(from_user, to, &subject, body, true).await
    }

    /// A reply with the given subject; threading headers only when
    /// `keep_threading` (to test mail that lost them). Returns its Message-ID.
    pub async fn reply_with(
        &self,
        from_user: &str,
        to: &Received,
        subject: &str,
        body: &str,
        keep_threading: bool,
    ) -> String {
        let target = to.reply_to.clone().unwrap_or_else(|| to.from.clone());
        assert!(
            !target.is_empty(),
            "cannot reply to a message without From/Reply-To: {}",
            to.summary()
        );
        let id = self.new_message_id();
        let raw = self.compose(
            &self.addr(from_user),
            &[&target],
            subject,
            body,
            &id,
            if keep_threading { Some(to) } else { None },
        );
        self.send(&self.addr(from_user), &[&target], &raw).await;
        id
    }

    /// A fresh Message-ID (without angle brackets) in the test domain.
    pub fn new_message_id(&self) -> String {
        format!(
            "{:016x}.{}@{}",
            rand::random::<u64>(),
            std::process::id(),
            Self::DOMAIN
        )
    }

    /// Builds a plain-text UTF-8 message (lettre does the encoding), threaded
    /// under `parent` if given. `message_id` is without angle brackets.
    pub fn compose(
        &self,
        from: &str,
        to: &[&str],
        subject: &str,
        body: &str,
        message_id: &str,
        parent: Option<&Received>,
    ) -> Vec<u8> {
        let mut b = lettre::Message::builder()
            .from(self.addr(from).parse().expect("from address"))
            .subject(subject)
            .message_id(Some(format!("<{message_id}>")))
            .header(lettre::message::header::ContentType::TEXT_PLAIN);
        for t in to {
            b = b.to(self.addr(t).parse().expect("to address"));
        }
        if let Some(p) = parent
            && let Some(pid) = &p.message_id
        {
            b = b.in_reply_to(format!("<{pid}>"));
            let mut refs: Vec<String> = p.references.iter().map(|r| format!("<{r}>")).collect();
            refs.push(format!("<{pid}>"));
            b = b.references(refs.join(" "));
        }
        b.body(body.to_owned()).expect("build message").formatted()
    }

    // ----------------------------------------------------------------- IMAP

    /// A logged-in IMAP session for `user` over plain TCP.
    pub async fn imap(&self, user: &str) -> ImapSession {
        match self.try_imap(user).await {
            Ok(s) => s,
            Err(e) => panic!(
                "IMAP login as {user} failed: {e}\n--- dovecot log tail ---\n{}",
                tail(&self.dovecot_log(), 20)
            ),
        }
    }

    /// Like [`MailStack::imap`], returning the failure as text.
    pub async fn try_imap(&self, user: &str) -> Result<ImapSession, String> {
        tokio::time::timeout(SERVER_DEADLINE, async {
            let tcp = tokio::net::TcpStream::connect((self.host(), self.imap_port))
                .await
                .map_err(|e| format!("connect to IMAP port {}: {e}", self.imap_port))?;
            let mut client = async_imap::Client::new(tcp);
            match client.read_response().await {
                Ok(Some(_greeting)) => {}
                Ok(None) => return Err("IMAP server closed before its greeting".into()),
                Err(e) => return Err(format!("reading the IMAP greeting: {e}")),
            }
            client
                .login(self.addr(user), Self::PASSWORD)
                .await
                .map_err(|(e, _)| format!("LOGIN: {e}"))
        })
        .await
        .unwrap_or_else(|_| Err(format!("IMAP login: no answer within {SERVER_DEADLINE:?}")))
    }

    /// A logged-in IMAP session for `user` over TLS, verified against the
    /// stack's CA with server name `localhost`: implicit TLS on
    /// `imaps_port`, or STARTTLS on `imap_port`. Errors as text.
    pub async fn try_imap_tls(&self, user: &str, mode: TlsMode) -> Result<TlsImapSession, String> {
        tokio::time::timeout(SERVER_DEADLINE, async {
            let port = match mode {
                TlsMode::Implicit => self.imaps_port,
                TlsMode::StartTls => self.imap_port,
            };
            let mut tcp = tokio::net::TcpStream::connect((self.host(), port))
                .await
                .map_err(|e| format!("connect to port {port}: {e}"))?;
            if mode == TlsMode::StartTls {
                let mut client = async_imap::Client::new(tcp);
                match client.read_response().await {
                    Ok(Some(_greeting)) => {}
                    Ok(None) => return Err("IMAP server closed before its greeting".into()),
                    Err(e) => return Err(format!("reading the IMAP greeting: {e}")),
                }
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| format!("STARTTLS: {e}"))?;
                tcp = client.into_inner();
            }
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost")
                .map_err(|e| e.to_string())?;
            let tls = tokio_rustls::TlsConnector::from(self.tls_client_config())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake: {e}"))?;
            let mut client = async_imap::Client::new(tls);
            if mode == TlsMode::Implicit {
                // no greeting after STARTTLS; one after an implicit-TLS handshake
                match client.read_response().await {
                    Ok(Some(_greeting)) => {}
                    Ok(None) => return Err("IMAP server closed before its greeting".into()),
                    Err(e) => return Err(format!("reading the IMAP greeting: {e}")),
                }
            }
            client
                .login(self.addr(user), Self::PASSWORD)
                .await
                .map_err(|(e, _)| format!("LOGIN: {e}"))
        })
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "IMAP login over TLS: no answer within {SERVER_DEADLINE:?}"
            ))
        })
    }

    /// APPENDs `raw` to `mailbox` of `user` (the mailbox is created if missing).
    pub async fn append(&self, user: &str, mailbox: &str, raw: &[u8]) {
        self.append_flagged(user, mailbox, None, raw).await
    }

    /// [`MailStack::append`] with the message's flags set, e.g. `Some("(\\Deleted)")`: as
    /// another client would have left it.
    pub async fn append_flagged(&self, user: &str, mailbox: &str, flags: Option<&str>, raw: &[u8]) {
        within("APPEND", async {
            let mailbox = self.server_mailbox(mailbox);
            let mut s = self.imap(user).await;
            if !mailbox.eq_ignore_ascii_case("INBOX") {
                // "already exists" is fine
                let _ = s.create(&mailbox).await;
            }
            if let Err(e) = s.append(&mailbox, flags, None, raw).await {
                panic!("APPEND to {user}/{mailbox} failed: {e}");
            }
            let _ = s.logout().await;
        })
        .await
    }

    /// Every message in `mailbox` of `user` with its flags (`\Deleted`, `$Keyword`…; not
    /// `\Recent`), oldest first. Read-only, like [`MailStack::fetch_all`].
    pub async fn fetch_all_with_flags(
        &self,
        user: &str,
        mailbox: &str,
    ) -> Vec<(Received, Vec<String>)> {
        within("FETCH FLAGS", async {
            let mailbox = self.server_mailbox(mailbox);
            let mut s = self.imap(user).await;
            let mb = s
                .examine(&mailbox)
                .await
                .unwrap_or_else(|e| panic!("EXAMINE {user}/{mailbox} failed: {e}"));
            let mut got = Vec::new();
            if mb.exists > 0 {
                let fetches: Vec<async_imap::types::Fetch> =
                    match s.uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])").await {
                        Ok(stream) => stream.try_collect().await,
                        Err(e) => Err(e),
                    }
                    .unwrap_or_else(|e| panic!("FETCH in {user}/{mailbox} failed: {e}"));
                for f in &fetches {
                    let (Some(uid), Some(body)) = (f.uid, f.body()) else {
                        continue;
                    };
                    let flags = f
                        .flags()
                        .filter_map(|flag| {
                            use async_imap::types::Flag;
                            Some(match flag {
                                Flag::Seen => "\\Seen".to_owned(),
                                Flag::Answered => "\\Answered".to_owned(),
                                Flag::Flagged => "\\Flagged".to_owned(),
                                Flag::Deleted => "\\Deleted".to_owned(),
                                Flag::Draft => "\\Draft".to_owned(),
                                Flag::Recent | Flag::MayCreate => return None,
                                Flag::Custom(c) => c.into_owned(),
                            })
                        })
                        .collect();
                    got.push((Received::parse(uid, body.to_vec()), flags));
                }
            }
            got.sort_by_key(|(m, _)| m.uid);
            let _ = s.logout().await;
            got
        })
        .await
    }

    /// Changes flags as another client would: `what` is e.g. `-FLAGS (\Deleted)`.
    pub async fn store_flags(&self, user: &str, mailbox: &str, uid: u32, what: &str) {
        within("STORE", async {
            let mailbox = self.server_mailbox(mailbox);
            let mut s = self.imap(user).await;
            if let Err(e) = s.select(&mailbox).await {
                panic!("SELECT {user}/{mailbox} failed: {e}");
            }
            let stored: Result<Vec<_>, _> = match s.uid_store(uid.to_string(), what).await {
                Ok(stream) => stream.try_collect().await,
                Err(e) => Err(e),
            };
            if let Err(e) = stored {
                panic!("STORE {what} on {user}/{mailbox} uid {uid} failed: {e}");
            }
            let _ = s.logout().await;
        })
        .await
    }

    /// Every message in `mailbox` of `user`, oldest first (empty when the
    /// mailbox does not exist). Read-only: flags, \Seen included, stay as they are.
    pub async fn fetch_all(&self, user: &str, mailbox: &str) -> Vec<Received> {
        within("FETCH", async {
            let mut s = self.imap(user).await;
            let got = fetch_since(&mut s, &self.server_mailbox(mailbox), 1)
                .await
                .unwrap_or_default();
            let _ = s.logout().await;
            got
        })
        .await
    }

    /// Waits until a message matching `pred` is in `mailbox` of `user` (messages
    /// already there count too) and returns the oldest such. `timeout` is a
    /// deadline that only fails a hung test: on it, panics listing what WAS
    /// there, the user's mailboxes and the servers' log tails.
    pub async fn wait_for(
        &self,
        user: &str,
        mailbox: &str,
        pred: impl Fn(&Received) -> bool,
        timeout: Duration,
    ) -> Received {
        let mut found = None;
        let seen = self
            .poll(user, mailbox, timeout, |all| {
                found = all.iter().find(|m| pred(m)).cloned();
                found.is_some()
            })
            .await;
        match found {
            Some(m) => m,
            None => {
                self.timeout_panic(user, mailbox, timeout, "a matching message", &seen)
                    .await
            }
        }
    }

    /// Waits until `mailbox` of `user` holds at least `n` messages and returns
    /// all of them, oldest first. Panics on `timeout` like [`MailStack::wait_for`].
    pub async fn wait_for_count(
        &self,
        user: &str,
        mailbox: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<Received> {
        let seen = self
            .poll(user, mailbox, timeout, |all| all.len() >= n)
            .await;
        if seen.len() >= n {
            seen
        } else {
            self.timeout_panic(user, mailbox, timeout, &format!("{n} messages"), &seen)
                .await
        }
    }

    /// Polls (EXAMINE + UID FETCH of new messages) until `done` says so or the
    /// deadline passes; returns everything seen.
    pub(super) async fn poll(
        &self,
        user: &str,
        mailbox: &str,
        timeout: Duration,
        mut done: impl FnMut(&[Received]) -> bool,
    ) -> Vec<Received> {
        let mailbox = self.server_mailbox(mailbox);
        let deadline = Instant::now() + timeout;
        let mut seen: Vec<Received> = Vec::new();
        let mut session: Option<ImapSession> = None;
        loop {
            if session.is_none() {
                // the server may be down (outage tests); keep trying until the deadline
                session = self.try_imap(user).await.ok();
            }
            if let Some(s) = session.as_mut() {
                let next = seen.last().map(|m| m.uid + 1).unwrap_or(1);
                match tokio::time::timeout(SERVER_DEADLINE, fetch_since(s, &mailbox, next)).await {
                    Ok(Ok(new)) => seen.extend(new),
                    Ok(Err(FetchError::NoMailbox)) => {}
                    Ok(Err(FetchError::Imap(e))) => {
                        eprintln!("{user}: IMAP error while waiting, reconnecting: {e}");
                        session = None;
                    }
                    Err(_) => session = None,
                }
            }
            if done(&seen) || Instant::now() >= deadline {
                if let Some(mut s) = session {
                    let _ = s.logout().await;
                }
                return seen;
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    pub(super) async fn timeout_panic(
        &self,
        user: &str,
        mailbox: &str,
        timeout: Duration,
        what: &str,
        seen: &[Received],
    ) -> ! {
        let mut msg = format!(
            "timed out after {timeout:?} waiting for {what} in {user}/{mailbox}; it held {}:\n",
            seen.len()
        );
        for m in seen {
            let _ = writeln!(msg, "  {}", m.summary());
        }
        if let Ok(mut s) = self.try_imap(user).await
            && let Ok(names) = list_mailboxes(&mut s).await
        {
            let _ = writeln!(msg, "mailboxes of {user}: {names:?}");
        }
        let _ = write!(
            msg,
            "--- postfix log tail ---\n{}\n--- dovecot log tail ---\n{}",
            tail(&self.postfix_log(), 15),
            tail(&self.dovecot_log(), 15)
        );
        panic!("{msg}");
    }

    /// The names of `user`'s mailboxes (server names, `.`-separated).
    pub async fn mailboxes(&self, user: &str) -> Vec<String> {
        within("LIST", async {
            let mut s = self.imap(user).await;
            let names = list_mailboxes(&mut s)
                .await
                .unwrap_or_else(|e| panic!("LIST for {user} failed: {e}"));
            let _ = s.logout().await;
            names
        })
        .await
    }

    /// Empties every mailbox of `user` (the mailboxes stay).
    pub async fn reset(&self, user: &str) {
        within("reset", async {
            let mut s = self.imap(user).await;
            let names = list_mailboxes(&mut s)
                .await
                .unwrap_or_else(|e| panic!("LIST for {user} failed: {e}"));
            for name in names {
                let Ok(mb) = s.select(&name).await else {
                    continue; // \Noselect parents
                };
                if mb.exists == 0 {
                    continue;
                }
                let stored: Result<Vec<_>, _> =
                    match s.uid_store("1:*", "+FLAGS.SILENT (\\Deleted)").await {
                        Ok(stream) => stream.try_collect().await,
                        Err(e) => Err(e),
                    };
                if let Err(e) = stored {
                    panic!("STORE \\Deleted in {user}/{name} failed: {e}");
                }
                let expunged: Result<Vec<_>, _> = match s.expunge().await {
                    Ok(stream) => stream.try_collect().await,
                    Err(e) => Err(e),
                };
                if let Err(e) = expunged {
                    panic!("EXPUNGE in {user}/{name} failed: {e}");
                }
            }
            let _ = s.logout().await;
        })
        .await
    }
}

// -------------------------------------------------------------- IMAP bits

/// Runs `fut`, panicking if the mail stack does not answer within
/// `SERVER_DEADLINE` (a hung server must fail the test, not hang it).
pub(super) async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(SERVER_DEADLINE, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no answer from the mail stack within {SERVER_DEADLINE:?}"),
    }
}

pub(super) enum FetchError {
    NoMailbox,
    Imap(async_imap::error::Error),
}

/// EXAMINE `mailbox` and fetch the messages with UID >= `from_uid`.
pub(super) async fn fetch_since(
    s: &mut ImapSession,
    mailbox: &str,
    from_uid: u32,
) -> Result<Vec<Received>, FetchError> {
    let mb = match s.examine(mailbox).await {
        Ok(mb) => mb,
        Err(async_imap::error::Error::No(_)) => return Err(FetchError::NoMailbox),
        Err(e) => return Err(FetchError::Imap(e)),
    };
    if mb.exists == 0 {
        return Ok(Vec::new());
    }
    let fetches: Vec<async_imap::types::Fetch> = s
        .uid_fetch(format!("{from_uid}:*"), "(UID BODY.PEEK[])")
        .await
        .map_err(FetchError::Imap)?
        .try_collect()
        .await
        .map_err(FetchError::Imap)?;
    let mut got: Vec<Received> = fetches
        .iter()
        .filter_map(|f| {
            let uid = f.uid?;
            // `n:*` with n above the highest UID still returns the last message
            if uid < from_uid {
                return None;
            }
            Some(Received::parse(uid, f.body()?.to_vec()))
        })
        .collect();
    got.sort_by_key(|m| m.uid);
    Ok(got)
}

pub(super) async fn list_mailboxes(
    s: &mut ImapSession,
) -> Result<Vec<String>, async_imap::error::Error> {
    let names: Vec<async_imap::types::Name> =
        s.list(Some(""), Some("*")).await?.try_collect().await?;
    Ok(names.iter().map(|n| n.name().to_owned()).collect())
}

/// `otklik/processed` → `otklik.processed` (Dovecot's Maildir separator).
pub fn server_mailbox(name: &str) -> String {
    name.replace('/', ".")
}
