//! Open311 GeoReport v2 on the wire, without I/O: documents rendered as the spec's XML or as
//! Spark-convention JSON, the error body, W3C datetimes, the GET query and POST form with their
//! defaults and errors, and the projection of case steps onto Open311 statuses.

pub mod doc;
pub mod error;
pub mod input;
pub mod status;
pub mod time;

pub use doc::{Doc, Format, Record, Value};
pub use error::{ErrorKind, Open311Error};
pub use input::{NewRequest, RequestsQuery, StatusFilter};

/// The specification URL discovery names.
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
