//! The key of callers' pseudonyms when none is configured: 32 random bytes generated once
//! and kept beside the store in `<store>.privacy-key` (mode 0600), so that one caller
//! keeps one token across restarts (docs/privacy.md).

use crate::StoreError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The length of a generated key, in bytes.
const KEY_BYTES: usize = 32;

/// The file holding the generated key of the store at `store`.
pub fn privacy_key_path(store: &Path) -> PathBuf {
    let mut path = store.as_os_str().to_owned();
    path.push(".privacy-key");
    PathBuf::from(path)
}

/// The store's pseudonym key: read from [`privacy_key_path`], or generated and written
/// there first. Two processes starting together agree: the key is written to a file of
/// its own and linked into place only if no key is there yet.
///
/// # Errors
/// [`StoreError::Open`] naming the key file when it cannot be read, written, or holds
/// fewer than 32 bytes.
pub fn privacy_key(store: &Path) -> Result<Vec<u8>, StoreError> {
    let path = privacy_key_path(store);
    let error = |reason: String| StoreError::Open {
        path: path.clone(),
        reason,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| error(e.to_string()))?;
    }
    if !path.exists() {
        let mut key = [0u8; KEY_BYTES];
        getrandom::fill(&mut key).map_err(|e| error(format!("no random key: {e}")))?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let written = write_private(&tmp, &key).and_then(|()| std::fs::hard_link(&tmp, &path));
        let _ = std::fs::remove_file(&tmp);
        match written {
            Ok(()) => {}
            // Another process linked its key first: use that one.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(error(e.to_string())),
        }
    }
    let key = std::fs::read(&path).map_err(|e| error(e.to_string()))?;
    if key.len() < KEY_BYTES {
        return Err(error(format!(
            "the key file holds {} bytes, fewer than {KEY_BYTES}; remove it to generate a new key \
             (pseudonyms then change)",
            key.len()
        )));
    }
    Ok(key)
}

/// Writes `bytes` to a new file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let store = dir.path().join("data").join("mon.db");
        let key = privacy_key(&store).expect("a new key");
        assert_eq!(key.len(), KEY_BYTES);
        assert_eq!(privacy_key(&store).expect("the same key"), key);
        let other = privacy_key(&dir.path().join("other.db")).expect("another key");
        assert_ne!(other, key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(privacy_key_path(&store))
                .expect("the key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(privacy_key_path(&store), b"short").expect("truncate");
        let err = privacy_key(&store).expect_err("a short key").to_string();
        assert!(
            err.contains("mon.db.privacy-key") && err.contains("5 bytes"),
            "{err}"
        );
    }
}
