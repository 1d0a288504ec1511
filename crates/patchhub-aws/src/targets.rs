//! What a run covers: accounts (from a CSV file or the organization), Regions, and optionally a
//! single node. Parsing is strict and every error names the input and the fix.

use std::collections::BTreeSet;

/// One account to work in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccountTarget {
    /// 12-digit id.
    pub id: String,
    /// Root email, when the source gave one (the hub invitation flow needs it).
    pub email: Option<String>,
}

/// Longest excerpt of a bad value quoted in an error.
const SHOWN_CHARS: usize = 100;

/// A bad value as an error quotes it: control characters escaped, so the error stays one line
/// whatever the input holds (errors end up in logs), and cut to a readable length.
pub fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(SHOWN_CHARS + 8));
    for (i, c) in s.chars().enumerate() {
        if i == SHOWN_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A bad input line or value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// A CSV line that is not `AccountId[,Email]`.
    #[error("{source_name} line {line}: {message}")]
    Csv {
        /// File name (or `-`).
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A bad Region.
    #[error(
        "Region `{}` is not a Region name (expected e.g. us-east-1, eu-west-1, us-gov-west-1)",
        shown(.0)
    )]
    Region(String),
    /// A bad node id.
    #[error(
        "instance id `{}` is not a managed node id (expected i- followed by 8 or 17 characters, or mi- followed by 17)",
        shown(.0)
    )]
    InstanceId(String),
    /// A bad account id.
    #[error("account id `{}` must be 12 digits", shown(.0))]
    AccountId(String),
}

/// Whether `s` is a 12-digit account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks an account id.
pub fn parse_account_id(s: &str) -> Result<String, TargetError> {
    let s = s.trim();
    if is_account_id(s) {
        Ok(s.to_string())
    } else {
        Err(TargetError::AccountId(s.to_string()))
    }
}

/// Parses an accounts CSV: `AccountId[,Email]` per line; `#` comments, blank lines and a header
/// line (`AccountId,Email`) are allowed. Every bad line is reported (not just the first), with its
/// line number. Duplicates are merged.
pub fn parse_accounts_csv(
    source_name: &str,
    text: &str,
) -> Result<Vec<AccountTarget>, Vec<TargetError>> {
    let mut out = BTreeSet::new();
    let mut errors = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line
            .split(',')
            .map(|f| f.trim().trim_matches('"'))
            .collect();
        if i == 0 || out.is_empty() && errors.is_empty() {
            // A header line is allowed once, before any account.
            if fields[0].eq_ignore_ascii_case("accountid")
                || fields[0].eq_ignore_ascii_case("account_id")
            {
                continue;
            }
        }
        let err = |message: String| TargetError::Csv {
            source_name: source_name.to_string(),
            line: line_no,
            message,
        };
        if fields.len() > 2 {
            errors.push(err(format!(
                "expected `AccountId[,Email]`, found {} fields",
                fields.len()
            )));
            continue;
        }
        if !is_account_id(fields[0]) {
            errors.push(err(format!(
                "`{}` is not a 12-digit account id",
                shown(fields[0])
            )));
            continue;
        }
        let email = fields
            .get(1)
            .map(|e| e.to_string())
            .filter(|e| !e.is_empty());
        if let Some(e) = &email
            && (!e.contains('@') || e.contains(|c: char| c.is_whitespace() || c.is_control()))
        {
            errors.push(err(format!("`{}` is not an email address", shown(e))));
            continue;
        }
        out.insert(AccountTarget {
            id: fields[0].to_string(),
            email,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if out.is_empty() {
        return Err(vec![TargetError::Csv {
            source_name: source_name.to_string(),
            line: 0,
            message: "no accounts found: expected one `AccountId[,Email]` per line".into(),
        }]);
    }
    // Several lines for one account: keep the one with an email.
    let mut merged: Vec<AccountTarget> = Vec::new();
    for t in out {
        match merged.last_mut() {
            Some(last) if last.id == t.id => {
                if last.email.is_none() {
                    last.email = t.email;
                }
            }
            _ => merged.push(t),
        }
    }
    Ok(merged)
}

/// Whether a string is a Region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`).
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// Which Regions to cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionSelection {
    /// These Regions.
    List(Vec<String>),
    /// Every Region enabled for each account (asked of the account itself).
    AllEnabled,
}

/// Parses `--regions us-east-1,eu-west-1` or `--regions all-enabled`.
pub fn parse_regions(s: &str) -> Result<RegionSelection, TargetError> {
    if s.trim() == "all-enabled" {
        return Ok(RegionSelection::AllEnabled);
    }
    let mut list = Vec::new();
    for r in s.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        if !is_region(r) {
            return Err(TargetError::Region(r.to_string()));
        }
        if !list.iter().any(|x| x == r) {
            list.push(r.to_string());
        }
    }
    if list.is_empty() {
        return Err(TargetError::Region(s.to_string()));
    }
    Ok(RegionSelection::List(list))
}

