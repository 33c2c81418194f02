//! A backend's data as one JSON file: read at start (seeded from the
//! backend's bundled seed on first start) and replaced atomically — written
//! to a temporary file, synced, renamed over the old one, the directory
//! synced — so a crash leaves the old data or the new, never a mix.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::Context;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Reads `path`; if it does not exist, creates its directory and the file
/// from `seed` (JSON text) first. Errors: the directory or file cannot be
/// made or read, or the file (or seed) is not a `T` — the file is then
/// left as it is.
pub fn load_or_seed<T: Serialize + DeserializeOwned>(path: &Path, seed: &str) -> anyhow::Result<T> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if path.exists() {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        return serde_json::from_slice(&text)
            .with_context(|| format!("parsing {}", path.display()));
    }
    let data: T = serde_json::from_str(seed).context("the bundled seed")?;
    write_atomically(path, &data).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "created the data from the seed");
    Ok(data)
}

/// Replaces `path` with `data` as pretty JSON, atomically (see the module).
/// Errors: any I/O failure; the old file is then unchanged.
pub fn write_atomically<T: Serialize>(path: &Path, data: &T) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(data)?)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    // The rename itself is durable once the directory is synced.
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// A backend's data: in memory behind one lock, and in its file. A change
/// is made on a copy and [`DataFile::commit`]ted: the file first, then the
/// memory, so the memory never holds what the file does not.
pub struct DataFile<T> {
    path: PathBuf,
    data: Mutex<T>,
}

impl<T: Serialize + DeserializeOwned> DataFile<T> {
    /// The data in `path`, seeded from `seed` on first start (see
    /// [`load_or_seed`]).
    pub fn open(path: PathBuf, seed: &str) -> anyhow::Result<Self> {
        let data = load_or_seed(&path, seed)?;
        Ok(Self {
            path,
            data: Mutex::new(data),
        })
    }

    /// The data, locked. A panic while it was held cannot have left it half
    /// changed (changes replace it whole), so a poisoned lock is still good.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `next` to the file and then makes it `data` (the locked
    /// data). Errors: the file could not be written; `data` is unchanged.
    pub fn commit(&self, data: &mut T, next: T) -> std::io::Result<()> {
        write_atomically(&self.path, &next)?;
        *data = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    type Data = BTreeMap<String, u64>;

    #[test]
    fn the_seed_is_written_once_and_changes_replace_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/data.json");
        let mut data: Data = load_or_seed(&path, r#"{"a": 1}"#).unwrap();
        assert_eq!(data["a"], 1);
        data.insert("b".into(), 2);
        write_atomically(&path, &data).unwrap();
        // The seed is not read again.
        let again: Data = load_or_seed(&path, r#"{"a": 9}"#).unwrap();
        assert_eq!(again, data);
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[test]
    fn a_commit_reaches_the_file_before_the_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.json");
        let file = DataFile::<Data>::open(path.clone(), r#"{"a": 1}"#).unwrap();
        let mut data = file.lock();
        let mut next = data.clone();
        next.insert("b".into(), 2);
        file.commit(&mut data, next).unwrap();
        assert_eq!(data["b"], 2);
        drop(data);
        let reread: Data = load_or_seed(&path, "{}").unwrap();
        assert_eq!(reread, *file.lock());
        // A file that cannot be written leaves the memory as it was.
        std::fs::remove_dir_all(dir.path()).unwrap();
        let mut data = file.lock();
        let next = Data::new();
        assert!(file.commit(&mut data, next).is_err());
        assert_eq!(data["a"], 1);
    }

    #[test]
    fn a_file_that_is_not_the_data_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.json");
        std::fs::write(&path, "[1, 2]").unwrap();
        let e = load_or_seed::<Data>(&path, "{}").unwrap_err();
        assert!(format!("{e:#}").contains("parsing"), "{e:#}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[1, 2]");
        assert!(load_or_seed::<Data>(&dir.path().join("new.json"), "not json").is_err());
    }
}
