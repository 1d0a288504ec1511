//! The SDK side of patchhub: reads patch compliance from SSM and writes findings to Security Hub,
//! fanning out over accounts and Regions within AWS's quotas. (Built by the `patchhub sync` issue.)
