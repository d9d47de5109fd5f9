//! `mon backup FILE`: saves an online, consistent copy of the server's store
//! (`POST /api/v1/admin/backup`, admin token) to a new file.
//!
//! The answer is written to `FILE.part` and renamed to `FILE` only once it is complete and
//! starts with SQLite's header, so `FILE` is never a truncated copy.

use crate::{Ctx, Outcome};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Every SQLite database file starts with these 16 bytes.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

pub(crate) fn run(ctx: &Ctx, file: &Path) -> Outcome {
    match save(ctx, file) {
        Ok(bytes) => {
            outln!("wrote {} ({bytes} bytes)", file.display());
            Outcome::Ok
        }
        Err(outcome) => outcome,
    }
}

fn save(ctx: &Ctx, file: &Path) -> Result<u64, Outcome> {
    if file.exists() {
        return Err(Outcome::Usage(format!(
            "{} already exists; give a new file name (a backup never overwrites)",
            file.display()
        )));
    }
    let part = part_path(file);
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&part)
        .map_err(|e| local(&part, "cannot create", &e))?;
    let result = download(ctx, &mut out, &part).and_then(|bytes| {
        check_header(&part)?;
        std::fs::rename(&part, file).map_err(|e| local(file, "cannot rename the copy to", &e))?;
        Ok(bytes)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

/// Streams the answer into `out` (no timeout: a large store takes its time) and syncs it.
fn download(ctx: &Ctx, out: &mut File, part: &Path) -> Result<u64, Outcome> {
    let (url, mut response) =
        ctx.client
            .send(reqwest::Method::POST, "/api/v1/admin/backup", None, None)?;
    let media = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if media != mon_api::SQLITE_MEDIA_TYPE {
        return Err(Outcome::Unreachable(format!(
            "{url} answered {media:?}, not an SQLite file; is the server a matching mon version?"
        )));
    }
    let bytes = response
        .copy_to(out)
        .map_err(|e| Outcome::Unreachable(format!("{url}: the download broke off: {e}")))?;
    out.sync_all()
        .map_err(|e| local(part, "cannot write", &e))?;
    Ok(bytes)
}

fn check_header(part: &Path) -> Result<(), Outcome> {
    let mut header = [0u8; 16];
    File::open(part)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(|e| local(part, "cannot read back", &e))?;
    if &header != SQLITE_HEADER {
        return Err(Outcome::Unreachable(format!(
            "the server's answer is not an SQLite database (saved nothing to {})",
            part.display()
        )));
    }
    Ok(())
}

fn part_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

fn local(path: &Path, what: &str, e: &std::io::Error) -> Outcome {
    Outcome::Usage(format!("{what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_partial_file_sits_beside_the_backup() {
        assert_eq!(
            super::part_path("/var/backups/mon.db".as_ref()),
            std::path::PathBuf::from("/var/backups/mon.db.part")
        );
    }
}
