pub mod audit;
pub mod auth;
pub mod org;
pub mod users;
