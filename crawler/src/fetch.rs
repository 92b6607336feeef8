//! One HTTP fetch: shared client, timeouts, body cap, no redirect following.

use crate::resolve::{GuardedResolver, Refused};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the shared HTTP client.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// User-Agent header.
    pub user_agent: String,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Body cap in bytes; larger bodies are truncated.
    pub max_body: usize,
    /// DNS overrides and SSRF guard.
    pub resolver: GuardedResolver,
    /// Certificates (PEM) trusted besides the public roots (`--ca-cert`): a CA of your own
    /// for internal or staging hosts.
    pub ca_certs: Vec<Vec<u8>>,
}

/// Why a fetch produced no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The request or body read timed out.
    Timeout,
    /// The address is private/loopback and not allowed.
    Blocked(String),
    /// DNS or connection failure.
    Connect(String),
    /// The TLS handshake failed: a certificate not trusted, expired or for another name.
    Tls(String),
    /// Anything else (protocol error, body error).
    Other(String),
}

impl FetchError {
    /// Short kind for run statistics.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Timeout => "timeout",
            FetchError::Blocked(_) => "blocked",
            FetchError::Connect(_) => "connect",
            FetchError::Tls(_) => "tls",
            FetchError::Other(_) => "other",
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Timeout => f.write_str("timed out"),
            FetchError::Blocked(m)
            | FetchError::Connect(m)
            | FetchError::Tls(m)
            | FetchError::Other(m) => f.write_str(m),
        }
    }
}

/// A response, body read (up to the cap).
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// Status code.
    pub status: u16,
    /// Headers the crawler uses, lowercase names; repeated headers joined with ", ".
    pub headers: Vec<(String, String)>,
    /// Body after decompression, at most `max_body` bytes.
    pub body: Vec<u8>,
    /// The body was cut at `max_body`.
    pub truncated: bool,
    /// Address connected to.
    pub ip: String,
}

impl Fetched {
    /// The headers the crawler uses from a list of `(name, value)` pairs in any case, as a
    /// fetch keeps them: lowercase names, repeated headers joined with ", ". Archive import
    /// builds its responses with this, so a stored response reads like a fetched one.
    pub fn kept_headers(all: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut headers = Vec::new();
        for name in KEPT_HEADERS {
            let vals: Vec<&str> = all
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
                .collect();
            if !vals.is_empty() {
                headers.push((name.to_string(), vals.join(", ")));
            }
        }
        headers
    }

