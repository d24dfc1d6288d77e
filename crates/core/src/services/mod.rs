//! The service functions, grouped by what they own. Each takes the acting principal first (or
//! the request's origin where nobody is signed in yet) and checks permission before reading.

pub mod account;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod directory;
pub mod invitations;
pub mod mfa;
pub mod policies;
pub mod reset;
pub mod resources;
pub mod setup;
pub mod sharing;
pub mod teams;
pub mod throttle;
pub mod users;
