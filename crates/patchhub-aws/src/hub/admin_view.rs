//! What `status` and `disable` read first: the administrator's side of each Region (its hub and
//! member records) and its finding aggregator.

use super::api::{Records, Sh};
use super::{AggregatorInfo, HubState};
use crate::clients::AccountSession;
use crate::error::{ApiError, ErrorKind};
use crate::fanout::each;

/// The administrator's side of each Region, as `status` and `disable` first read it.
#[derive(Debug, Clone)]
pub(super) struct AdminView {
    pub(super) region: String,
    pub(super) hub: HubState,
    pub(super) records: Records,
    pub(super) error: Option<ApiError>,
}

pub(super) async fn admin_views(
    admin: &AccountSession,
    regions: &[String],
    width: usize,
) -> Vec<AdminView> {
    each(regions.to_vec(), width, |region| {
        let sh = Sh::new(admin, &region);
        async move {
            let mut v = AdminView {
                region,
                hub: HubState::Unknown,
                records: Records::new(),
                error: None,
            };
            match sh.hub_enabled().await {
                Ok(true) => {
                    v.hub = HubState::Enabled;
                    match sh.members(false).await {
                        Ok(r) => v.records = r,
                        Err(e) => v.error = Some(e),
                    }
                }
                Ok(false) => v.hub = HubState::Disabled,
                Err(e) if e.kind == ErrorKind::RegionDisabled => v.hub = HubState::RegionDisabled,
                Err(e) => v.error = Some(e),
            }
            v
        }
    })
    .await
}

/// The administrator's aggregator, asked in the first Region where its hub is enabled.
pub(super) async fn find_aggregator(
    admin: &AccountSession,
    views: &[AdminView],
) -> Result<Option<AggregatorInfo>, ApiError> {
    match views.iter().find(|v| v.hub == HubState::Enabled) {
        Some(v) => Sh::new(admin, &v.region).aggregator().await,
        None => Ok(None),
    }
}
