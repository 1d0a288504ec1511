//! Who owns which bucket. S3's bucket names are global to a partition, so one s3s-fs root holds
//! every account's buckets; this layer in front of it keeps AWS's rules on top: the account
//! that created a bucket owns it, other accounts are refused (`AccessDenied`, no bucket policies
//! are modelled), a request signed for another Region than the bucket's is refused
//! (`AuthorizationHeaderMalformed`), `ListBuckets` lists the caller's own buckets only, and
//! `CreateBucket` follows the Region rules of its `LocationConstraint`, `DeleteBucket` refuses a
//! bucket that still holds objects (`BucketNotEmpty`), `GetBucketLocation` answers the Region the
//! bucket was created in, and a listing returns at most 1,000 keys a page whatever `MaxKeys` asks.
//!
//! Sources: Amazon S3 API Reference, `CreateBucket` (LocationConstraint, `BucketAlreadyExists`,
//! `BucketAlreadyOwnedByYou`), `DeleteBucket` ("All objects ... must be deleted before the bucket
//! itself can be deleted"), `GetBucketLocation` (`null` for us-east-1), `ListObjectsV2` (`MaxKeys`:
//! "returns up to 1,000 key names") and "List of error codes" (`AccessDenied`,
//! `AuthorizationHeaderMalformed`, `IllegalLocationConstraintException`); Amazon S3 User Guide,
//! "Bucket ownership" (a bucket belongs to the account that created it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use s3s::dto::*;
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

use crate::identity::Caller;

/// The owner and Region of one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketOwner {
    /// The account that created it.
    pub account: String,
    /// The Region it was created in.
    pub region: String,
}

/// Bucket name to owner, shared by the S3 layer and the store (which empties it on reset).
pub(crate) type Owners = Arc<Mutex<BTreeMap<String, BucketOwner>>>;

/// An S3 operation's request and answer.
type Req<T> = S3Request<T>;
type Answer<T> = S3Result<S3Response<T>>;

/// The s3s-fs backend behind the ownership rules.
#[derive(Debug)]
pub(crate) struct Buckets {
    pub(crate) fs: s3s_fs::FileSystem,
    /// The s3s-fs root: a bucket is the directory of its name, its objects the files below it.
    pub(crate) root: PathBuf,
    pub(crate) owners: Owners,
}

/// S3's page limit for object listings.
const MAX_KEYS: i32 = 1000;

/// Whether `dir` holds a file at any depth (s3s-fs may leave the empty directories of a deleted
/// key's prefix behind; they are not objects).
fn holds_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let path = e.path();
            if path.is_dir() {
                holds_files(&path)
            } else {
                true
            }
        })
}

fn error(code: S3ErrorCode, message: String) -> S3Error {
    S3Error::with_message(code, message)
}

/// The caller awsim's router resolved from the SigV4 scope and put on the request.
fn caller_of<T>(req: &S3Request<T>) -> S3Result<Caller> {
    req.extensions.get::<Caller>().cloned().ok_or_else(|| {
        error(
            S3ErrorCode::AccessDenied,
            "Anonymous access is not allowed".into(),
        )
    })
}

