//! End-to-end tests: the real host on a bound port with a temporary data
//! directory and the real mini-app components built from `miniapps/`,
//! `examples/` and the test fixture `host/tests/fixtures/probe`, driven over
//! HTTP. One binary (modules per area) so the host links once.

mod accounts;
mod apps;
mod audit;
mod sandbox;
mod support;
