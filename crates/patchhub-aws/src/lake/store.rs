//! Where export objects are written: a local directory (the same keys as files under it) or an
//! S3 bucket and prefix (`s3://BUCKET/PREFIX`), such as a Security Lake bucket.

use std::path::{Path, PathBuf};

use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;

use crate::error::{ApiError, ErrorKind};

/// An `--out` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A directory that exists.
    Dir(PathBuf),
    /// A bucket and a key prefix (empty, or ending in `/`).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix.
        prefix: String,
    },
}

impl Destination {
    /// `s3://BUCKET[/PREFIX]` or a directory path; a bad bucket name or a path that is not a
    /// directory is named in the error.
    pub fn parse(out: &str) -> Result<Self, String> {
        if let Some(rest) = out.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            check_bucket_name(bucket).map_err(|why| format!("{out}: {why}"))?;
            let prefix = prefix.trim_matches('/');
            let prefix = if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            };
            return Ok(Destination::S3 {
                bucket: bucket.to_string(),
                prefix,
            });
        }
        if out.contains("://") {
            return Err(format!(
                "{out}: only s3:// URLs and local directories are written"
            ));
        }
        let path = Path::new(out);
        if !path.is_dir() {
            return Err(format!("{out}: not an existing directory"));
        }
        Ok(Destination::Dir(path.to_path_buf()))
    }

    /// Where an object of `key` is, for people (`s3://…` or a path).
    pub fn display(&self, key: &str) -> String {
        match self {
            Destination::Dir(d) => d.join(key).display().to_string(),
            Destination::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}{key}"),
        }
    }
}

/// S3's bucket naming rules (Amazon S3 User Guide, "General purpose bucket naming rules"):
/// 3..63 characters of lower-case letters, digits, dots and hyphens, starting and ending with a
/// letter or digit, not shaped like an IP address.
fn check_bucket_name(bucket: &str) -> Result<(), String> {
    let chars_ok = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ip_like = bucket.split('.').count() == 4
        && bucket
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if !(3..=63).contains(&bucket.len())
        || !chars_ok
        || !ends_ok(bucket.chars().next())
        || !ends_ok(bucket.chars().last())
        || bucket.contains("..")
        || ip_like
    {
        return Err(format!(
            "`{bucket}` is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)"
        ));
    }
    Ok(())
}

/// Writes objects to a [`Destination`]: files, or `PutObject` with the caller's credentials in
/// the home Region (path-style addressing when an endpoint URL is set, as awsim and other
/// single-endpoint S3s need).
#[derive(Debug, Clone)]
pub struct ObjectWriter {
    dest: Destination,
    s3: Option<aws_sdk_s3::Client>,
    region: String,
}

impl ObjectWriter {
    /// A writer for `dest`; the S3 client is built from `base` only for an S3 destination.
    pub fn new(base: &SdkConfig, dest: Destination) -> Self {
        let s3 = matches!(dest, Destination::S3 { .. }).then(|| {
            let config = aws_sdk_s3::config::Builder::from(base)
                .force_path_style(base.endpoint_url().is_some())
                .build();
            aws_sdk_s3::Client::from_conf(config)
        });
        let region = base.region().map(|r| r.to_string()).unwrap_or_default();
        ObjectWriter { dest, s3, region }
    }

    /// The destination.
    pub fn destination(&self) -> &Destination {
        &self.dest
    }

    /// Checks, before any work, that the bucket exists and the caller may reach it
    /// (`HeadBucket`); a directory was checked when parsed.
    pub async fn check(&self) -> Result<(), ApiError> {
        let (Some(s3), Destination::S3 { bucket, .. }) = (&self.s3, &self.dest) else {
            return Ok(());
        };
        s3.head_bucket()
            .bucket(bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.s3_error("s3:HeadBucket", bucket, &e))
    }

