#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step aborts the test"
)]

//! End-to-end tests: the real server on 127.0.0.1:0 with a fresh database per test, on SQLite and
//! (when `CITYLOOP_TEST_PG_URL` is set) PostgreSQL.

mod helpers;

mod auth;
mod basedata;
mod cases;
mod cli;
mod crash;
mod errors;
mod imports;
mod live;
mod open311;
mod org;
mod org_pages;
mod public;
mod public_web;
mod standards;
mod web;
