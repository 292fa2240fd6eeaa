//! SSL_GET's TLS client, as keepalived's check_ssl.c sets up its one SSL_CTX: the server's
//! certificate is never verified (keepalived never calls SSL_CTX_set_verify), the client
//! certificate and key of the `SSL { }` block are presented when given, and the `ca` file is
//! loaded (so a missing one is reported) but not enforced.
//!
//! The handshake itself is still checked: the server must prove it holds the key of the
//! certificate it sends (rustls verifies the handshake signature), as OpenSSL does.

use ka_config::lvs::ssl::Ssl;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// The SSL block could not be loaded. keepalived logs [`SslError::log_lines`] and its checker
/// process exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslError {
    /// keepalived's first line, e.g. `SSL error : Cant load key file...`.
    pub reason: String,
    /// What went wrong underneath (not in keepalived's output).
    pub detail: String,
    keyfile: String,
    password_set: bool,
    cafile: String,
}

impl SslError {
    /// keepalived's lines (the password itself is not repeated in the log).
    pub fn log_lines(&self) -> Vec<String> {
        vec![
            format!("{} ({})", self.reason, self.detail),
            "Error Initialize SSL, ctx Instance".to_string(),
            format!("  SSL  keyfile:{}", self.keyfile),
            format!(
                "  SSL password:{}",
                if self.password_set { "(set)" } else { "(null)" }
            ),
            format!("  SSL   cafile:{}", self.cafile),
            "Terminate...".to_string(),
        ]
    }
}

impl std::fmt::Display for SslError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.reason, self.detail)
    }
}

impl std::error::Error for SslError {}

/// Accepts any server certificate; checks the handshake signatures against it.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The client configuration all SSL_GET probes share.
pub(crate) fn client_config(ssl: Option<&Ssl>) -> Result<Arc<rustls::ClientConfig>, SslError> {
    let fail = |reason: &str, detail: String| SslError {
        reason: reason.to_string(),
        detail,
        keyfile: ssl.and_then(|s| s.key.clone()).unwrap_or_else(|| "(null)".into()),
        password_set: ssl.is_some_and(Ssl::has_password),
        cafile: ssl.and_then(|s| s.ca.clone()).unwrap_or_else(|| "(null)".into()),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AcceptAnyCertificate {
        algorithms: provider.signature_verification_algorithms,
    });
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| fail("SSL error: cannot create new SSL context", e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let certificate = ssl.and_then(|s| s.certificate.as_deref());
    let key = ssl.and_then(|s| s.key.as_deref());
    let config = match (certificate, key) {
        (Some(cert_file), key_file) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| fail("SSL error : Cant load certificate file...", e.to_string()))?;
            if chain.is_empty() {
                return Err(fail(
                    "SSL error : Cant load certificate file...",
                    format!("no certificate in {cert_file}"),
                ));
            }
            // OpenSSL takes the key from the certificate file when no key file is given.
            let key_file = key_file.unwrap_or(cert_file);
            let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
                let detail = if ssl.is_some_and(Ssl::has_password) {
                    format!("{e}; encrypted keys (password) are not supported, decrypt the key")
                } else {
                    e.to_string()
                };
                fail("SSL error : Cant load key file...", detail)
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| fail("SSL error : Cant load key file...", e.to_string()))?
        }
        (None, _) => builder.with_no_client_auth(),
    };
    if let Some(ca) = ssl.and_then(|s| s.ca.as_deref()) {
        // Loaded, as keepalived does, and then never used.
        CertificateDer::pem_file_iter(ca)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| fail("SSL error : Cant load CA file...", e.to_string()))?;
    }
    Ok(Arc::new(config))
}

