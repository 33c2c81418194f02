//! End-to-end tests: the real host on a bound port with a temporary data
//! directory and the real mini-app components built from `miniapps/`,
//! `examples/` and the test fixture `host/tests/fixtures/probe`, driven over
//! HTTP. One binary (modules per area) so the host links once.

// The test modules share helpers with `pub`; nothing here is exported.
#![allow(unreachable_pub)]

mod accounts;
mod appeals;
mod apps;
mod audit;
mod browser;
mod child_host;
mod config;
mod consent;
mod contract;
mod crash;
mod dev_host;
mod divisions;
mod exam_scores;
mod failover;
mod hospital;
mod id_tokens;
mod identity;
mod load_balancer;
mod log_lines;
mod lottery;
mod metrics;
mod no_id_number_in_logs;
mod notifications;
mod outbound;
mod payments;
mod postgres;
mod publishing;
mod registration;
mod sandbox;
mod schedule;
mod security;
mod several_hosts;
mod signing;
mod social_insurance;
mod standard;
mod storage;
mod support;
mod views;
