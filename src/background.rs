//! A runtime of a seam's own for the async clients behind synchronous seams (object storage,
//! the PostgreSQL catalog): the seam hands each request to it and waits, so its calls work
//! from any thread — a rayon worker, the CLI, or a server's `spawn_blocking` — and never start
//! or drop a runtime inside another one.

use std::future::Future;

/// Two worker threads: the requests are network round trips, not computation.
pub struct Background {
    /// Always `Some` but while dropping.
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Background")
    }
}

impl Background {
    /// Starts the runtime; its threads are named `leakdex-{name}`.
    pub fn start(name: &str) -> std::io::Result<Background> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(format!("leakdex-{name}"))
            .enable_all()
            .build()?;
        Ok(Background { runtime: Some(runtime) })
    }

    /// Runs `request` on the runtime and waits for its answer; `None` if the runtime stopped
    /// before answering.
    pub fn run<T: Send + 'static>(&self, request: impl Future<Output = T> + Send + 'static) -> Option<T> {
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        self.runtime.as_ref()?.spawn(async move {
            let _ = answer.send(request.await);
        });
        answered.recv().ok()
    }

    /// Starts `task` on the runtime without waiting for it; it ends with the runtime.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        if let Some(runtime) = &self.runtime {
            runtime.spawn(task);
        }
    }
}

impl Drop for Background {
    /// Without waiting for the runtime's threads: a runtime dropped while waiting would panic
    /// inside a server's async code.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
