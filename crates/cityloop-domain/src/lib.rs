//! The cityloop domain: value types, organisation model and the authorization policy.
//!
//! This crate performs no I/O and never reads the clock: every function that depends on time takes
//! the instant as a parameter, so rules are deterministic and testable.

pub mod area;
pub mod calendar;
pub mod case;
pub mod error;
pub mod password;
pub mod policy;
pub mod responsibility;
pub mod role;
pub mod rules;
pub mod taxonomy;

pub use area::{AreaCode, AreaLevel};
pub use error::{DomainError, FieldError};
pub use policy::{Action, DataScope, Decision, Subject, Target};
pub use role::Role;
