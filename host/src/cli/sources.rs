//! A mini-app crate's sources as `cityhost dev` watches them and
//! `cityhost publish` checks its build against them: everything under
//! `src/`, the manifest and `Cargo.toml`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::registry::MANIFEST_FILE;

/// The newest modification among the sources of the crate in `dir`, and
/// the file it was; `None` if none of them can be read.
pub(super) fn newest_change(dir: &Path) -> Option<(SystemTime, PathBuf)> {
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    let mut stack = vec![
        dir.join("src"),
        dir.join(MANIFEST_FILE),
        dir.join("Cargo.toml"),
    ];
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
            }
        } else if let Ok(modified) = meta.modified()
            && newest.as_ref().is_none_or(|(time, _)| modified > *time)
        {
            newest = Some((modified, path));
        }
    }
    newest
}
