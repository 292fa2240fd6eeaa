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
