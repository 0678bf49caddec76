//! TLS client configuration shared by the IMAP watcher and the SMTP sender.
//!
//! Trust comes from the Mozilla root set (`webpki-roots`) plus, optionally, extra CA
//! certificates from a PEM file: the test harness's self-signed CA, or a municipal CA in
//! production. The crypto provider is `ring`, chosen explicitly so that no process-wide
//! default provider has to be installed.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, pki_types::CertificateDer};

/// What to trust beyond the built-in Mozilla roots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM text with one or more `CERTIFICATE` blocks, trusted as extra root CAs.
    pub extra_ca_pem: Option<Vec<u8>>,
}

impl TlsOptions {
    /// Reads the extra CA certificates from a PEM file (the config's `ca_file`).
    pub fn from_ca_file(path: &Path) -> Result<TlsOptions, TlsError> {
        let pem = std::fs::read(path).map_err(|source| TlsError::ReadCaFile {
            path: path.display().to_string(),
            source,
        })?;
        // Validate now, so a bad file is reported at startup with its name.
        let certs = parse_pem_certs(&pem)?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificates);
        }
        Ok(TlsOptions {
            extra_ca_pem: Some(pem),
        })
    }
}

/// Why the TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The extra CA file cannot be read.
    #[error("cannot read CA file {path}: {source}")]
    ReadCaFile {
        /// The file.
        path: String,
        /// What the system reported.
        #[source]
        source: std::io::Error,
    },
    /// The extra CA PEM is not valid PEM.
    #[error("the extra CA PEM is not valid PEM: {0}")]
    BadPem(String),
    /// The extra CA PEM holds no certificate.
    #[error("the extra CA PEM holds no CERTIFICATE block")]
    NoCertificates,
    /// An extra CA certificate was rejected.
    #[error("an extra CA certificate was rejected: {0}")]
    BadCertificate(String),
    /// The TLS configuration failed.
    #[error("TLS configuration failed: {0}")]
    Config(String),
}

/// The `CERTIFICATE` blocks of a PEM text (other blocks, e.g. keys, are ignored).
pub fn parse_pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let mut reader = pem;
    rustls_pemfile::certs(&mut reader)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadPem(e.to_string()))
}

/// A rustls client config trusting the Mozilla roots plus `opts.extra_ca_pem`.
pub fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = &opts.extra_ca_pem {
        let certs = parse_pem_certs(pem)?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificates);
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| TlsError::BadCertificate(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_builds() {
        assert!(client_config(&TlsOptions::default()).is_ok());
    }

    #[test]
    fn pem_without_certificates_is_refused() {
        let opts = TlsOptions {
            extra_ca_pem: Some(b"just some text\n".to_vec()),
        };
        assert!(matches!(
            client_config(&opts),
            Err(TlsError::NoCertificates)
        ));
    }

    #[test]
    fn garbage_certificate_is_refused() {
        let pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let opts = TlsOptions {
            extra_ca_pem: Some(pem.to_vec()),
        };
        assert!(client_config(&opts).is_err());
    }

    #[test]
    fn missing_ca_file_names_the_path() {
        let err = TlsOptions::from_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"));
    }
}