    /// A header value by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

const KEPT_HEADERS: [&str; 9] = [
    "etag",
    "last-modified",
    "content-type",
    "content-language",
    "x-robots-tag",
    "link",
    "location",
    "retry-after",
    "refresh",
];

/// The shared client: connection pool, gzip/br/deflate, HTTP/1.1 and 2, no proxy, no redirects.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    cfg: Arc<FetchConfig>,
}

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A `--ca-cert` file is not PEM.
    #[error("cannot read the certificate: {0}")]
    Certificate(#[source] reqwest::Error),
    /// A `--ca-cert` file holds no certificate.
    #[error("no PEM certificate in the file")]
    NoCertificate,
    /// The TLS backend refused the configuration.
    #[error("cannot build the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

impl Fetcher {
    /// Build the client.
    pub fn new(cfg: FetchConfig) -> Result<Fetcher, ClientError> {
        let mut builder = reqwest::Client::builder();
        for pem in &cfg.ca_certs {
            let certs =
                reqwest::Certificate::from_pem_bundle(pem).map_err(ClientError::Certificate)?;
            if certs.is_empty() {
                return Err(ClientError::NoCertificate);
            }
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let client = builder
            .user_agent(cfg.user_agent.clone())
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(4)
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .dns_resolver(Arc::new(cfg.resolver.clone()))
            .build()
            .map_err(ClientError::Build)?;
        Ok(Fetcher {
            client,
            cfg: Arc::new(cfg),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &FetchConfig {
        &self.cfg
    }

    /// GET `url`, reading at most `max_body` bytes of body.
    pub async fn get(&self, url: &url::Url) -> Result<Fetched, FetchError> {
        self.get_capped(url, self.cfg.max_body).await
    }

    /// GET with an explicit body cap.
    pub async fn get_capped(&self, url: &url::Url, cap: usize) -> Result<Fetched, FetchError> {
        self.request(url, cap, None).await
    }

    /// GET `url` only if it changed since `known` (`If-None-Match` with its `ETag`,
    /// `If-Modified-Since` with its `Last-Modified`): a `304` comes back as such.
    pub async fn get_if_changed(
        &self,
        url: &url::Url,
        known: &linkdiff_store::Validators,
    ) -> Result<Fetched, FetchError> {
        self.request(url, self.cfg.max_body, Some(known)).await
    }

    async fn request(
        &self,
        url: &url::Url,
        cap: usize,
        known: Option<&linkdiff_store::Validators>,
    ) -> Result<Fetched, FetchError> {
        if let Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) = url.host() {
            let ip: std::net::IpAddr = url
                .host_str()
                .unwrap_or("")
                .trim_matches(['[', ']'])
                .parse()
                .map_err(|_| FetchError::Other("bad IP literal".into()))?;
            if !self.cfg.resolver.ip_allowed(ip) {
                return Err(FetchError::Blocked(format!(
                    "{ip} is a private or loopback address; use --allow-private (a --resolve rule maps host names, not addresses)"
                )));
            }
        }
        let mut req = self.client.get(url.clone());
        if let Some(k) = known {
            if !k.etag.is_empty() {
                req = req.header(reqwest::header::IF_NONE_MATCH, &k.etag);
            }
            if !k.last_modified.is_empty() {
                req = req.header(reqwest::header::IF_MODIFIED_SINCE, &k.last_modified);
            }
        }
        let resp = req.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let ip = resp
            .remote_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        let all: Vec<(&str, &str)> = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
            .collect();
        let headers = Fetched::kept_headers(&all);
        let mut body = Vec::new();
        let mut truncated = false;
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(classify)?;
            let room = cap - body.len();
            if chunk.len() >= room {
                body.extend_from_slice(&chunk[..room]);
                truncated = chunk.len() > room || stream.next().await.is_some();
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            status,
            headers,
            body,
            truncated,
            ip,
        })
    }
}

/// Whether `e` is rustls's own error, possibly inside (nested) `io::Error`s, which is how the
/// connector reports a failed handshake.
fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    if e.downcast_ref::<rustls::Error>().is_some() {
        return true;
    }
    match e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        Some(inner) => is_tls(inner),
        None => false,
    }
}

fn classify(e: reqwest::Error) -> FetchError {
    let mut msg = e.to_string();
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    let mut tls = false;
    while let Some(s) = src {
        if let Some(refused) = s.downcast_ref::<Refused>() {
            return FetchError::Blocked(refused.to_string());
        }
        tls |= is_tls(s);
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    if tls {
        FetchError::Tls(msg)
    } else if e.is_timeout() {
        FetchError::Timeout
    } else if e.is_connect() {
        FetchError::Connect(msg)
    } else {
        FetchError::Other(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetcher() -> Fetcher {
        Fetcher::new(FetchConfig {
            user_agent: "linkdiff-test".into(),
            timeout: Duration::from_secs(5),
            max_body: 1024,
            resolver: GuardedResolver::default(),
            ca_certs: Vec::new(),
        })
        .expect("client builds")
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_blocked_by_type() {
        let url = url::Url::parse("http://localhost:9/").expect("valid");
        match fetcher().get(&url).await {
            Err(FetchError::Blocked(m)) => {
                assert!(m.starts_with("localhost resolves only to private"), "{m}")
            }
            other => panic!("expected Blocked, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_ip_literal_is_blocked_before_any_connection() {
        let url = url::Url::parse("http://0x7f000001:9/").expect("valid");
        assert!(matches!(
            fetcher().get(&url).await,
            Err(FetchError::Blocked(_))
        ));
    }
}
