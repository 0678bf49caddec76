//! IDLE (RFC 2177): waiting for new mail with a keepalive-aware timeout, a bounded DONE.

use super::stream::step;
use super::watcher::{Wake, Watcher, beat, is_new_mail, wait_shutdown};
use super::{
    DONE_TIMEOUT, HEARTBEAT_EVERY, IDLE_KEEPALIVE, IDLE_MAX, ImapSession, MailboxError,
    MessageSink, STEP_TIMEOUT,
};
use async_imap::extensions::idle::IdleResponse;
use tokio::time::Instant;

impl<H: MessageSink> Watcher<H> {
    /// One IDLE round; always ends with DONE (bounded) unless the connection failed.
    pub(super) async fn idle(
        &mut self,
        session: ImapSession,
    ) -> Result<(ImapSession, Wake), MailboxError> {
        let unsolicited = session.unsolicited_responses.clone();
        let mut handle = session.idle();
        step("IDLE", STEP_TIMEOUT, handle.init()).await?;
        // `init` files what arrives before the continuation as unsolicited.
        let mut early = false;
        while let Ok(resp) = unsolicited.try_recv() {
            early |= is_new_mail(&resp);
        }
        let deadline = Instant::now() + IDLE_MAX;
        let outcome = {
            let (wait, _stop) = handle.wait_with_timeout(IDLE_KEEPALIVE);
            tokio::pin!(wait);
            let stop = wait_shutdown(&mut self.shutdown);
            tokio::pin!(stop);
            let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
            loop {
                if early {
                    break Ok(Wake::Rescan);
                }
                tokio::select! {
                    r = &mut wait => break match r {
                        Ok(IdleResponse::NewData(_)) => Ok(Wake::Rescan),
                        Ok(IdleResponse::Timeout) => {
                            tracing::debug!("imap: no keepalive during IDLE; checking the connection");
                            Ok(Wake::Rescan)
                        }
                        Ok(IdleResponse::ManualInterrupt) => Ok(Wake::Rescan),
                        Err(source) => Err(MailboxError::Imap { step: "IDLE wait", source }),
                    },
                    _ = tokio::time::sleep_until(deadline) => break Ok(Wake::Rescan),
                    _ = &mut stop => break Ok(Wake::Shutdown),
                    _ = tick.tick() => beat(&self.heartbeat),
                }
            }
        };
        let wake = outcome?;
        let session = step("IDLE DONE", DONE_TIMEOUT, handle.done()).await?;
        Ok((session, wake))
    }
}
