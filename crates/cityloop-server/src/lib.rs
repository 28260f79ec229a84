//! The cityloop server as a library: configuration, engine selection and start-up, shared by the
//! `cityloop` binary and the integration tests (which start the real server on port 0).

pub mod backend;
pub mod config;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use cityloop_app::{App, Clock};

use crate::backend::Backend;
use crate::config::{Config, redact_url};

/// Opens the database named by the configuration (migrating when allowed) and builds the use cases.
pub async fn open_app(cfg: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<App>> {
    let backend = Backend::open_ready(&cfg.database)
        .await
        .with_context(|| format!("database {}", redact_url(&cfg.database.url)))?;
    let app = App::new(backend.store(), clock, cfg.app_config())?;
    app.prepare().await.context("loading built-in data")?;
    Ok(Arc::new(app))
}

/// A server accepting connections.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    follower: tokio::task::JoinHandle<()>,
    worker: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, and closes the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.follower.abort();
        self.worker.abort();
        self.task.await.context("server task")?.context("server")?;
        self.app.store().close().await;
        Ok(())
    }
}

/// Binds `server.listen` (port 0 picks a free port) and serves `app` in the background.
pub async fn start(cfg: &Config, app: Arc<App>) -> anyhow::Result<Running> {
    let addr: SocketAddr = cfg.server.listen.parse().context("server.listen")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    let router = cityloop_http::router(app.clone(), cfg.http_config());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    // Other instances on the same PostgreSQL database change base data and the calendar too; follow
    // their revision stamps.
    let follower = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = app.refresh_spatial_if_changed().await {
                    tracing::warn!(error = %e, "could not refresh the spatial index");
                }
                if let Err(e) = app.refresh_calendar_if_changed().await {
                    tracing::warn!(error = %e, "could not refresh the working calendar");
                }
                app.invalidate_rules();
            }
        })
    };
    let worker = spawn_worker(cfg, app.clone());
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await
    });
    Ok(Running {
        addr,
        app,
        shutdown: tx,
        task,
        follower,
        worker,
    })
}

/// Timers, notification delivery and evidence cleanup. Every instance runs it; the storage
/// layer makes concurrent passes safe (row locks with SKIP LOCKED on PostgreSQL).
fn spawn_worker(cfg: &Config, app: Arc<App>) -> tokio::task::JoinHandle<()> {
    let mut notifiers: Vec<Arc<dyn cityloop_app::cases::Notifier>> = Vec::new();
    if !cfg.cases.webhook_url.is_empty() {
        notifiers.push(Arc::new(cityloop_app::cases::WebhookNotifier {
            url: cfg.cases.webhook_url.clone(),
            client: reqwest::Client::new(),
        }));
    }
    // 12345 platforms name their own webhook on their partner key.
    notifiers.push(Arc::new(cityloop_app::public::HotlineNotifier {
        client: reqwest::Client::new(),
    }));
    let every = std::time::Duration::from_secs(cfg.cases.timer_interval_secs.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        let mut passes: u64 = 0;
        loop {
            tick.tick().await;
            passes += 1;
            match app.tick_timers().await {
                Ok(r) if r.warnings + r.overdue > 0 => {
                    tracing::info!(warnings = r.warnings, overdue = r.overdue, "case clocks")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "timer pass failed"),
            }
            if let Err(e) = app.deliver_outbox(&notifiers).await {
                tracing::warn!(error = %e, "notification delivery failed");
            }
            if passes % (3600 / every.as_secs().max(1)).max(1) == 1 {
                match app.remove_orphan_blobs().await {
                    Ok(n) if n > 0 => tracing::info!(removed = n, "orphan evidence removed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "evidence cleanup failed"),
                }
            }
        }
    })
}
