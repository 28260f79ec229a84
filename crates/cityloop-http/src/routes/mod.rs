pub mod audit;
pub mod auth;
pub mod basedata;
pub mod cases;
pub mod evaluation;
pub mod org;
pub mod standards;
pub mod users;
