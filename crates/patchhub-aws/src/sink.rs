//! Writing to Security Hub: reading back patchhub's own findings of a scope with `GetFindings`,
//! and importing findings with `BatchImportFindings` in chunks that respect AWS's limits (100
//! findings, 6 MB per call; 240 KB per finding), retrying per-finding failures that are
//! retriable and reporting the rest. Nothing is dropped silently.

use std::future::Future;
use std::time::Duration;

use patchhub_core::finding::{self, Digest, Finding};

use crate::convert;
use crate::error::{ApiError, ErrorKind};
use crate::findings_query::{FindingFilter, Match, get_findings_as};
use crate::quota::{Api, Limiter};

/// Findings per `BatchImportFindings` call (AWS maximum).
pub(crate) const MAX_FINDINGS_PER_CALL: usize = 100;
/// Bytes per call we allow ourselves: AWS's 6 MB less a margin for the SDK's framing.
pub(crate) const MAX_BYTES_PER_CALL: usize = 6 * 1024 * 1024 - 64 * 1024;
/// Values per filter attribute (AWS maximum).
pub const MAX_FILTER_VALUES: usize = 20;
/// Rounds of retry for retriable per-finding failures.
const RETRY_ROUNDS: u32 = 4;

/// Which of patchhub's findings to read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingQuery {
    /// GeneratorIds (ORed).
    pub generators: Vec<String>,
    /// Only these nodes (at most [`MAX_FILTER_VALUES`]); `None`: the whole account and Region.
    pub nodes: Option<Vec<String>>,
}

impl FindingQuery {
    /// Every patchhub finding of the account and Region: per-patch, roll-up and stale-scan.
    pub fn all_patchhub() -> Self {
        FindingQuery {
            generators: [
                finding::GENERATOR_PATCH,
                finding::GENERATOR_ROLLUP,
                finding::GENERATOR_STALE,
            ]
            .map(str::to_string)
            .to_vec(),
            nodes: None,
        }
    }
}

/// One finding that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FailedFinding {
    /// Finding id.
    pub id: String,
    /// AWS error code or `LimitExceeded`/`CallFailed`.
    pub code: String,
    /// Why.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportOutcome {
    /// Ids accepted by Security Hub.
    pub imported: Vec<String>,
    /// Ids not accepted, with the reason (after retries).
    pub failed: Vec<FailedFinding>,
    /// The last call-level error, if a whole call failed.
    pub call_error: Option<ApiError>,
}

/// Where findings go. The Security Hub implementation is [`SecurityHubSink`].
pub trait FindingSink: Send + Sync {
    /// patchhub's findings matching the query, active and archived.
    fn read(
        &self,
        query: &FindingQuery,
    ) -> impl Future<Output = Result<Vec<Finding>, ApiError>> + Send;
    /// The [`Digest`]s of the findings [`FindingSink::read`] would return. Security Hub's sink
    /// reduces each page as it arrives, so reading the roll-ups of a large Region costs a few
    /// hundred bytes per node, not the roll-ups themselves.
    fn read_digests(
        &self,
        query: &FindingQuery,
    ) -> impl Future<Output = Result<Vec<Digest>, ApiError>> + Send {
        let read = self.read(query);
        async move { Ok(read.await?.iter().map(Finding::digest).collect()) }
    }
    /// The findings [`FindingSink::read`] would return of the nodes `keep` accepts. Security
    /// Hub's sink leaves the others out page by page, so a scan of a whole Region holds what the
    /// sync needs of it, not every finding (a Lambda sweep that continues a first sync would
    /// otherwise hold every finding the earlier invocations imported).
    fn read_nodes_where(
        &self,
        query: &FindingQuery,
        keep: &(dyn Fn(&str) -> bool + Sync),
    ) -> impl Future<Output = Result<Vec<Finding>, ApiError>> + Send {
        let read = self.read(query);
        async move {
            let mut found = read.await?;
            found.retain(|f| f.node_id().is_some_and(keep));
            Ok(found)
        }
    }
    /// Imports findings; per-finding results in the outcome.
    fn import(&self, findings: Vec<Finding>) -> impl Future<Output = ImportOutcome> + Send;
}

/// Security Hub in one account and Region.
#[derive(Debug, Clone)]
pub struct SecurityHubSink {
    client: aws_sdk_securityhub::Client,
    account: String,
    region: String,
    product_arn: String,
    limiter: Limiter,
}

/// Error codes worth retrying for a single finding.
fn retriable(code: &str) -> bool {
    let c = code.to_ascii_lowercase();
    c.contains("internal")
        || c.contains("throttl")
        || c.contains("toomanyrequests")
        || c.contains("unavailable")
        || c.contains("timeout")
}

