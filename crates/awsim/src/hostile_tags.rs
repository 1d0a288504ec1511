//! Tags EC2 allows and Security Hub refuses, on a share of generated nodes, so that every
//! suite on a generated fleet meets them as production does.
//!
//! EC2 allows any character in its tags ("Although EC2 allows for any character in its tags,
//! other AWS services are more restrictive", EC2 user guide, "Tag restrictions"), and an empty
//! value. Security Hub's `Resources[].Tags` take letters, numbers, spaces and `_ . : / = + - @`
//! only, every value a `NonEmptyString` (Security Hub user guide, "Tagging Security Hub
//! resources"; the model's `.*\S.*`): a finding that copies one of these tags as it is fails.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::fleet::AccountSpec;

/// Share of generated nodes (percent) given such tags unless the spec says otherwise.
pub const DEFAULT_PERCENT: u32 = 10;

/// The tags: refused characters in a value, in a key, an empty value, a blank value, and a
/// key with nothing acceptable in it.
pub const REFUSED_BY_SECURITY_HUB: &[(&str, &str)] = &[
    ("Owner", "R&D (ops)"),
    ("Cost Center (EU)", "4711"),
    ("Backup", ""),
    ("Contact", "ops, on-call <ops@example.com>"),
    ("Notes", "   "),
    ("#", "*"),
];

/// Gives `percent` of the nodes one or two of [`REFUSED_BY_SECURITY_HUB`], from a random
/// stream of their own (from `seed`), so the rest of the fleet is what it would be without.
pub(crate) fn add(accounts: &mut [AccountSpec], percent: u32, seed: u64) {
    if percent == 0 {
        return;
    }
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x7a95_0b1d);
    let share = f64::from(percent.min(100)) / 100.0;
    for node in accounts.iter_mut().flat_map(|a| a.instances.iter_mut()) {
        if !rng.random_bool(share) {
            continue;
        }
        for _ in 0..rng.random_range(1..=2) {
            let (k, v) =
                REFUSED_BY_SECURITY_HUB[rng.random_range(0..REFUSED_BY_SECURITY_HUB.len())];
            node.tags.insert(k.to_string(), v.to_string());
        }
    }
}
