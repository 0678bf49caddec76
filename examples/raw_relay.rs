//! The raw relay: the benchmark's baseline (bench/e2e). It does the least a mail relay
//! can do with the libraries otklik uses — async-imap (IDLE, UID FETCH) and lettre (pooled
//! SMTP) — and nothing else: no parsing, no store, no MOVE. Every new message in the
//! mailbox is sent as is to one recipient.
//!
//! ```sh
//! cargo run --release --example raw_relay -- HOST IMAP_PORT SMTP_PORT USER PASSWORD TO
//! ```
//! Prints `ready` once IDLE is running; runs until killed.

use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use futures::TryStreamExt;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

type Session = async_imap::Session<tokio::net::TcpStream>;

async fn login(host: &str, port: u16, user: &str, password: &str) -> Session {
    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .expect("connect to IMAP");
    let mut client = async_imap::Client::new(tcp);
    client
        .read_response()
        .await
        .expect("IMAP greeting")
        .expect("IMAP greeting");
    client
        .login(user, password)
        .await
        .map_err(|(e, _)| e)
        .expect("IMAP login")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    assert_eq!(
        a.len(),
        6,
        "usage: raw_relay HOST IMAP_PORT SMTP_PORT USER PASSWORD TO"
    );
    let (host, imap_port, smtp_port) = (&a[0], a[1].parse().unwrap(), a[2].parse().unwrap());
    let (user, password, to) = (&a[3], &a[4], &a[5]);

    let smtp: AsyncSmtpTransport<Tokio1Executor> =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(smtp_port)
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(4))
            .build();
    let envelope = lettre::address::Envelope::new(
        Some(user.parse().expect("from address")),
        vec![to.parse().expect("to address")],
    )
    .expect("envelope");

    let mut session = login(host, imap_port, user, password).await;
    let mut next_uid = 1u32;
    let mut announced = false;
    loop {
        let mb = session.select("INBOX").await.expect("SELECT");
        if mb.exists > 0 {
            let fetched: Vec<async_imap::types::Fetch> = session
                .uid_fetch(format!("{next_uid}:*"), "(UID BODY.PEEK[])")
                .await
                .expect("UID FETCH")
                .try_collect()
                .await
                .expect("UID FETCH");
            for f in &fetched {
                let (Some(uid), Some(body)) = (f.uid, f.body()) else {
                    continue;
                };
                if uid < next_uid {
                    continue;
                }
                smtp.send_raw(&envelope, body).await.expect("SMTP send");
                next_uid = uid + 1;
            }
        }
        // Whatever the server said unasked (EXISTS…) is not needed: the next FETCH sees all.
        while session.unsolicited_responses.try_recv().is_ok() {}
        let mut idle = session.idle();
        idle.init().await.expect("IDLE");
        if !announced {
            println!("ready");
            announced = true;
        }
        let (wait, _stop) = idle.wait_with_timeout(Duration::from_secs(60));
        match wait.await.expect("IDLE wait") {
            IdleResponse::NewData(_) | IdleResponse::Timeout | IdleResponse::ManualInterrupt => {}
        }
        session = idle.done().await.expect("IDLE DONE");
    }
}
