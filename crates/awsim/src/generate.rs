//! The seeded fleet generator: `accounts=3,regions=2,instances=500,patches=40[,seed=N]` gives a
//! realistic organization. (Filled in by the SSM work; this is the interface.)

use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::fleet::Fleet;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSpec {
    /// Member accounts (the management account is one of them).
    pub accounts: usize,
    /// Regions per account.
    pub regions: usize,
    /// Managed nodes per account and Region.
    pub instances: usize,
    /// Patches per node (installed and missing together).
    pub patches: usize,
    /// Seed.
    pub seed: u64,
}

impl FromStr for GenerateSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = GenerateSpec {
            accounts: 1,
            regions: 1,
            instances: 10,
            patches: 20,
            seed: 1,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                format!("generate spec part `{part}` is not KEY=N (e.g. accounts=3,regions=2)")
            })?;
            let n: u64 = v
                .parse()
                .map_err(|_| format!("generate spec `{k}={v}`: `{v}` is not a whole number"))?;
            match k {
                "accounts" => spec.accounts = n as usize,
                "regions" => spec.regions = n as usize,
                "instances" => spec.instances = n as usize,
                "patches" => spec.patches = n as usize,
                "seed" => spec.seed = n,
                other => {
                    return Err(format!(
                        "unknown generate key `{other}`: use accounts, regions, instances, patches, seed"
                    ));
                }
            }
        }
        if spec.accounts == 0 || spec.regions == 0 {
            return Err("generate spec needs accounts >= 1 and regions >= 1".into());
        }
        if spec.regions > 16 {
            return Err("generate spec: at most 16 regions".into());
        }
        Ok(spec)
    }
}

/// Generates a fleet whose times are relative to `now`.
pub fn generate(spec: &GenerateSpec, now: DateTime<Utc>) -> Fleet {
    let _ = (spec, now);
    Fleet::default()
}