    /// Writes one object; returns where it went.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<String, ApiError> {
        let at = self.dest.display(key);
        match (&self.dest, &self.s3) {
            (Destination::Dir(dir), _) => {
                let path = dir.join(key);
                let written = match path.parent() {
                    Some(parent) => std::fs::create_dir_all(parent),
                    None => Ok(()),
                }
                .and_then(|()| std::fs::write(&path, bytes));
                written.map_err(|e| {
                    ApiError::other(
                        "",
                        "",
                        "",
                        ErrorKind::InvalidInput,
                        format!("cannot write {at}: {e}"),
                    )
                })?;
            }
            (Destination::S3 { bucket, prefix }, Some(s3)) => {
                s3.put_object()
                    .bucket(bucket)
                    .key(format!("{prefix}{key}"))
                    .body(ByteStream::from(bytes))
                    .send()
                    .await
                    .map_err(|e| self.s3_error("s3:PutObject", bucket, &e))?;
            }
            (Destination::S3 { .. }, None) => unreachable!("an S3 destination has a client"),
        }
        Ok(at)
    }

    /// An S3 error, with the fix for the answers an `--out` mistake gives.
    fn s3_error<E>(
        &self,
        api: &str,
        bucket: &str,
        e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> ApiError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut err = ApiError::from_sdk("", &self.region, api, e);
        let status = e.raw_response().map(|r| r.status().as_u16());
        match (err.code.as_deref(), status) {
            (Some("NoSuchBucket" | "NotFound"), _) | (None, Some(404)) => {
                err.kind = ErrorKind::InvalidInput;
                err.code = Some("NoSuchBucket".into());
                err.fix = Some(format!(
                    "bucket {bucket} does not exist: name an existing bucket (--out, or the Lambda's PATCHHUB_LAKE_S3_URI; Security Lake's is aws-security-data-lake-REGION-ID)"
                ));
            }
            (Some("Forbidden" | "AccessDenied"), _) | (None, Some(403)) => {
                err.kind = ErrorKind::AccessDenied;
                err.fix = Some(format!(
                    "the caller may not write to bucket {bucket}: it needs s3:ListBucket and s3:PutObject there (for Security Lake, the custom source's provider role)"
                ));
            }
            (Some("PermanentRedirect" | "AuthorizationHeaderMalformed" | "BadRequest"), _)
            | (None, Some(301 | 400)) => {
                err.kind = ErrorKind::InvalidInput;
                err.fix = Some(format!(
                    "bucket {bucket} is in another Region: write from that Region (--region; the Lambda writes in its own Region)"
                ));
            }
            _ => {}
        }
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_is_an_s3_url_or_an_existing_directory() {
        assert_eq!(
            Destination::parse("s3://aws-security-data-lake-us-east-1-abc/lake/").unwrap(),
            Destination::S3 {
                bucket: "aws-security-data-lake-us-east-1-abc".into(),
                prefix: "lake/".into()
            }
        );
        assert_eq!(
            Destination::parse("s3://my.bucket").unwrap(),
            Destination::S3 {
                bucket: "my.bucket".into(),
                prefix: String::new()
            }
        );
        for bad in [
            "s3://",
            "s3://Upper",
            "s3://ab",
            "s3://-x-",
            "s3://a..b",
            "s3://192.168.1.1",
            "s3://under_score/x",
        ] {
            let err = Destination::parse(bad).unwrap_err();
            assert!(err.contains("not an S3 bucket name"), "{bad}: {err}");
        }
        assert!(
            Destination::parse("gs://b/p")
                .unwrap_err()
                .contains("only s3://")
        );
        assert!(
            Destination::parse("/nonexistent/dir")
                .unwrap_err()
                .contains("not an existing directory")
        );
        let file = std::env::current_exe().unwrap();
        assert!(Destination::parse(file.to_str().unwrap()).is_err());
        let dir = std::env::temp_dir();
        assert_eq!(
            Destination::parse(dir.to_str().unwrap()).unwrap(),
            Destination::Dir(dir)
        );
    }
}
