//! sd_notify (systemd `Type=notify`): READY, STATUS, WATCHDOG, RELOADING, STOPPING.
//! A datagram to `$NOTIFY_SOCKET`; nothing happens when not under systemd.

use std::os::unix::net::UnixDatagram;

/// Sends one notification (`READY=1`, `STATUS=…`); errors are logged, never fatal.
///
/// Never blocks: the socket is non-blocking, so a notify socket whose reader stalls (its
/// queue holds only `net.unix.max_dgram_qlen` datagrams, 10 by default) drops the message
/// instead of freezing the caller, which is the service's main loop.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let result = (|| -> std::io::Result<()> {
        let sock = UnixDatagram::unbound()?;
        sock.set_nonblocking(true)?;
        let bytes = path.as_encoded_bytes();
        if let Some(abstract_name) = bytes.strip_prefix(b"@") {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)?;
            sock.send_to_addr(state.as_bytes(), &addr)?;
        } else {
            sock.send_to(state.as_bytes(), std::path::Path::new(&path))?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        tracing::warn!(error = %e, "sd_notify failed");
    }
}

/// The watchdog interval systemd asked for (`WATCHDOG_USEC`), if any and meant for us.
pub fn watchdog_interval() -> Option<std::time::Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    Some(std::time::Duration::from_micros(usec))
}

/// `RELOADING=1` with the `MONOTONIC_USEC` that `Type=notify-reload` requires.
pub fn reloading() {
    notify(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
}

#[allow(unsafe_code)] // one libc call, see SAFETY below
fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64).saturating_mul(1_000_000) + (ts.tv_nsec as u64) / 1_000
}