impl SecurityHubSink {
    /// Security Hub of one account and Region, importing under `product_arn`.
    pub(crate) fn new(
        client: aws_sdk_securityhub::Client,
        account: &str,
        region: &str,
        partition: &str,
        limiter: Limiter,
    ) -> Self {
        SecurityHubSink {
            client,
            account: account.to_string(),
            region: region.to_string(),
            product_arn: patchhub_core::mapping::product_arn(partition, region, account),
            limiter,
        }
    }

    /// This sink's findings (its product, account and Region) that match the query.
    fn filter(&self, query: &FindingQuery) -> FindingFilter {
        FindingFilter {
            product_arn: Some(self.product_arn.clone()),
            account: Some(self.account.clone()),
            region: Some(self.region.clone()),
            generators: query
                .generators
                .iter()
                .map(|g| Match::Equals(g.clone()))
                .collect(),
            nodes: query.nodes.clone().unwrap_or_default(),
            ..FindingFilter::default()
        }
    }

    /// The query's findings, each passed through `keep` as its page arrives.
    async fn read_as<T: Send>(
        &self,
        query: &FindingQuery,
        keep: &(dyn Fn(Finding) -> Option<T> + Sync),
    ) -> Result<Vec<T>, ApiError> {
        let filter = self.filter(query);
        get_findings_as(
            &self.client,
            &self.account,
            &self.region,
            &self.limiter,
            &filter,
            keep,
        )
        .await
    }

    /// One `BatchImportFindings` call. Returns per-finding failures, or the call's error.
    async fn import_call(&self, batch: &[Finding]) -> Result<Vec<FailedFinding>, ApiError> {
        self.limiter.acquire(Api::BatchImportFindings).await;
        let out = self
            .client
            .batch_import_findings()
            .set_findings(Some(batch.iter().map(convert::to_sdk).collect()))
            .send()
            .await
            .map_err(|e| {
                ApiError::from_sdk(&self.account, &self.region, "BatchImportFindings", &e)
            })?;
        Ok(out
            .failed_findings()
            .iter()
            .map(|f| FailedFinding {
                id: f.id().unwrap_or_default().to_string(),
                code: f.error_code().unwrap_or("Unknown").to_string(),
                message: f.error_message().unwrap_or_default().to_string(),
            })
            .collect())
    }
}

