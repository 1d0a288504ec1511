//! Long runs outlive their credentials: an assumed-role session is refreshed before it expires.
//!
//! Source: STS API reference, `AssumeRole` (`DurationSeconds` defaults to one hour and may not
//! exceed the role's maximum session duration, one hour unless the role says otherwise); awsim
//! expires sessions on its simulated clock, and the SDK configuration here reads that clock
//! (`sim_time`), so the client judges expiry on the time awsim enforces it.

use chrono::Duration;
use patchhub_aws::clients::{assume_into, base_session};
use patchhub_aws::sink::{FindingQuery, FindingSink};
use patchhub_aws::target::Target;
use patchhub_testkit::run::role;
use patchhub_testkit::{
    REGION, fast_quotas, loader, management_account, runtime, sim_time, start_with_hubs,
};

#[test]
fn assumed_role_sessions_are_refreshed_before_they_expire() {
    runtime().block_on(async {
        let (sim, fleet) = start_with_hubs("accounts=2,regions=1,instances=2,patches=2").await;
        let management = management_account(&fleet);
        let member = fleet
            .accounts
            .iter()
            .find(|a| a.id != management)
            .unwrap()
            .id
            .clone();
        let base = loader(&sim, &management, REGION)
            .time_source(sim_time(&sim))
            .load()
            .await;
        let me = base_session(&base)
            .await
            .expect("the management account's identity");
        let session = assume_into(&base, &me, &member, &role(Some("PatchhubRole")))
            .await
            .expect("the member's role trusts the management account");
        let hub = Target::new(&session, REGION, fast_quotas()).hub();
        let assumed = || sim.stats().calls_of("AssumeRole");
        let query = FindingQuery::all_patchhub();
        let read = || hub.read(&query);

        read().await.expect("fresh credentials");
        let first = assumed();
        assert_eq!(first, 1, "assumed once");
        sim.advance_clock(Duration::minutes(50));
        read().await.expect("credentials still valid");
        assert_eq!(
            assumed(),
            first,
            "no refresh while the credentials are valid"
        );
        // Past the role's one-hour maximum: the first credentials are expired in awsim, and the
        // session has asked STS again before using them.
        sim.advance_clock(Duration::minutes(15));
        read().await.expect("refreshed credentials");
        assert_eq!(assumed(), first + 1, "refreshed once");
        sim.advance_clock(Duration::hours(3));
        read().await.expect("refreshed again");
        assert_eq!(assumed(), first + 2);
    });
}
