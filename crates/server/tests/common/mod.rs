//! The shared test harness (`keyward-testkit`), under the name the test files use.
#![allow(unused_imports)]

pub use keyward_testkit::*;
