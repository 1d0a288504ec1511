//! Amazon S3 (restXml), served by a well-kept S3 implementation rather than a mock: the `s3s`
//! service adapter (S3's HTTP protocol from the Smithy model) over `s3s-fs` (objects as files)
//! in a temporary directory that lives as long as the emulator. awsim's router identifies the
//! caller from the SigV4 scope as for every other service (the signature itself is not checked,
//! see docs/FIDELITY.md); [`buckets`] adds bucket ownership and Regions on top.
//!
//! Only path-style addressing reaches it (`http://ENDPOINT/BUCKET/KEY`): one endpoint serves
//! every service, so clients set `force_path_style`.

pub mod buckets;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::response::Response;
use s3s::service::{S3Service, S3ServiceBuilder};

use crate::identity::Caller;
use crate::protocol::AwsError;
pub use buckets::BucketOwner;
use buckets::{Buckets, Owners};

/// The S3 of one emulator: every account's buckets, in one temporary directory.
#[derive(Debug)]
pub struct S3Store {
    service: S3Service,
    owners: Owners,
    dir: tempfile::TempDir,
}

impl S3Store {
    /// An empty S3 in a new temporary directory (removed when the store is dropped).
    pub fn new() -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("awsim-s3-").tempdir()?;
        let fs = s3s_fs::FileSystem::new(dir.path())
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let owners: Owners = Arc::new(Mutex::new(BTreeMap::new()));
        let service = S3ServiceBuilder::new(Buckets {
            fs,
            root: dir.path().to_path_buf(),
            owners: owners.clone(),
        })
        .build();
        Ok(S3Store {
            service,
            owners,
            dir,
        })
    }

    /// Every bucket and its owner.
    pub fn buckets(&self) -> BTreeMap<String, BucketOwner> {
        self.owners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Deletes every bucket and object.
    pub fn reset(&self) -> std::io::Result<()> {
        let mut owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        for entry in std::fs::read_dir(self.dir.path())? {
            let path = entry?.path();
            if path.is_dir() {
                std::fs::remove_dir_all(path)?;
            } else {
                std::fs::remove_file(path)?;
            }
        }
        owners.clear();
        Ok(())
    }

    /// Serves one S3 request of `caller`. S3's own errors come back framed by s3s; what awsim
    /// refuses before that is an [`AwsError`] for the router to frame.
    pub async fn handle(
        &self,
        caller: &Caller,
        parts: &Parts,
        body: Bytes,
    ) -> Result<Response, AwsError> {
        let streaming = parts
            .headers
            .get("x-amz-content-sha256")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("STREAMING-"));
        if streaming {
            // The aws-chunked framing is decoded by s3s only while it verifies the signature,
            // which awsim does not do (it knows no secret keys of static credentials).
            return Err(AwsError::new(
                501,
                "NotImplemented",
                "awsim's S3 does not take aws-chunked (STREAMING-*) uploads: send a body of known length",
            ));
        }
        let mut builder = axum::http::Request::builder()
            .method(parts.method.clone())
            .uri(parts.uri.clone())
            .version(parts.version);
        for (name, value) in &parts.headers {
            // awsim identified the caller already; s3s would want the secret key to verify.
            if name != header::AUTHORIZATION {
                builder = builder.header(name, value);
            }
        }
        let mut req = builder
            .body(s3s::Body::from(body))
            .map_err(|e| AwsError::client("InvalidRequest", e.to_string()))?;
        req.extensions_mut().insert(caller.clone());
        match self.service.call(req).await {
            Ok(resp) => Ok(resp.map(Body::new)),
            Err(e) => Err(AwsError::new(
                500,
                "InternalError",
                format!("awsim's S3 failed: {e:?}"),
            )),
        }
    }
}

/// The S3 operation a request names, for counters, quotas and faults (S3's REST routing:
/// method, bucket and key in the path, sub-resources in the query).
pub fn operation_for(method: &Method, path: &str, query: &str) -> String {
    let mut segments = path.trim_start_matches('/').splitn(2, '/');
    let bucket = segments.next().filter(|b| !b.is_empty());
    let key = segments.next().filter(|k| !k.is_empty());
    let has = |q: &str| {
        query
            .split('&')
            .any(|p| p == q || p.starts_with(&format!("{q}=")))
    };
    let op = match (method.as_str(), bucket, key) {
        ("GET", None, _) => "ListBuckets",
        ("PUT", Some(_), None) => "CreateBucket",
        ("DELETE", Some(_), None) => "DeleteBucket",
        ("HEAD", Some(_), None) => "HeadBucket",
        ("GET", Some(_), None) if has("location") => "GetBucketLocation",
        ("GET", Some(_), None) if has("list-type") => "ListObjectsV2",
        ("GET", Some(_), None) => "ListObjects",
        ("POST", Some(_), None) if has("delete") => "DeleteObjects",
        ("PUT", Some(_), Some(_)) if has("partNumber") => "UploadPart",
        ("PUT", Some(_), Some(_)) => "PutObject",
        ("GET", Some(_), Some(_)) if has("uploadId") => "ListParts",
        ("GET", Some(_), Some(_)) => "GetObject",
        ("HEAD", Some(_), Some(_)) => "HeadObject",
        ("DELETE", Some(_), Some(_)) if has("uploadId") => "AbortMultipartUpload",
        ("DELETE", Some(_), Some(_)) => "DeleteObject",
        ("POST", Some(_), Some(_)) if has("uploads") => "CreateMultipartUpload",
        ("POST", Some(_), Some(_)) if has("uploadId") => "CompleteMultipartUpload",
        (m, _, _) => return format!("S3:{m}"),
    };
    op.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_as_in_the_model() {
        let op = |m: Method, p: &str, q: &str| operation_for(&m, p, q);
        assert_eq!(op(Method::GET, "/", ""), "ListBuckets");
        assert_eq!(op(Method::PUT, "/lake", ""), "CreateBucket");
        assert_eq!(
            op(Method::GET, "/lake", "list-type=2&prefix=ext%2F"),
            "ListObjectsV2"
        );
        assert_eq!(
            op(Method::PUT, "/lake/ext/a.parquet", "x-id=PutObject"),
            "PutObject"
        );
        assert_eq!(op(Method::GET, "/lake/ext/a.parquet", ""), "GetObject");
        assert_eq!(op(Method::HEAD, "/lake", ""), "HeadBucket");
        assert_eq!(op(Method::PATCH, "/lake", ""), "S3:PATCH");
    }
}