/// `^i-(\w{8}|\w{17})$` or `^mi-\w{17}$`, as SSM requires.
pub fn parse_instance_id(s: &str) -> Result<String, TargetError> {
    let s = s.trim();
    let word = |r: &str| r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let ok = if let Some(r) = s.strip_prefix("mi-") {
        r.len() == 17 && word(r)
    } else if let Some(r) = s.strip_prefix("i-") {
        (r.len() == 8 || r.len() == 17) && word(r)
    } else {
        false
    };
    if ok {
        Ok(s.to_string())
    } else {
        Err(TargetError::InstanceId(s.to_string()))
    }
}

/// The partition of a caller ARN (`arn:aws-us-gov:iam::…` -> `aws-us-gov`).
pub(crate) fn partition_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    (parts.next() == Some("arn"))
        .then(|| parts.next())
        .flatten()
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_happy_path_with_comments_header_and_duplicates() {
        let text =
            "AccountId,Email\n# prod\n111111111111,a@example.com\n\n222222222222\n111111111111\n";
        let got = parse_accounts_csv("a.csv", text).unwrap();
        assert_eq!(
            got,
            vec![
                AccountTarget {
                    id: "111111111111".into(),
                    email: Some("a@example.com".into())
                },
                AccountTarget {
                    id: "222222222222".into(),
                    email: None
                },
            ]
        );
    }

    #[test]
    fn csv_reports_every_bad_line_with_its_number() {
        let text = "111111111111\n12345\n222222222222,not-an-email\n333333333333,a@b.c,extra\n";
        let errs = parse_accounts_csv("a.csv", text).unwrap_err();
        let lines: Vec<usize> = errs
            .iter()
            .map(|e| match e {
                TargetError::Csv { line, .. } => *line,
                _ => 0,
            })
            .collect();
        assert_eq!(lines, vec![2, 3, 4]);
        assert!(errs[0].to_string().contains("a.csv line 2"));
        assert!(parse_accounts_csv("e.csv", "# nothing\n\n").is_err());
    }

    #[test]
    fn regions_and_ids() {
        assert_eq!(
            parse_regions("us-east-1, eu-west-1,us-east-1").unwrap(),
            RegionSelection::List(vec!["us-east-1".into(), "eu-west-1".into()])
        );
        assert_eq!(
            parse_regions("all-enabled").unwrap(),
            RegionSelection::AllEnabled
        );
        assert!(parse_regions("us-east-1,mars-1").is_err());
        assert!(parse_regions("US-EAST-1").is_err());
        assert!(parse_regions("").is_err());
        assert!(parse_instance_id("i-0123456789abcdef0").is_ok());
        assert!(parse_instance_id("mi-0123456789abcdef0").is_ok());
        assert!(parse_instance_id("i-123").is_err());
        assert_eq!(
            partition_of_arn("arn:aws-cn:iam::111111111111:user/x"),
            Some("aws-cn")
        );
        assert_eq!(partition_of_arn("nope"), None);
    }
}
