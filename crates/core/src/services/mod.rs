//! The service functions, grouped by what they own. Each takes the acting principal first (or
//! the request's origin where nobody is signed in yet) and checks permission before reading.

pub mod account;
pub mod activity_views;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod backup;
pub mod directory;
pub mod email_keys;
pub mod invitations;
pub mod jobs;
pub mod mfa;
pub mod mfa_signin;
pub mod overview;
pub mod policies;
pub mod reset;
pub mod resource_view;
pub mod resources;
pub mod review_apply;
pub mod reviews;
pub mod scim;
pub mod scim_admin;
pub mod scim_groups;
pub mod service_accounts;
pub mod setup;
pub mod shares;
pub mod sharing;
pub mod sso;
pub mod sso_admin;
pub mod teams;
pub mod throttle;
pub mod users;
