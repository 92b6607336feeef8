//! Issue 24, part 4: HTTPS like the real web. A host with a certificate from a CA of the
//! user's own (`--ca-cert`), HTTP/2 by ALPN, an `http://` → `https://` redirect, and a host
//! whose certificate is for another name (an error of kind `tls`; the run goes on).

use crate::support::*;
use axum::extract::Request;
use axum::response::{Html, IntoResponse, Redirect};
use linkdiff_testweb::WebConfig;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A test CA and a certificate it signed for `secure.test`: (CA PEM, leaf DER, key DER).
fn certificates() -> (String, Vec<u8>, Vec<u8>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "linkdiff test CA");
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["secure.test".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    (ca.pem(), leaf.der().to_vec(), key.serialize_der())
}

/// Serve `app` over TLS (HTTP/2 or HTTP/1.1 by ALPN) on a loopback port.
async fn serve_tls(app: axum::Router, cert: Vec<u8>, key: Vec<u8>) -> SocketAddr {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        )
        .unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                // A handshake the client refuses (the wrong-name host) just ends here.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_hosts_with_a_ca_of_your_own_http2_a_redirect_and_a_wrong_name() {
    let w = web(WebConfig {
        hosts: 1,
        pages_per_host: 1,
        ..WebConfig::default()
    })
    .await;
    let home = w.web.origin(0);
    let (ca_pem, cert, key) = certificates();
    let versions: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = versions.clone();
    let page = move |body: String| {
        Html(format!(
            "<!doctype html><html><head><title>Secure</title></head><body>{body}</body></html>"
        ))
    };
    let (p1, p2) = (page, page);
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move |req: Request| {
                seen.lock().unwrap().push(format!("{:?}", req.version()));
                let home = home.clone();
                async move {
                    p1(format!(
                        "<p>See <a href=\"{home}/\">our partner</a> and <a href=\"/next\">next</a>.</p>"
                    ))
                }
            }),
        )
        .route(
            "/next",
            axum::routing::get(move || async move { p2("<p>Next page.</p>".into()) }),
        );
    let tls = serve_tls(app, cert, key).await;
    // A plain host that moved to HTTPS.
    let moved = format!("https://secure.test:{}/", tls.port());
    let plain = axum::Router::new().fallback(move || {
        let to = moved.clone();
        async move { Redirect::permanent(&to).into_response() }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain_port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, plain).await });

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &ca_pem).unwrap();
    let resolve_web = w.resolve_arg();
    let ca_path = ca.display().to_string();
    let tls_port = tls.port();
    let run = move |db: &str, date: &str, with_ca: bool| {
        let mut args: Vec<String> = [
            "crawl",
            "--url",
            &format!("http://moved.test:{plain_port}/"),
            "--url",
            &format!("https://mismatch.test:{tls_port}/"),
            "--resolve",
            &format!("moved.test:{plain_port}:127.0.0.1"),
            "--resolve",
            &format!("secure.test:{tls_port}:127.0.0.1"),
            "--resolve",
            &format!("mismatch.test:{tls_port}:127.0.0.1"),
            "--resolve",
            &resolve_web,
            "--scope",
            "all",
            "--max-depth",
            "2",
            "--rate",
            "0",
            "--retries",
            "0",
            "--progress",
            "off",
            "--as-of",
            date,
            "--db",
            db,
        ]
        .map(String::from)
        .to_vec();
        if with_ca {
            args.extend(["--ca-cert".to_string(), ca_path.clone()]);
        }
        let out = bin(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let db = dir.path().join("tls.db");
    let db_s = db.to_str().unwrap().to_string();
    let (db2, ca_ok) = (db_s.clone(), run.clone());
    let summary = tokio::task::spawn_blocking(move || ca_ok(&db2, "2026-07-01", true))
        .await
        .unwrap();
    // The wrong-name host is one error of kind tls; the rest of the run went on.
    assert!(summary.contains("(by kind: tls 1)"), "{summary}");
    let v = cli_json(
        &db_s,
        &["backlinks", "--target", "h000.test", "--mode", "domain"],
    );
    let from: Vec<&str> = v["refpages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["url_from"].as_str())
        .collect();
    assert_eq!(
        from,
        [format!("https://secure.test:{}/", tls.port())],
        "{v}"
    );
    // The redirect is the moved page's link, to the HTTPS page.
    let v = cli_json(
        &db_s,
        &[
            "backlinks",
            "--target",
            &format!("https://secure.test:{}/", tls.port()),
        ],
    );
    assert_eq!(
        v["refpages"][0]["url_from"],
        format!("http://moved.test:{plain_port}/")
    );
    assert_eq!(v["refpages"][0]["redirect"], 308, "{v}");
    assert!(
        versions.lock().unwrap().iter().all(|v| v == "HTTP/2.0"),
        "{:?}",
        versions.lock().unwrap()
    );

    // Without --ca-cert the certificate is not trusted: a tls error too.
    let db3 = dir.path().join("noca.db").display().to_string();
    let summary = tokio::task::spawn_blocking(move || run(&db3, "2026-07-01", false))
        .await
        .unwrap();
    assert!(summary.contains("(by kind: tls 2)"), "{summary}");

    // A --ca-cert that is no certificate is refused before crawling.
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let out = bin(&[
        "crawl",
        "--url",
        "https://secure.test/",
        "--ca-cert",
        bad.to_str().unwrap(),
        "--db",
        &db_s,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no PEM certificate"));
}
