//! Serving a router under [`ServeLimits`](crate::capacity::ServeLimits): deadlines
//! for the head, the body and idle keep-alive connections, a connection cap below the
//! descriptor limit, and the body budget in every request. [`serve`] is the entry point;
//! its documentation says what each protection does.
//!
//! Built on hyper's HTTP/1 connection builder rather than on `axum::serve`, which has no
//! timeout and no cap. hyper reports no phases, so the per-connection service records
//! them ([`connection`]), the bodies pace and observe the request ([`body`]), and one
//! task per connection enforces the head and idle deadlines ([`server`]).

mod body;
mod connection;
mod server;
mod service;

pub use server::{Serve, serve};
