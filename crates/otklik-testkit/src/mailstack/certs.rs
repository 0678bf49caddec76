//! The test CA and the servers' certificate, made once per test process.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use super::{MailStack, OPENSSL_BIN, STACK_PREFIX, owner_stamp, run_tool};

// ------------------------------------------------------------------ setup

impl MailStack {
    /// Copies the process-wide certificate set into this stack's `tls/`.
    pub(super) fn make_tls(&self) -> Result<(), String> {
        static CERTS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        let source = CERTS.get_or_init(make_certificates).clone()?;
        let tls = self.root.join("tls");
        fs::create_dir_all(&tls).map_err(|e| format!("mkdir {}: {e}", tls.display()))?;
        for name in ["ca.pem", "cert.pem", "key.pem"] {
            fs::copy(source.join(name), tls.join(name))
                .map_err(|e| format!("copy {name} into {}: {e}", tls.display()))?;
        }
        Ok(())
    }
}

/// Makes a CA and a server certificate signed by it, once per test process,
/// in a dir of its own under /tmp (reaped by a later run's `start()`: a
/// static is never dropped).
pub(super) fn make_certificates() -> Result<PathBuf, String> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{STACK_PREFIX}tls-"))
        .tempdir_in("/tmp")
        .map_err(|e| format!("cannot create the certificate dir in /tmp: {e}"))?
        .keep();
    fs::write(dir.join("owner"), owner_stamp())
        .map_err(|e| format!("cannot write the owner stamp: {e}"))?;
    static CERT_DIR: OnceLock<PathBuf> = OnceLock::new();
    extern "C" fn remove_cert_dir() {
        if let Some(dir) = CERT_DIR.get() {
            let _ = fs::remove_dir_all(dir);
        }
    }
    if CERT_DIR.set(dir.clone()).is_ok() {
        // SAFETY: registers a plain function; it runs once, at exit.
        unsafe {
            libc::atexit(remove_cert_dir);
        }
    }
    {
        let tls = dir.clone();
        let ext = tls.join("server.ext");
        fs::write(
            &ext,
            format!(
                "basicConstraints = critical, CA:FALSE\n\
                 keyUsage = critical, digitalSignature, keyEncipherment\n\
                 extendedKeyUsage = serverAuth\n\
                 subjectAltName = DNS:localhost, DNS:{}, IP:127.0.0.1\n",
                MailStack::HOSTNAME
            ),
        )
        .map_err(|e| format!("write {}: {e}", ext.display()))?;
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        run_tool(
            Command::new(OPENSSL_BIN)
                .current_dir(&tls)
                .args(["req", "-x509"])
                .args(ec)
                .args(["-keyout", "ca.key", "-out", "ca.pem", "-days", "3650"])
                .args(["-subj", "/CN=otklik test CA"])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
            "openssl req (CA)",
        )?;
        run_tool(
            Command::new(OPENSSL_BIN)
                .current_dir(&tls)
                .arg("req")
                .args(ec)
                .args(["-keyout", "key.pem", "-out", "server.csr", "-subj"])
                .arg(format!("/CN={}", MailStack::HOSTNAME)),
            "openssl req (server)",
        )?;
        run_tool(
            Command::new(OPENSSL_BIN)
                .current_dir(&tls)
                .args([
                    "x509",
                    "-req",
                    "-in",
                    "server.csr",
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                ])
                .args([
                    "-set_serial",
                    "2",
                    "-days",
                    "3650",
                    "-extfile",
                    "server.ext",
                ])
                .args(["-out", "cert.pem"]),
            "openssl x509 (sign server)",
        )?;
    }
    Ok(dir)
}
