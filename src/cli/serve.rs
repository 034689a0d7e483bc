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
        cluster,
    } = args;
    if cluster.cluster_listen.is_some() {
        let missing: Vec<&str> = [
            (backends.catalog_url.is_none(), "--catalog"),
            (backends.storage.is_none(), "--storage"),
        ]
        .into_iter()
        .filter_map(|(missing, flag)| missing.then_some(flag))
        .collect();
        if !missing.is_empty() {
            return Err(format!(
                "a cluster's nodes share one catalog and one segment store: give {} with --cluster-listen",
                missing.join(" and ")
            )
            .into());
        }
    }
    let cluster_tls = match (&cluster.cluster_ca, &tls_cert) {
        (Some(ca), _) => Some(
            tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(std::fs::read(ca)?)),
        ),
        (None, Some(_)) if cluster.cluster_listen.is_some() => {
            return Err("a cluster node serving TLS calls the others over TLS: give --cluster-ca, the CA that signed their certificates".into());
        }
        (None, _) => None,
    };
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
    let key = data.key();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|error| format!("--listen {listen}: {error}"))?;
            let scheme = if tls.is_some() { "https" } else { "http" };
            // Joined (not yet ready: no work comes) before anything is announced, so a flag
            // that cannot work fails first.
            let joined = match cluster.cluster_listen {
                Some(gossip) => {
                    let config = cluster_config(&cluster, gossip, listener.local_addr()?, scheme, &key).await?;
                    let line = format!(
                        "leakdex: cluster node {} gossiping on {} as {}, gRPC at {}",
                        config.node_id, config.gossip_listen, config.gossip_advertise, config.grpc_url
                    );
                    let node_id = config.node_id.clone();
                    let membership = std::sync::Arc::new(leakdex::cluster::Membership::join(config).await?);
                    Some((membership, node_id, line))
                }
                None => None,
            };
            eprintln!("leakdex: serving on {}", listener.local_addr()?);
            if let Some((_, _, line)) = &joined {
                eprintln!("{line}");
            }
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
            let membership = match joined {
                Some((membership, node_id, _)) => {
                    state.join_cluster(leakdex::service::cluster::Clustered::new(
                        membership.members(),
                        &key,
                        cluster_tls,
                        std::time::Duration::from_millis(cluster.part_timeout_ms.max(1)),
                    ));
                    // The listener is bound: calls sent from now wait in its backlog until this
                    // node sees itself ready (so its own placement holds it) and serves.
                    membership.set_ready(true).await;
                    let mut members = membership.members();
                    let seen = tokio::time::timeout(std::time::Duration::from_secs(30), async {
                        while !members.borrow_and_update().ready.contains_key(&node_id) {
                            if members.changed().await.is_err() {
                                break;
                            }
                        }
                    })
                    .await;
                    if seen.is_err() {
                        tracing::warn!("this node did not see itself ready within 30 s; serving anyway");
                    }
                    Some(membership)
                }
                None => None,
            };
            // After joining: a node fetches its partitions, a single server all of them.
            leakdex::service::cluster::keep_share_fetched(state.clone())?;
            if let Some(membership) = &membership
                && !cluster.seeds.is_empty()
            {
                alone_warning(membership.members(), cluster.gossip_interval_ms);
            }
            let leaving = membership.clone();
            let shutdown = async move {
                shutdown_signal().await;
                // Out of the placement first, so the others stop sending parts here.
                if let Some(membership) = leaving {
                    membership.set_ready(false).await;
                }
            };
            leakdex::service::serve_tls(listener, state, shutdown, grace, tls).await
        })
        .map_err(|error| -> Failure { error.to_string().into() })?;
    Ok(ExitCode::SUCCESS)
}

/// How this node joins: its id, where gossip is heard and sent, the gRPC URL the others dial.
async fn cluster_config(
    cluster: &super::flags::ClusterArgs,
    gossip_listen: std::net::SocketAddr,
    listening: std::net::SocketAddr,
    scheme: &str,
    key: &[u8; 16],
) -> Result<leakdex::cluster::ClusterConfig, String> {
    let grpc = match &cluster.advertise {
        Some(advertise) => advertise.clone(),
        None if !listening.ip().is_unspecified() => listening.to_string(),
        None => {
            return Err(
                "--listen is a wildcard address: give --advertise HOST:PORT, where the other nodes reach this one"
                    .into(),
            );
        }
    };
    // Port 0: a free port, chosen here so that it can be advertised (chitchat binds it next).
    let gossip_listen = if gossip_listen.port() == 0 {
        std::net::UdpSocket::bind(gossip_listen)
            .and_then(|socket| socket.local_addr())
            .map_err(|error| format!("--cluster-listen {gossip_listen}: {error}"))?
    } else {
        gossip_listen
    };
    let gossip_advertise = if gossip_listen.ip().is_unspecified() {
        let host = grpc.rsplit_once(':').map_or(grpc.as_str(), |(host, _)| host);
        tokio::net::lookup_host((host.trim_start_matches('[').trim_end_matches(']'), gossip_listen.port()))
            .await
            .map_err(|error| format!("--advertise {grpc}: {error}"))?
            .next()
            .ok_or_else(|| format!("--advertise {grpc}: the host has no address"))?
    } else {
        gossip_listen
    };
    let node_id = match &cluster.node_id {
        Some(id) => id.clone(),
        None => host_name().ok_or("no host name to take the node id from: give --node-id")?,
    };
    Ok(leakdex::cluster::ClusterConfig {
        node_id,
        gossip_listen,
        gossip_advertise,
        seeds: cluster.seeds.clone(),
        grpc_url: format!("{scheme}://{grpc}"),
        replicas: cluster.replicas,
        gossip_interval: std::time::Duration::from_millis(cluster.gossip_interval_ms.max(10)),
        rebalance_after: std::time::Duration::from_secs(cluster.rebalance_after),
        cluster_id: leakdex::cluster::cluster_id(key),
    })
}

/// Says so, once, if a node given seeds still sees no other node after 20 gossip rounds: a
/// seed that names the gRPC port instead of the gossip one, a firewall on UDP, or a wrong host
/// leaves a node serving alone, which would otherwise go unnoticed.
fn alone_warning(
    mut members: tokio::sync::watch::Receiver<std::sync::Arc<leakdex::cluster::Members>>,
    gossip_interval_ms: u64,
) {
    tokio::spawn(async move {
        let rounds = std::time::Duration::from_millis(gossip_interval_ms.max(10) * 20);
        let joined = tokio::time::timeout(rounds, async {
            while members.borrow_and_update().ready.len() < 2 {
                if members.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
        if joined.is_err() {
            tracing::warn!("no other cluster node seen; check --seed");
            eprintln!(
                "leakdex: no other cluster node seen after 20 gossip rounds: this node serves alone. \
                 Check that --seed names another node's gossip address (its --cluster-listen port, UDP), \
                 that UDP passes between them, and that they share one key"
            );
        }
    });
}

/// This machine's host name (a Kubernetes pod's name).
fn host_name() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let failed = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } != 0;
    let end = buffer.iter().position(|&byte| byte == 0)?;
    (!failed && end > 0).then(|| String::from_utf8_lossy(&buffer[..end]).into_owned())
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
