//! STS (awsQuery): `AssumeRole` into the roles the fleet declares, for the principals their
//! trust policies name and no longer than their maximum session duration ([`trust`]), and
//! `GetCallerIdentity`.

pub(crate) mod trust;

use std::collections::HashMap;

use chrono::Duration;
use sha2::{Digest, Sha256};

use crate::identity::{Caller, Session};
use crate::protocol::{AwsError, xml_escape};
use crate::services::Request;
use crate::sim::Sim;

const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

fn form(body: &[u8], query: &str) -> HashMap<String, String> {
    let mut params: HashMap<String, String> = serde_urlencoded::from_str(query).unwrap_or_default();
    if let Ok(b) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
        params.extend(b);
    }
    params
}

/// The `Action` of a query request.
pub fn operation(body: &[u8], query: &str) -> Result<String, AwsError> {
    form(body, query).remove("Action").ok_or_else(|| {
        AwsError::client(
            "MissingAction",
            "The request must contain the parameter Action",
        )
    })
}

/// Serves one STS call; returns the XML body.
pub fn handle(
    sim: &Sim,
    caller: &Caller,
    req: &Request,
    request_id: &str,
) -> Result<String, AwsError> {
    let params = form(&req.body, &req.query);
    let meta = format!("<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>");
    match req.operation.as_str() {
        "GetCallerIdentity" => Ok(format!(
            "<GetCallerIdentityResponse xmlns=\"{NS}\"><GetCallerIdentityResult>\
             <Arn>{}</Arn><UserId>{}</UserId><Account>{}</Account>\
             </GetCallerIdentityResult>{meta}</GetCallerIdentityResponse>",
            xml_escape(&caller.arn),
            xml_escape(&caller.user_id),
            caller.account
        )),
        "AssumeRole" => assume_role(sim, caller, &params)
            .map(|r| format!("<AssumeRoleResponse xmlns=\"{NS}\">{r}{meta}</AssumeRoleResponse>")),
        other => Err(AwsError::client(
            "InvalidAction",
            format!("Could not find operation {other} for version 2011-06-15"),
        )),
    }
}

fn validation(msg: String) -> AwsError {
    AwsError::client("ValidationError", msg)
}

fn assume_role(
    sim: &Sim,
    caller: &Caller,
    params: &HashMap<String, String>,
) -> Result<String, AwsError> {
    let role_arn = params.get("RoleArn").ok_or_else(|| validation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null".into()))?;
    let session_name = params.get("RoleSessionName").ok_or_else(|| {
        validation("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null".into())
    })?;
    let name_ok = (2..=64).contains(&session_name.len())
        && session_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !name_ok {
        return Err(validation(format!(
            "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: Member must have length 2..64 and match [\\w+=,.@-]*"
        )));
    }
    let duration: i64 = match params.get("DurationSeconds") {
        None => 3600,
        Some(d) => d
            .parse()
            .map_err(|_| validation(format!("DurationSeconds `{d}` is not a number")))?,
    };
    if !(900..=43_200).contains(&duration) {
        return Err(validation(format!(
            "1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200"
        )));
    }
    // arn:PARTITION:iam::ACCOUNT:role/[path/]NAME
    let parts: Vec<&str> = role_arn.splitn(6, ':').collect();
    let (account, role_name) = match parts.as_slice() {
        ["arn", _partition, "iam", "", account, resource] if resource.starts_with("role/") => {
            (*account, resource.rsplit('/').next().unwrap_or_default())
        }
        _ => return Err(validation(format!("{role_arn} is invalid"))),
    };
    let denied = || {
        AwsError::new(
            403,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller.arn
            ),
        )
    };
    let now = sim.clock.now();
    let mut world = sim.world();
    let role = world
        .accounts
        .get(account)
        .and_then(|a| a.roles.iter().find(|r| r.name == role_name))
        .ok_or_else(denied)?;
    // A role whose trust policy does not name the caller's account answers as one that does
    // not exist: AccessDenied, naming the caller and the role.
    if !trust::trusts(&world, &sim.config.default_account, role, &caller.account) {
        return Err(denied());
    }
    if let Some(required) = &role.external_id
        && params.get("ExternalId") != Some(required)
    {
        return Err(denied());
    }
    // Role chaining is limited to one hour, as in AWS.
    if caller.arn.contains(":assumed-role/") && duration > 3600 {
        return Err(validation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into()));
    }
    if duration > trust::max_session_seconds(role) {
        return Err(validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .into(),
        ));
    }
    let digest = hex::encode(Sha256::digest(format!(
        "{account}/{role_name}/{session_name}/{}",
        world.sessions.len()
    )));
    let access_key = format!("ASIA{}", digest[..16].to_uppercase());
    let role_id = format!("AROA{}", digest[16..33].to_uppercase());
    let partition = caller.partition();
    let arn = format!("arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}");
    let expires = now + Duration::seconds(duration);
    let session = Session {
        account: account.to_string(),
        arn: arn.clone(),
        user_id: format!("{role_id}:{session_name}"),
        secret: digest[33..].to_string(),
        expires,
    };
    let secret = session.secret.clone();
    world.sessions.insert(access_key.clone(), session);
    Ok(format!(
        "<AssumeRoleResult><AssumedRoleUser><AssumedRoleId>{role_id}:{sn}</AssumedRoleId><Arn>{arn}</Arn></AssumedRoleUser>\
         <Credentials><AccessKeyId>{access_key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>\
         <SessionToken>awsim-session-{access_key}</SessionToken><Expiration>{exp}</Expiration></Credentials></AssumeRoleResult>",
        sn = xml_escape(session_name),
        arn = xml_escape(&arn),
        exp = expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    ))
}
