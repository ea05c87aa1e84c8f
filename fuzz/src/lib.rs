//! disco's parsers of untrusted input, compiled from disco's own source files, and the
//! properties the fuzz targets check on them.
//!
//! The modules are included by path rather than through a dependency on the `disco` crate:
//! they need nothing but `serde_json`, while the whole crate would build actix-web, tokio,
//! rustls and a bundled SQLite with coverage instrumentation for no gain.

#![allow(dead_code, unused_imports)]

#[path = "../../src/cluster/inject.rs"]
pub mod inject;
#[path = "../../src/occi/mod.rs"]
pub mod occi;

#[path = "../checks.rs"]
pub mod checks;
