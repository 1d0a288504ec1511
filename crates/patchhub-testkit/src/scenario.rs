//! Changes to a running fleet, as they happen to a real one: patches installed behind SSM's back
//! and reported at the next scan, nodes terminated, roles taken away.

use awsim::fleet::{PatchSpec, RoleSpec};
use awsim::{Awsim, Fleet};

/// Marks the patches of `nodes` that `which` picks INSTALLED in awsim's true state, then rescans
/// the nodes through SSM (`AWS-RunPatchBaseline` Scan), so SSM reports them from now on.
pub async fn install(
    sim: &Awsim,
    account: &str,
    region: &str,
    nodes: &[String],
    which: impl Fn(&PatchSpec) -> bool,
) {
    {
        let mut world = sim.sim().world();
        for node in nodes {
            let patches = world
                .region_mut(account, region)
                .ssm
                .true_patches_mut(node)
                .unwrap_or_else(|| panic!("node {node} in awsim"));
            for p in patches.iter_mut().filter(|p| which(p)) {
                p.state = "INSTALLED".into();
                p.installed_time = Some(chrono::Utc::now());
            }
        }
    }
    let ssm = aws_sdk_ssm::Client::new(&crate::sdk(sim, account, region).await);
    run_patch_baseline(&ssm, nodes, "Scan").await;
}

/// Runs `AWS-RunPatchBaseline` with `operation` (`Scan` or `Install`) on `nodes`, at most 50 per
/// `SendCommand` (its limit of instance ids).
pub async fn run_patch_baseline(ssm: &aws_sdk_ssm::Client, nodes: &[String], operation: &str) {
    for chunk in nodes.chunks(50) {
        ssm.send_command()
            .document_name("AWS-RunPatchBaseline")
            .set_instance_ids(Some(chunk.to_vec()))
            .parameters("Operation", vec![operation.to_string()])
            .send()
            .await
            .expect("SendCommand");
    }
}

/// Terminates `node`: it disappears from SSM; Security Hub keeps its findings.
pub fn terminate(sim: &Awsim, account: &str, node: &str) {
    edit_account(sim, account, |a| a.instances.retain(|i| i.id != node));
}

/// Takes the role `name` away from `account` (`present: false`) or gives it back, trusting the
/// accounts the same role trusts elsewhere in the fleet (the management account by default).
pub fn set_role(sim: &Awsim, account: &str, name: &str, present: bool) {
    let trusted = sim
        .export_fleet()
        .accounts
        .iter()
        .flat_map(|a| a.roles.iter())
        .find(|r| r.name == name)
        .map(|r| r.trusted_accounts.clone())
        .unwrap_or_default();
    edit_account(sim, account, |a| {
        a.roles.retain(|r| r.name != name);
        if present {
            a.roles.push(RoleSpec {
                trusted_accounts: trusted,
                ..RoleSpec::named(name)
            });
        }
    });
}

/// Makes the role `name` of every account trust every account of the fleet, for tests whose
/// caller is not the management account (an administrator, a delegated administrator): their
/// deployment names that account in the role's trust policy.
pub fn trust_every_account(sim: &Awsim, name: &str) {
    let mut fleet = sim.export_fleet();
    let ids: Vec<String> = fleet.accounts.iter().map(|a| a.id.clone()).collect();
    for role in fleet
        .accounts
        .iter_mut()
        .flat_map(|a| a.roles.iter_mut())
        .filter(|r| r.name == name)
    {
        role.trusted_accounts = ids.clone();
    }
    sim.load_fleet(fleet).expect("fleet loads");
}

/// Applies `edit` to `account` in the fleet awsim holds and loads the result.
pub fn edit_account(sim: &Awsim, account: &str, edit: impl FnOnce(&mut awsim::fleet::AccountSpec)) {
    let mut fleet = sim.export_fleet();
    let a = fleet
        .accounts
        .iter_mut()
        .find(|a| a.id == account)
        .unwrap_or_else(|| panic!("account {account} in awsim"));
    edit(a);
    sim.load_fleet(fleet).expect("fleet loads");
}

/// The usual change between two syncs: every missing patch installed on every third online
/// non-compliant node of the account in the Region (rescanned through SSM), and one other scanned
/// node there terminated. Returns the fleet as it now stands (pass it to
/// [`crate::oracle::truth`]).
pub async fn change(sim: &Awsim, account: &str, region: &str) -> Fleet {
    let fleet = sim.export_fleet();
    let candidates: Vec<String> = crate::oracle::nodes_with_missing(&fleet, account, region, 1)
        .into_iter()
        .map(|i| i.id.clone())
        .collect();
    let patched: Vec<String> = candidates.iter().step_by(3).cloned().collect();
    let gone = crate::oracle::scanned(&fleet, account, region)
        .find(|i| !patched.contains(&i.id))
        .map(|i| i.id.clone())
        .expect("a node to terminate");
    terminate(sim, account, &gone);
    install(sim, account, region, &patched, |p| p.state == "MISSING").await;
    sim.export_fleet()
}