/// The name given to rustls: the SNI host when one is to be sent, else the address (rustls
/// sends no SNI for an address).
pub(crate) fn server_name(sni: Option<&str>, addr: std::net::IpAddr) -> ServerName<'static> {
    sni.and_then(|host| ServerName::try_from(host.to_string()).ok())
        .unwrap_or_else(|| ServerName::IpAddress(addr.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throw-away self-signed certificate and key, for loading only.
    const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBkjCCATegAwIBAgIUM8viEZtRHElR13aI+NgdTXPFLzUwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSa2EtcHJvYmUtdW5pdC10ZXN0MCAXDTI2MTEyNTE3Mzg0NFoY
DzIxMjYxMTAxMTczODQ0WjAdMRswGQYDVQQDDBJrYS1wcm9iZS11bml0LXRlc3Qw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQX1rU0qXEJPSo7+0DlVeitS1xjaGMd
hJuMkLdvndvSxd52ZbGDt0CnOADHKSXJJSFQsCYzewvMIvGnksFUNT7Oo1MwUTAd
BgNVHQ4EFgQUfed6W3BV1cnv65AxJar8rGNZ7BQwHwYDVR0jBBgwFoAUfed6W3BV
1cnv65AxJar8rGNZ7BQwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEA9F/VNbw7RtwDDse+dAUsUoHYYsY3jbFEE6dYWY+p+0wCIQCjzMB6CHdQZL4A
StZVzAsiLr8AGWkqk/iDwqQucLPEZg==
-----END CERTIFICATE-----
";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkbL00N6daLTxNujw
k+2VHN/g8ukiRCkTgkk5Q6S0xv2hRANCAAQX1rU0qXEJPSo7+0DlVeitS1xjaGMd
hJuMkLdvndvSxd52ZbGDt0CnOADHKSXJJSFQsCYzewvMIvGnksFUNT7O
-----END PRIVATE KEY-----
";

    fn ssl(dir: &std::path::Path, cert: &str, key: &str, ca: Option<&str>) -> Ssl {
        Ssl {
            certificate: Some(dir.join(cert).display().to_string()),
            key: Some(dir.join(key).display().to_string()),
            ca: ca.map(|c| dir.join(c).display().to_string()),
            password: Some("secret".into()),
            ..Ssl::default()
        }
    }

    #[test]
    fn the_ssl_block_loads_or_fails_with_keepalived_s_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("c.pem"), CERT).unwrap();
        std::fs::write(dir.join("k.pem"), KEY).unwrap();
        assert!(client_config(None).is_ok());
        assert!(client_config(Some(&ssl(dir, "c.pem", "k.pem", Some("c.pem")))).is_ok());
        // The key may be in the certificate file.
        std::fs::write(dir.join("both.pem"), format!("{CERT}{KEY}")).unwrap();
        let mut no_key = ssl(dir, "both.pem", "x", None);
        no_key.key = None;
        assert!(client_config(Some(&no_key)).is_ok());

        let reason = |s: Ssl| client_config(Some(&s)).unwrap_err().reason;
        assert_eq!(
            reason(ssl(dir, "none.pem", "k.pem", None)),
            "SSL error : Cant load certificate file..."
        );
        assert_eq!(
            reason(ssl(dir, "k.pem", "k.pem", None)),
            "SSL error : Cant load certificate file..."
        );
        assert_eq!(
            reason(ssl(dir, "c.pem", "none.pem", None)),
            "SSL error : Cant load key file..."
        );
        assert_eq!(
            reason(ssl(dir, "c.pem", "k.pem", Some("none.pem"))),
            "SSL error : Cant load CA file..."
        );
        let err = client_config(Some(&ssl(dir, "c.pem", "none.pem", None))).unwrap_err();
        let lines = err.log_lines();
        assert_eq!(lines[1], "Error Initialize SSL, ctx Instance");
        assert_eq!(
            lines[3], "  SSL password:(set)",
            "the password itself is never logged"
        );
        assert_eq!(lines[5], "Terminate...");
        assert!(err.detail.contains("password"), "{}", err.detail);
    }
}