impl Buckets {
    fn owners(&self) -> MutexGuard<'_, BTreeMap<String, BucketOwner>> {
        self.owners.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses a request on a bucket nobody created (`NoSuchBucket`, which the file-system
    /// backend does not always say: it answers `NoSuchKey` for a key of a missing bucket), on
    /// someone else's bucket, or one signed for another Region than the bucket's.
    fn check<T>(&self, req: &S3Request<T>, bucket: &str) -> S3Result<()> {
        let caller = caller_of(req)?;
        match self.owners().get(bucket) {
            None => Err(error(
                S3ErrorCode::NoSuchBucket,
                "The specified bucket does not exist".into(),
            )),
            Some(o) if o.account != caller.account => {
                Err(error(S3ErrorCode::AccessDenied, "Access Denied".into()))
            }
            Some(o) if o.region != caller.region => Err(error(
                S3ErrorCode::AuthorizationHeaderMalformed,
                format!(
                    "The authorization header is malformed; the region '{}' is wrong; expecting '{}'",
                    caller.region, o.region
                ),
            )),
            _ => Ok(()),
        }
    }

    /// `CreateBucket`'s Region rule: no `LocationConstraint` in us-east-1, the endpoint's Region
    /// everywhere else.
    fn check_location(caller: &Caller, input: &CreateBucketInput) -> S3Result<()> {
        let constraint = input
            .create_bucket_configuration
            .as_ref()
            .and_then(|c| c.location_constraint.as_ref())
            .map(|c| c.as_str().to_string());
        let incompatible = |what: &str| {
            error(
                S3ErrorCode::IllegalLocationConstraintException,
                format!(
                    "The {what} location constraint is incompatible for the region specific endpoint this request was sent to."
                ),
            )
        };
        match (caller.region.as_str(), constraint.as_deref()) {
            ("us-east-1", None) => Ok(()),
            ("us-east-1", Some(c)) => Err(error(
                S3ErrorCode::InvalidLocationConstraint,
                format!("The specified location-constraint `{c}` is not valid"),
            )),
            (_, None) => Err(incompatible("unspecified")),
            (region, Some(c)) if c == region => Ok(()),
            (_, Some(c)) => Err(incompatible(c)),
        }
    }
}

/// The operations patchhub and its tests use, each after the ownership check on the bucket it
/// names; every other S3 operation answers `NotImplemented` (s3s's default).
macro_rules! checked_operations {
    ($($name:ident($input:ident) -> $output:ident;)*) => {
        #[async_trait::async_trait]
        impl S3 for Buckets {
            $(
                async fn $name(&self, req: Req<$input>) -> Answer<$output> {
                    self.check(&req, &req.input.bucket)?;
                    self.fs.$name(req).await
                }
            )*

            async fn create_bucket(&self, req: Req<CreateBucketInput>) -> Answer<CreateBucketOutput> {
                let caller = caller_of(&req)?;
                Self::check_location(&caller, &req.input)?;
                let bucket = req.input.bucket.clone();
                if let Some(owner) = self.owners().get(&bucket) {
                    return if owner.account != caller.account {
                        Err(error(
                            S3ErrorCode::BucketAlreadyExists,
                            "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.".into(),
                        ))
                    } else if caller.region == "us-east-1" && owner.region == "us-east-1" {
                        // us-east-1 answers 200 to its owner (legacy behaviour, CreateBucket).
                        Ok(S3Response::new(CreateBucketOutput::default()))
                    } else {
                        Err(error(
                            S3ErrorCode::BucketAlreadyOwnedByYou,
                            "Your previous request to create the named bucket succeeded and you already own it.".into(),
                        ))
                    };
                }
                let out = self.fs.create_bucket(req).await?;
                self.owners().insert(
                    bucket,
                    BucketOwner {
                        account: caller.account,
                        region: caller.region,
                    },
                );
                Ok(out)
            }

            async fn delete_bucket(&self, req: Req<DeleteBucketInput>) -> Answer<DeleteBucketOutput> {
                self.check(&req, &req.input.bucket)?;
                let bucket = req.input.bucket.clone();
                if holds_files(&self.root.join(&bucket)) {
                    return Err(error(
                        S3ErrorCode::BucketNotEmpty,
                        "The bucket you tried to delete is not empty".into(),
                    ));
                }
                let out = self.fs.delete_bucket(req).await?;
                self.owners().remove(&bucket);
                Ok(out)
            }

            async fn get_bucket_location(
                &self,
                req: Req<GetBucketLocationInput>,
            ) -> Answer<GetBucketLocationOutput> {
                self.check(&req, &req.input.bucket)?;
                let region = self
                    .owners()
                    .get(&req.input.bucket)
                    .map(|o| o.region.clone())
                    .unwrap_or_default();
                // us-east-1 is answered with no constraint; other Regions by name.
                Ok(S3Response::new(GetBucketLocationOutput {
                    location_constraint: (region != "us-east-1")
                        .then(|| BucketLocationConstraint::from(region)),
                }))
            }

            async fn list_objects(&self, mut req: Req<ListObjectsInput>) -> Answer<ListObjectsOutput> {
                self.check(&req, &req.input.bucket)?;
                req.input.max_keys = Some(req.input.max_keys.unwrap_or(MAX_KEYS).min(MAX_KEYS));
                self.fs.list_objects(req).await
            }

            async fn list_objects_v2(
                &self,
                mut req: Req<ListObjectsV2Input>,
            ) -> Answer<ListObjectsV2Output> {
                self.check(&req, &req.input.bucket)?;
                req.input.max_keys = Some(req.input.max_keys.unwrap_or(MAX_KEYS).min(MAX_KEYS));
                self.fs.list_objects_v2(req).await
            }

            async fn copy_object(&self, req: Req<CopyObjectInput>) -> Answer<CopyObjectOutput> {
                self.check(&req, &req.input.bucket)?;
                if let CopySource::Bucket { bucket, .. } = &req.input.copy_source {
                    self.check(&req, bucket)?;
                }
                self.fs.copy_object(req).await
            }

            async fn list_buckets(&self, req: Req<ListBucketsInput>) -> Answer<ListBucketsOutput> {
                let caller = caller_of(&req)?;
                let mut out = self.fs.list_buckets(req).await?;
                let owners = self.owners();
                if let Some(list) = out.output.buckets.as_mut() {
                    list.retain(|b| {
                        b.name
                            .as_ref()
                            .and_then(|n| owners.get(n))
                            .is_some_and(|o| o.account == caller.account)
                    });
                }
                Ok(out)
            }
        }
    };
}

checked_operations! {
    head_bucket(HeadBucketInput) -> HeadBucketOutput;
    put_object(PutObjectInput) -> PutObjectOutput;
    get_object(GetObjectInput) -> GetObjectOutput;
    head_object(HeadObjectInput) -> HeadObjectOutput;
    delete_object(DeleteObjectInput) -> DeleteObjectOutput;
    delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;
    create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
    upload_part(UploadPartInput) -> UploadPartOutput;
    list_parts(ListPartsInput) -> ListPartsOutput;
    complete_multipart_upload(CompleteMultipartUploadInput) -> CompleteMultipartUploadOutput;
    abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
}
