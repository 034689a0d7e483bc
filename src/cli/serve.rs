//! The serve command: the gRPC service (and its metrics) until SIGTERM or Ctrl-C.

use super::flags::{Backends, ServeArgs};
use super::{Failure, open_data};
use leakdex::segment::collect_garbage;
use std::path::Path;
use std::process::ExitCode;

pub(super) fn serve(data_dir: Option<&Path>, backends: &Backends, args: ServeArgs) -> Result<ExitCode, Failure> {
    let ServeArgs {
        listen,
        region,
        grace,
        metrics_listen,
        ingest_root,
        max_upload_bytes,
        tls_cert,
        tls_key,
        client_ca,
        insecure,
    } = args;
    if let Some(address) = metrics_listen
        && !address.ip().is_loopback()
    {
        if !insecure {
            return Err(format!(
                "refusing to serve metrics on {address} beyond loopback: the endpoint is plain HTTP and its bearer token would cross the network in the clear. \
                 Serve it on loopback behind a TLS proxy, or give --insecure to accept the risk"
            )
            .into());
        }
        tracing::error!(%address, "INSECURE: serving metrics beyond loopback over plain HTTP");
        eprintln!("leakdex: INSECURE: serving metrics on {address} over plain HTTP (--insecure)");
    }
    let tls = match (&tls_cert, &tls_key) {
        (Some(cert), Some(key)) => {
            let identity = tonic::transport::Identity::from_pem(std::fs::read(cert)?, std::fs::read(key)?);
            let mut config = tonic::transport::ServerTlsConfig::new().identity(identity);
            if let Some(ca) = &client_ca {
                config = config
                    .client_ca_root(tonic::transport::Certificate::from_pem(std::fs::read(ca)?))
                    // Clients without a certificate may still present a token.
                    .client_auth_optional(true);
            }
            Some(config)
        }
        _ => None,
    };
    if tls.is_none() && !listen.ip().is_loopback() {
        if !insecure {
            return Err(format!(
                "refusing to listen on {listen} without TLS: bearer tokens and answers would cross the network in the clear. \
                 Give --tls-cert and --tls-key (and --client-ca for mutual TLS), or --insecure to accept the risk"
            )
            .into());
        }
        tracing::error!(%listen, "INSECURE: serving beyond loopback without TLS; tokens and answers cross the network in the clear");
        eprintln!("leakdex: INSECURE: serving on {listen} without TLS (--insecure)");
    }
    let (data, catalog) = open_data(data_dir, backends)?;
    collect_garbage(&data, catalog.as_ref())?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(listen).await?;
            eprintln!("leakdex: serving on {}", listener.local_addr()?);
            let policy = leakdex::service::ServerPolicy {
                ingest_roots: ingest_root,
                max_upload_bytes,
            };
            let state = leakdex::service::ServiceState::open_with(data, catalog, region, policy)?;
            if let Some(address) = metrics_listen {
                let metrics = std::net::TcpListener::bind(address)?;
                eprintln!("leakdex: metrics on http://{}/metrics", metrics.local_addr()?);
                leakdex::service::serve_metrics(metrics, state.clone())?;
            }
            let grace = std::time::Duration::from_secs(grace);
            leakdex::service::serve_tls(listener, state, shutdown_signal(), grace, tls).await
        })
        .map_err(|error| -> Failure { error.to_string().into() })?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
