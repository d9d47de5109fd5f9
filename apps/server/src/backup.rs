//! `POST /api/v1/admin/backup` (admin role): an online, consistent copy of the store,
//! streamed as the answer (`mon backup FILE` saves it).
//!
//! The copy is written next to the store (same file system, the one place the server may
//! write), opened, unlinked at once and streamed from the open file: nothing is left behind
//! however the download ends.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mon_http::ApiError;
use mon_store::Store;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) fn router(store: Store) -> Router {
    Router::new()
        .route("/api/v1/admin/backup", post(backup))
        .with_state(store)
}

async fn backup(State(store): State<Store>) -> Result<Response, ApiError> {
    let temp = temp_path(store.path());
    let copied = store.backup(&temp).await;
    let opened = copied.map_err(|e| failed(&e)).and_then(|len| {
        let file = std::fs::File::open(&temp).map_err(|e| failed(&e))?;
        Ok((file, len))
    });
    // Unlinked whether or not the copy succeeded: an open file stays readable.
    if let Err(e) = std::fs::remove_file(&temp)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %temp.display(), error = %e, "cannot remove the temporary backup file");
    }
    let (file, len) = opened?;
    let name = format!(
        "mon-backup-{}.db",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    tracing::info!(bytes = len, "store backup taken; streaming it");
    Ok((
        [
            (header::CONTENT_TYPE, mon_api::SQLITE_MEDIA_TYPE.to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(chunks(file)),
    )
        .into_response())
}

fn failed(e: &dyn std::error::Error) -> ApiError {
    ApiError::internal("writing the store backup failed", e)
}

/// The file's bytes in 64 KiB chunks, read on a blocking thread; two chunks at most wait
/// for a slow client. The thread ends when the file ends or the client goes away.
fn chunks(
    mut file: std::fs::File,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        loop {
            let mut chunk = vec![0; 64 * 1024];
            let read = match file.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            };
            chunk.truncate(read);
            if tx.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                return;
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    })
}

/// A new name beside the store file, unique within this process and across processes.
fn temp_path(store: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = store
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.join(format!(
        ".mon-backup-{}-{}.db",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}
