//! `awsim`: a local emulator of the AWS APIs patchhub uses — SSM patch compliance, Security Hub
//! findings, STS, Organizations and Account Management's Region list — speaking the real wire protocols so the unmodified
//! aws-sdk-rust clients talk to it through `endpoint_url`.
//!
//! It is test infrastructure and the engine of `patchhub demo`, so it is strict where AWS is strict
//! (limits, validation, error codes, quotas, account isolation) rather than convenient.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use awsim::{Awsim, Config};
//! let sim = Awsim::start(Config::default()).await?; // binds 127.0.0.1:0
//! sim.generate(&"accounts=1,regions=1,instances=10,patches=20".parse().map_err(anyhow::Error::msg)?)?;
//! println!("point the SDK at {}", sim.url());
//! # Ok(()) }
//! ```
//!
//! Requests are routed by the SigV4 credential scope (`.../REGION/SERVICE/aws4_request`) in the
//! `Authorization` header, which also names the access key and so the calling account. Everything
//! an account owns is kept per account and Region ([`world::World`]).

pub mod clock;
pub mod config;
pub mod control;
pub mod faults;
pub mod fleet;
pub mod generate;
pub mod hostile_tags;
pub mod identity;
pub mod protocol;
pub mod quota;
pub mod server;
pub mod services;
pub mod sim;
pub mod stats;
pub mod world;

pub use config::Config;
pub use fleet::Fleet;
pub use generate::GenerateSpec;
pub use server::Awsim;
pub use sim::Sim;
