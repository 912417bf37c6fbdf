//! Running the runtime: the intake server and the dispatcher over one
//! store, with the configuration reloaded when its files change (checked
//! first: a broken change leaves the running configuration in place and is
//! reported loudly).

use crate::config::{Config, load_dir};
use crate::dispatch::Dispatcher;
use crate::intake::{Intake, router};
use crate::store::Store;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio::sync::Notify;

/// A running runtime.
pub struct Running {
    /// Where the intake listens.
    pub address: SocketAddr,
    /// The store.
    pub store: Store,
    /// The shared configuration.
    pub config: Arc<RwLock<Arc<Config>>>,
    /// Notify to stop the dispatcher and the reloader.
    pub stop: Arc<Notify>,
}

/// Starts the intake on `listen` and the dispatcher, for the tenants of
/// `config_dir` (watched for changes when `watch` is set).
pub async fn start(config_dir: &Path, store_path: &Path, listen: SocketAddr, watch: bool) -> Result<Running, String> {
    let config = load_dir(config_dir, None).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!(
            "the configuration has {} problem(s):\n{}",
            errors.len(),
            lines.join("\n")
        )
    })?;
    let config = Arc::new(RwLock::new(Arc::new(config)));
    let store = Store::open(store_path).map_err(|e| format!("{}: {e}", store_path.display()))?;
    let recovered = store.recover().await.map_err(|e| e.to_string())?;
    if recovered > 0 {
        tracing::warn!(
            recovered,
            "deliveries in flight when the last process stopped are due again"
        );
    }
    let dispatcher = Dispatcher::new(store.clone(), config.clone())?;
    let intake = Arc::new(Intake {
        config: config.clone(),
        store: store.clone(),
        accepted: dispatcher.wake.clone(),
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let app = router(intake);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the intake server stopped");
        }
    });
    let stop = Arc::new(Notify::new());
    tokio::spawn(dispatcher.run(stop.clone()));
    if watch {
        tokio::spawn(reload_loop(config_dir.to_path_buf(), config.clone(), stop.clone()));
    }
    // Idempotency keys past their time are removed hourly.
    let purge_store = store.clone();
    let purge_stop = stop.clone();
    tokio::spawn(async move {
        loop {
            match purge_store.purge_expired_keys().await {
                Ok(n) if n > 0 => tracing::info!(n, "expired idempotency keys removed"),
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "cannot remove expired idempotency keys"),
            }
            tokio::select! {
                () = purge_stop.notified() => return,
                () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            }
        }
    });
    tracing::info!(%address, store = %store_path.display(), "mapwright is running");
    Ok(Running {
        address,
        store,
        config,
        stop,
    })
}

/// The newest modification time among the config files and the mappings
/// they route to.
fn fingerprint(dir: &Path, config: &Config) -> Option<SystemTime> {
    let mut newest = None;
    let mut look = |path: &Path| {
        if let Ok(modified) = std::fs::metadata(path).and_then(|m| m.modified()) {
            newest = Some(newest.map_or(modified, |n: SystemTime| n.max(modified)));
        }
    };
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            look(&entry.path());
        }
    }
    for tenant in config.tenants.values() {
        for route in &tenant.routes {
            look(&route.mapping_file);
        }
    }
    newest
}

async fn reload_loop(dir: PathBuf, config: Arc<RwLock<Arc<Config>>>, stop: Arc<Notify>) {
    let current = || config.read().map(|c| c.clone()).ok();
    let mut seen = current().and_then(|c| fingerprint(&dir, &c));
    loop {
        tokio::select! {
            () = stop.notified() => return,
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        let Some(running) = current() else { return };
        let now = fingerprint(&dir, &running);
        if now == seen {
            continue;
        }
        seen = now;
        match load_dir(&dir, None) {
            Ok(fresh) => {
                if let Ok(mut slot) = config.write() {
                    *slot = Arc::new(fresh);
                }
                tracing::info!(config = %dir.display(), "configuration reloaded");
            }
            Err(errors) => {
                for error in &errors {
                    tracing::error!(%error, "configuration change refused; the previous configuration keeps running");
                }
            }
        }
    }
}
