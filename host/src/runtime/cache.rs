//! On-disk cache of compiled components. Each entry is the serialized
//! artifact of one component compiled by one engine configuration, keyed by
//! the SHA-256 of the component bytes and the engine's precompile
//! compatibility hash, so that a new wasmtime or new settings never load a
//! stale artifact. Components already loaded are also kept in memory by
//! digest, so apps sharing one component (or a release loaded again) share
//! its code instead of deserializing it once each.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The cache directory of one engine.
pub struct ComponentCache {
    dir: PathBuf,
    engine_key: String,
    /// Components loaded so far, by digest. Entries stay until the host
    /// restarts: one per distinct component ever loaded (each release of
    /// each app at most), holding its compiled code once.
    loaded: Mutex<HashMap<String, Component>>,
}

impl ComponentCache {
    /// A cache in `dir` for `engine`.
    pub fn new(dir: &Path, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir: dir.to_path_buf(),
            engine_key: format!("{:016x}", hasher.finish()),
            loaded: Mutex::new(HashMap::new()),
        })
    }

    /// SHA-256 of the component bytes, hex.
    pub fn digest(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// The compiled component for `bytes`: already in memory, or from the
    /// disk cache when present and loadable, else compiled and written to
    /// the cache; `digest` is [`Self::digest`] of `bytes`. Returns whether
    /// it came from either cache.
    pub fn load(
        &self,
        engine: &Engine,
        bytes: &[u8],
        digest: &str,
    ) -> wasmtime::Result<(Component, bool)> {
        if let Some(component) = self.compiled(engine, digest) {
            return Ok((component, true));
        }
        let component = self.compile(engine, bytes, digest)?;
        self.loaded().insert(digest.to_string(), component.clone());
        Ok((component, false))
    }

    /// The compiled component `digest` from memory or, when present and
    /// loadable, from the disk cache (then kept in memory); `None` when it
    /// must be compiled.
    pub fn compiled(&self, engine: &Engine, digest: &str) -> Option<Component> {
        if let Some(component) = self.loaded().get(digest) {
            return Some(component.clone());
        }
        let path = self.path(digest);
        if !path.exists() {
            return None;
        }
        match deserialize(engine, &path) {
            Ok(component) => {
                self.loaded().insert(digest.to_string(), component.clone());
                Some(component)
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "discarding unloadable cached component");
                None
            }
        }
    }

    fn loaded(&self) -> std::sync::MutexGuard<'_, HashMap<String, Component>> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// Compiles `bytes` and writes the artifact to the disk cache.
    fn compile(&self, engine: &Engine, bytes: &[u8], digest: &str) -> wasmtime::Result<Component> {
        let path = self.path(digest);
        let component = Component::new(engine, bytes)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let written = std::fs::write(&tmp, component.serialize()?)
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "cannot write compiled component to the cache");
        }
        Ok(component)
    }
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: the file is in the host's own data directory, written only by
    // `ComponentCache::load` from `Component::serialize` (renamed into place
    // whole), and its name carries the engine's compatibility hash;
    // wasmtime additionally checks the artifact's header and version.
    unsafe { Component::deserialize_file(engine, path) }
}
