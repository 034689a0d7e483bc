//! The transports: every gRPC service on one listener, behind the authenticator, with health,
//! reflection and graceful shutdown; and the metrics endpoint over HTTP.

use super::metrics::FileLabels;
use super::proto::{self, corpora_server, lookup_server, provenance_server};
use super::provenance::ProvenanceService;
use super::server::{CorporaService, LookupService, MAX_MESSAGE, ServiceState};
use crate::access::role::Rpc;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Status};

/// Serves every service on `listener` until `shutdown` resolves; in-flight calls then get
/// `grace` to finish.
pub async fn serve(
    listener: TcpListener,
    state: Arc<ServiceState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    serve_tls(listener, state, shutdown, grace, None).await
}

/// [`serve`] over TLS when `tls` is given (with a client CA, clients may authenticate by
/// certificate: mutual TLS).
pub async fn serve_tls(
    listener: TcpListener,
    state: Arc<ServiceState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
    tls: Option<tonic::transport::ServerTlsConfig>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<lookup_server::LookupServer<LookupService>>()
        .await;
    health_reporter
        .set_serving::<corpora_server::CorporaServer<CorporaService>>()
        .await;
    health_reporter
        .set_serving::<provenance_server::ProvenanceServer<ProvenanceService>>()
        .await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "serving leakdex.v1");
    let (stopped_sender, stopped) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections; in-flight calls may finish");
        let _ = stopped_sender.send(());
    };
    // Health stays open to probes; reflection and every leakdex call need credentials.
    let authenticated = {
        let state = state.clone();
        move |request: Request<()>| -> Result<Request<()>, Status> {
            state.authorize(&request, Rpc::Reflection)?;
            Ok(request)
        }
    };
    let mut builder = tonic::transport::Server::builder()
        .initial_stream_window_size(super::STREAM_WINDOW)
        .initial_connection_window_size(super::CONNECTION_WINDOW);
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    let server = builder
        .add_service(health_service)
        .add_service(InterceptedService::new(reflection_v1, authenticated.clone()))
        .add_service(InterceptedService::new(reflection_v1alpha, authenticated))
        .add_service(
            lookup_server::LookupServer::new(LookupService { state: state.clone() })
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(corpora_server::CorporaServer::new(CorporaService {
            state: state.clone(),
        }))
        .add_service(provenance_server::ProvenanceServer::new(ProvenanceService {
            state: state.clone(),
        }))
        // Calls between nodes, only on a cluster node: the credential is checked on the headers,
        // before the message is read.
        .add_optional_service(state.cluster().map(|cluster| {
            InterceptedService::new(
                super::cluster::internal::partitions_server::PartitionsServer::new(super::cluster::PartitionsService {
                    state: state.clone(),
                })
                .max_decoding_message_size(super::cluster::MAX_PART_REQUEST)
                .max_encoding_message_size(super::cluster::MAX_PART_ANSWER),
                cluster.interceptor(),
            )
        }))
        // Without TCP_NODELAY a unary answer's last frames wait for the client's delayed ACK:
        // 40 ms per call on Linux (measured: search p50 44 ms over loopback, 0.5 ms in process).
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            signal,
        );
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        () = async {
            let _ = stopped.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace = ?grace, "in-flight calls did not finish within the grace period; stopping");
        }
    }
    Ok(())
}

/// Serves `GET /metrics` on `listener` from a thread of its own until the process ends. Every
/// request needs `Authorization: Bearer TOKEN` of a role that may read metrics (monitor or
/// admin); a refusal is put on the record like any other.
pub fn serve_metrics(listener: std::net::TcpListener, state: Arc<ServiceState>) -> std::io::Result<()> {
    let server = tiny_http::Server::from_listener(listener, None).map_err(std::io::Error::other)?;
    std::thread::Builder::new().name("metrics".into()).spawn(move || {
        for request in server.incoming_requests() {
            let authorization = request
                .headers()
                .iter()
                .find(|header| header.field.equiv("Authorization"))
                .map(|header| header.value.as_str().to_string());
            let response = if let Err(refusal) = state.authorize_header(authorization.as_deref(), Rpc::Metrics) {
                let code = if refusal.code() == tonic::Code::PermissionDenied {
                    403
                } else {
                    401
                };
                tiny_http::Response::from_string(format!("{}\n", refusal.message())).with_status_code(code)
            } else if request.url() == "/metrics" {
                let header = tiny_http::Header::from_bytes("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                    .expect("a valid header");
                let metrics = state.metrics();
                metrics.audit_writes.set(state.audit_writes() as i64);
                if let Some(remote) = state.data().objects() {
                    for (file, bytes) in remote.ranged.held_bytes() {
                        metrics
                            .ranged_bytes
                            .get_or_create(&FileLabels { file })
                            .set(bytes as i64);
                    }
                    metrics.cached_bytes.set(remote.cache.stats().bytes as i64);
                }
                if let Some((ready, down)) = state.cluster_view() {
                    metrics.cluster_members.set(ready as i64);
                    metrics.cluster_down.set(down as i64);
                }
                tiny_http::Response::from_string(metrics.render()).with_header(header)
            } else {
                tiny_http::Response::from_string("not found: try /metrics\n").with_status_code(404)
            };
            let _ = request.respond(response);
        }
    })?;
    Ok(())
}