/// Splits findings into calls within the count and size limits; findings that alone break a
/// limit come back separately.
pub fn chunk(findings: Vec<Finding>) -> (Vec<Vec<Finding>>, Vec<FailedFinding>) {
    let mut chunks = Vec::new();
    let mut rejected = Vec::new();
    let mut current: Vec<Finding> = Vec::new();
    let mut bytes = 0usize;
    for f in findings {
        if let Err(violations) = f.validate() {
            let message = violations
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            rejected.push(FailedFinding {
                id: f.id.clone(),
                code: "LimitExceeded".into(),
                message,
            });
            continue;
        }
        let size = serde_json::to_vec(&f)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if current.len() == MAX_FINDINGS_PER_CALL
            || (bytes + size > MAX_BYTES_PER_CALL && !current.is_empty())
        {
            chunks.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push(f);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    (chunks, rejected)
}

impl FindingSink for SecurityHubSink {
    async fn read(&self, query: &FindingQuery) -> Result<Vec<Finding>, ApiError> {
        self.read_as(query, &Some).await
    }

    async fn read_digests(&self, query: &FindingQuery) -> Result<Vec<Digest>, ApiError> {
        self.read_as(query, &|f| Some(f.digest())).await
    }

    async fn read_nodes_where(
        &self,
        query: &FindingQuery,
        keep: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Vec<Finding>, ApiError> {
        let keep = move |f: Finding| f.node_id().is_some_and(keep).then_some(f);
        self.read_as(query, &keep).await
    }

    async fn import(&self, findings: Vec<Finding>) -> ImportOutcome {
        let (chunks, rejected) = chunk(findings);
        let mut outcome = ImportOutcome {
            failed: rejected,
            ..ImportOutcome::default()
        };
        // Once a refused chunk yielded nothing that lands, the refusal is the caller's (no
        // permission, no hub), not one finding's: later chunks are not split again.
        let mut split = true;
        for batch in chunks {
            let (landed, refusal) = self.import_splitting(batch, split, &mut outcome).await;
            if let Some(e) = refusal
                && !landed
            {
                split = false;
                outcome.call_error = Some(e);
            }
        }
        outcome
    }
}

impl SecurityHubSink {
    /// Imports one chunk. Security Hub refuses the whole call with `AccessDeniedException` for
    /// a single finding of another account or product (AWS Support, quoted in prowler issue
    /// #867), so one such finding would otherwise cost the rest of its chunk. A refused chunk
    /// that mixes `AwsAccountId`s or `ProductArn`s is therefore split (when `split`) into one
    /// call per account and product, in the order they first appear: only such a mix can be
    /// refused in part. A refused call of one account and product is refused for the caller
    /// (no permission, no hub) and is not split. The refused findings are reported as failed.
    /// Returns whether anything landed and the refusal, if there was one.
    async fn import_splitting(
        &self,
        batch: Vec<Finding>,
        split: bool,
        outcome: &mut ImportOutcome,
    ) -> (bool, Option<ApiError>) {
        let mut landed = false;
        let mut refusal = None;
        let mut stack = vec![batch];
        while let Some(part) = stack.pop() {
            match self.import_batch(&part, outcome).await {
                Ok(n) => landed |= n > 0,
                Err(e) if split && !one_caller_scope(&part) => {
                    // Last pushed, first imported: the first group goes last onto the stack.
                    stack.extend(by_account_and_product(part).into_iter().rev());
                    refusal = Some(e);
                }
                Err(e) => {
                    outcome.failed.extend(part.iter().map(|f| FailedFinding {
                        id: f.id.clone(),
                        code: e.code.clone().unwrap_or_else(|| "AccessDenied".into()),
                        message: format!(
                            "Security Hub refused the whole BatchImportFindings call this finding was in: {}",
                            e.message
                        ),
                    }));
                    refusal = Some(e);
                }
            }
        }
        (landed, refusal)
    }

    /// One batch, retrying retriable per-finding failures and call errors other than a refusal.
    /// Returns how many findings landed, or the call's `AccessDenied` refusal (not retried,
    /// nothing recorded: the caller decides).
    async fn import_batch(
        &self,
        batch: &[Finding],
        outcome: &mut ImportOutcome,
    ) -> Result<usize, ApiError> {
        let mut pending = batch.to_vec();
        let mut landed = 0;
        let mut round = 0;
        loop {
            round += 1;
            match self.import_call(&pending).await {
                Ok(failed) => {
                    let failed_ids: std::collections::HashSet<&str> =
                        failed.iter().map(|f| f.id.as_str()).collect();
                    let ok: Vec<String> = pending
                        .iter()
                        .filter(|f| !failed_ids.contains(f.id.as_str()))
                        .map(|f| f.id.clone())
                        .collect();
                    landed += ok.len();
                    outcome.imported.extend(ok);
                    let (retry, final_fail): (Vec<_>, Vec<_>) = failed
                        .into_iter()
                        .partition(|f| retriable(&f.code) && round < RETRY_ROUNDS);
                    outcome.failed.extend(final_fail);
                    if retry.is_empty() {
                        return Ok(landed);
                    }
                    let retry_ids: std::collections::HashSet<String> =
                        retry.into_iter().map(|f| f.id).collect();
                    pending.retain(|f| retry_ids.contains(&f.id));
                }
                Err(e) if e.kind == ErrorKind::AccessDenied && landed == 0 => return Err(e),
                Err(e) => {
                    // The SDK already retried throttles and 5xx; try the call again a few
                    // times with a pause, since a sweep should not lose a chunk to a blip.
                    if round < RETRY_ROUNDS
                        && e.kind != ErrorKind::AccessDenied
                        && e.kind != ErrorKind::HubNotEnabled
                    {
                        tokio::time::sleep(Duration::from_millis(200 * u64::from(round))).await;
                        continue;
                    }
                    outcome.failed.extend(pending.iter().map(|f| FailedFinding {
                        id: f.id.clone(),
                        code: e.code.clone().unwrap_or_else(|| "CallFailed".into()),
                        message: e.message.clone(),
                    }));
                    outcome.call_error = Some(e);
                    return Ok(landed);
                }
            }
        }
    }
}

/// Whether every finding of `batch` has the same `AwsAccountId` and `ProductArn`.
fn one_caller_scope(batch: &[Finding]) -> bool {
    batch
        .windows(2)
        .all(|w| w[0].aws_account_id == w[1].aws_account_id && w[0].product_arn == w[1].product_arn)
}

/// `batch` in groups of one `AwsAccountId` and `ProductArn`, each in its original order, the
/// groups in the order they first appear.
fn by_account_and_product(batch: Vec<Finding>) -> Vec<Vec<Finding>> {
    let mut groups: Vec<Vec<Finding>> = Vec::new();
    for f in batch {
        match groups
            .iter_mut()
            .find(|g| g[0].aws_account_id == f.aws_account_id && g[0].product_arn == f.product_arn)
        {
            Some(g) => g.push(f),
            None => groups.push(vec![f]),
        }
    }
    groups
}
