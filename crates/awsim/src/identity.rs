//! Who is calling: the SigV4 credential scope gives access key, Region and service; the access
//! key gives the account (static keys map to a configured account, temporary keys to the account
//! whose role issued them).

use serde::{Deserialize, Serialize};

use crate::protocol::AwsError;

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    /// Access key id.
    pub access_key: String,
    /// Region the request was signed for.
    pub region: String,
    /// SigV4 service name (`ssm`, `securityhub`, `sts`, `organizations`).
    pub service: String,
}

/// Parses the credential scope out of an `Authorization` header value.
pub fn parse_authorization(value: &str) -> Result<CredentialScope, AwsError> {
    let missing = || {
        AwsError::new(
            403,
            "MissingAuthenticationTokenException",
            "Request is missing a SigV4 Authorization header with a Credential scope",
        )
    };
    let rest = value.strip_prefix("AWS4-HMAC-SHA256").ok_or_else(missing)?;
    let cred = rest
        .split(',')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("Credential="))
        .ok_or_else(missing)?;
    let parts: Vec<&str> = cred.split('/').collect();
    match parts.as_slice() {
        [akid, _date, region, service, "aws4_request"]
            if !akid.is_empty() && !region.is_empty() =>
        {
            Ok(CredentialScope {
                access_key: (*akid).to_string(),
                region: (*region).to_string(),
                service: (*service).to_string(),
            })
        }
        _ => Err(missing()),
    }
}

/// The partition a Region belongs to.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Whether a string looks like a Region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
pub fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// A resolved caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// Account id (12 digits).
    pub account: String,
    /// Region of the request.
    pub region: String,
    /// SigV4 service name.
    pub service: String,
    /// The principal's ARN, as `GetCallerIdentity` reports it.
    pub arn: String,
    /// The principal's user id.
    pub user_id: String,
    /// Access key used.
    pub access_key: String,
}

impl Caller {
    /// The partition of the caller's Region.
    pub fn partition(&self) -> &'static str {
        partition_of(&self.region)
    }
}

/// Temporary credentials issued by `AssumeRole`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Account whose role was assumed.
    pub account: String,
    /// `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub arn: String,
    /// `ROLEID:SESSION`.
    pub user_id: String,
    /// Secret (checked only for presence; awsim does not verify signatures).
    pub secret: String,
    /// Expiry.
    pub expires: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scope() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/eu-west-1/securityhub/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        let s = parse_authorization(h).unwrap();
        assert_eq!(s.access_key, "AKIDEXAMPLE");
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(s.service, "securityhub");
        assert_eq!(parse_authorization("Bearer x").unwrap_err().status, 403);
        assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=A/B/C").is_err());
    }

    #[test]
    fn regions_and_partitions() {
        assert!(is_region_name("us-east-1"));
        assert!(is_region_name("us-gov-west-1"));
        assert!(!is_region_name("useast1"));
        assert!(!is_region_name("us-east-"));
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("eu-west-1"), "aws");
    }
}
