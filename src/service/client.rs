//! Connecting to a leakdex server from Rust: a channel whose calls carry a bearer token.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// Adds `authorization: Bearer TOKEN` to every call.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    pub fn new(token: Option<&str>) -> Result<Bearer, Box<dyn std::error::Error + Send + Sync>> {
        let value = token
            .map(|token| format!("Bearer {}", token.trim()).parse::<MetadataValue<Ascii>>())
            .transpose()
            .map_err(|_| "the token has characters a header cannot carry")?;
        Ok(Bearer(value))
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A connection to the server whose calls carry the token.
pub type Connection = InterceptedService<Channel, Bearer>;

/// TLS settings of a client: the CA that signed the server's certificate and, for mutual TLS,
/// the client's own certificate and key (PEM).
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    pub ca: Vec<u8>,
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    /// The name the server's certificate is for, when the URL's host is not it.
    pub domain: Option<String>,
}

/// Connects to `url` (`https://host:port`) over TLS; calls carry `token` if given.
pub async fn connect_tls(
    url: &str,
    token: Option<&str>,
    tls: &ClientTls,
) -> Result<Connection, Box<dyn std::error::Error + Send + Sync>> {
    let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&tls.ca));
    if let Some((certificate, key)) = &tls.identity {
        config = config.identity(Identity::from_pem(certificate, key));
    }
    if let Some(domain) = &tls.domain {
        config = config.domain_name(domain.clone());
    }
    let channel = endpoint(url)?
        .tls_config(config)?
        .connect()
        .await
        .map_err(|error| format!("{url}: {error}"))?;
    Ok(InterceptedService::new(channel, Bearer::new(token)?))
}

/// Connects to `url` (`http://host:port`); every call carries `token` if given.
pub async fn connect(url: &str, token: Option<&str>) -> Result<Connection, Box<dyn std::error::Error + Send + Sync>> {
    let channel = endpoint(url)?
        .connect()
        .await
        .map_err(|error| format!("{url}: {error}"))?;
    Ok(InterceptedService::new(channel, Bearer::new(token)?))
}

/// The server at `url`, with the same HTTP/2 windows as the server's.
fn endpoint(url: &str) -> Result<Endpoint, tonic::codegen::http::uri::InvalidUri> {
    Ok(Channel::from_shared(url.to_string())?
        .initial_stream_window_size(super::STREAM_WINDOW)
        .initial_connection_window_size(super::CONNECTION_WINDOW))
}
