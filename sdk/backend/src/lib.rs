//! What a department's own system needs to run beside a CityHost host
//! under `cityhost demo`, `cityhost dev` and the host's tests (an app's
//! `[dev.backend]`, docs/manifest.md):
//!
//! - [`launch`]: the launch protocol. The host starts the backend with
//!   `--bind 127.0.0.1:0 --data DIR --exit-with-stdin`, reads the first line
//!   of its standard output, `listening on http://ADDRESS`, and keeps its
//!   standard input open for as long as the backend should run.
//! - [`api`]: error answers that name the field, and JSON bodies read
//!   the same way.
//! - [`bearer`]: the staff's bearer token, kept in the data directory.
//! - [`data_file`]: the backend's data as one JSON file, seeded on first
//!   start and replaced atomically on every change.
//! - [`testing`]: the backend's binary started the host's way, for its own
//!   tests over real HTTP.
//!
//! A department's real system in production needs none of this: the host
//! reaches it at the origin the operator configures.

pub mod api;
pub mod bearer;
pub mod data_file;
pub mod launch;
pub mod testing;
