//! CPU-heavy work (argon2 hashing) off the async workers.

use crate::error::{ServiceError, ServiceResult};

/// Runs `f` on tokio's blocking pool and returns its result, so that tens of
/// milliseconds of hashing do not stall the requests sharing an async
/// worker. Errors: `Unavailable` if `f` panicked or the runtime is shutting
/// down (answered 503 over HTTP).
pub async fn run<T, F>(f: F) -> ServiceResult<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "blocking task");
        ServiceError::Unavailable("the work could not be done; try again".into())
    })
}
