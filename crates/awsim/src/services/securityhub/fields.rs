//! The finding attributes `GetFindings` filters and sorts on: where each lives in an ASFF finding,
//! how it compares, whether the store indexes it, and how its values are read out of a finding.

use serde_json::Value;

use super::validate::parse_time;

/// How a filter attribute compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `StringFilter` list.
    Str,
    /// `MapFilter` list over a string map.
    Map,
    /// `DateFilter` list over an ASFF timestamp.
    Date,
    /// `NumberFilter` list.
    Num,
}

/// A filter attribute: its name in `AwsSecurityFindingFilters`, the path of its values in a
/// finding (`[]` iterates an array), its kind, and whether the store keeps an index on it.
#[derive(Debug)]
pub(crate) struct Field {
    pub name: &'static str,
    pub path: &'static str,
    pub kind: Kind,
    pub indexed: bool,
}

const fn f(name: &'static str, path: &'static str, kind: Kind, indexed: bool) -> Field {
    Field {
        name,
        path,
        kind,
        indexed,
    }
}

pub(super) use Kind::{Date, Map as MapK, Num, Str};

/// The attributes awsim filters and sorts on. Others in the model are refused with
/// `InvalidInputException` rather than silently ignored.
#[rustfmt::skip]
pub(crate) const FIELDS: &[Field] = &[
    f("ProductArn", "ProductArn", Str, true),
    f("AwsAccountId", "AwsAccountId", Str, true),
    f("AwsAccountName", "AwsAccountName", Str, false),
    f("Id", "Id", Str, true),
    f("GeneratorId", "GeneratorId", Str, true),
    f("Region", "Region", Str, true),
    f("Type", "Types[]", Str, true),
    f("FirstObservedAt", "FirstObservedAt", Date, false),
    f("LastObservedAt", "LastObservedAt", Date, false),
    f("CreatedAt", "CreatedAt", Date, false),
    f("UpdatedAt", "UpdatedAt", Date, false),
    f("SeverityProduct", "Severity.Product", Num, false),
    f("SeverityNormalized", "Severity.Normalized", Num, false),
    f("SeverityLabel", "Severity.Label", Str, true),
    f("Confidence", "Confidence", Num, false),
    f("Criticality", "Criticality", Num, false),
    f("Title", "Title", Str, false),
    f("Description", "Description", Str, false),
    f("RecommendationText", "Remediation.Recommendation.Text", Str, false),
    f("SourceUrl", "SourceUrl", Str, false),
    f("ProductFields", "ProductFields", MapK, true),
    f("ProductName", "ProductName", Str, true),
    f("CompanyName", "CompanyName", Str, true),
    f("UserDefinedFields", "UserDefinedFields", MapK, true),
    f("ResourceType", "Resources[].Type", Str, true),
    f("ResourceId", "Resources[].Id", Str, true),
    f("ResourcePartition", "Resources[].Partition", Str, true),
    f("ResourceRegion", "Resources[].Region", Str, true),
    f("ResourceTags", "Resources[].Tags", MapK, true),
    f("ResourceAwsEc2InstanceType", "Resources[].Details.AwsEc2Instance.Type", Str, false),
    f("ResourceAwsEc2InstanceImageId", "Resources[].Details.AwsEc2Instance.ImageId", Str, false),
    f("ResourceAwsEc2InstanceVpcId", "Resources[].Details.AwsEc2Instance.VpcId", Str, false),
    f("ResourceAwsEc2InstanceSubnetId", "Resources[].Details.AwsEc2Instance.SubnetId", Str, false),
    f("ResourceAwsEc2InstanceKeyName", "Resources[].Details.AwsEc2Instance.KeyName", Str, false),
    f("ResourceAwsEc2InstanceIamInstanceProfileArn", "Resources[].Details.AwsEc2Instance.IamInstanceProfileArn", Str, false),
    f("ResourceDetailsOther", "Resources[].Details.Other", MapK, false),
    f("ComplianceStatus", "Compliance.Status", Str, true),
    f("ComplianceSecurityControlId", "Compliance.SecurityControlId", Str, true),
    f("ComplianceAssociatedStandardsId", "Compliance.AssociatedStandards[].StandardsId", Str, true),
    f("VerificationState", "VerificationState", Str, true),
    f("WorkflowState", "WorkflowState", Str, true),
    f("WorkflowStatus", "Workflow.Status", Str, true),
    f("RecordState", "RecordState", Str, true),
    f("RelatedFindingsProductArn", "RelatedFindings[].ProductArn", Str, false),
    f("RelatedFindingsId", "RelatedFindings[].Id", Str, true),
    f("NoteText", "Note.Text", Str, false),
    f("NoteUpdatedAt", "Note.UpdatedAt", Date, false),
    f("NoteUpdatedBy", "Note.UpdatedBy", Str, false),
    f("FindingProviderFieldsConfidence", "FindingProviderFields.Confidence", Num, false),
    f("FindingProviderFieldsCriticality", "FindingProviderFields.Criticality", Num, false),
    f("FindingProviderFieldsRelatedFindingsId", "FindingProviderFields.RelatedFindings[].Id", Str, false),
    f("FindingProviderFieldsRelatedFindingsProductArn", "FindingProviderFields.RelatedFindings[].ProductArn", Str, false),
    f("FindingProviderFieldsSeverityLabel", "FindingProviderFields.Severity.Label", Str, true),
    f("FindingProviderFieldsSeverityOriginal", "FindingProviderFields.Severity.Original", Str, false),
    f("FindingProviderFieldsTypes", "FindingProviderFields.Types[]", Str, true),
    f("VulnerabilitiesFixAvailable", "Vulnerabilities[].FixAvailable", Str, true),
    f("VulnerabilitiesExploitAvailable", "Vulnerabilities[].ExploitAvailable", Str, true),
];

pub(super) fn field_named(name: &str) -> Option<usize> {
    FIELDS.iter().position(|f| f.name == name)
}

/// Every JSON value at a path (`Resources[].Id`).
pub(super) fn values_at<'a>(v: &'a Value, path: &str, out: &mut Vec<&'a Value>) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let (name, many) = match head.strip_suffix("[]") {
        Some(n) => (n, true),
        None => (head, false),
    };
    let Some(child) = v.get(name) else {
        return;
    };
    let mut visit = |c: &'a Value| match rest {
        Some(r) => values_at(c, r, out),
        None if !c.is_null() => out.push(c),
        None => {}
    };
    if many {
        if let Some(items) = child.as_array() {
            items.iter().for_each(&mut visit);
        }
    } else {
        visit(child);
    }
}

pub(super) fn strings_of<'a>(json: &'a Value, field: &Field) -> Vec<&'a str> {
    let mut vals = Vec::new();
    values_at(json, field.path, &mut vals);
    vals.into_iter().filter_map(Value::as_str).collect()
}

/// Values of one key across the maps at a map attribute's path.
pub(super) fn map_values<'a>(json: &'a Value, field: &Field, key: &str) -> Vec<&'a str> {
    let mut maps = Vec::new();
    values_at(json, field.path, &mut maps);
    maps.into_iter()
        .filter_map(|m| m.get(key).and_then(Value::as_str))
        .collect()
}

pub(super) fn numbers_of(json: &Value, field: &Field) -> Vec<f64> {
    let mut vals = Vec::new();
    values_at(json, field.path, &mut vals);
    vals.into_iter().filter_map(Value::as_f64).collect()
}

pub(super) fn times_of(json: &Value, field: &Field) -> Vec<i64> {
    strings_of(json, field)
        .into_iter()
        .filter_map(parse_time)
        .map(|t| t.timestamp_micros())
        .collect()
}

/// The index entries of a finding: `(field position, value)`, map entries as `key\0value`;
/// sorted and without duplicates.
pub(crate) fn index_entries(json: &Value) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    for (i, field) in FIELDS.iter().enumerate().filter(|(_, f)| f.indexed) {
        let pos = i as u16;
        match field.kind {
            Str => out.extend(
                strings_of(json, field)
                    .into_iter()
                    .map(|s| (pos, s.to_string())),
            ),
            MapK => {
                let mut maps = Vec::new();
                values_at(json, field.path, &mut maps);
                for m in maps.iter().filter_map(|m| m.as_object()) {
                    for (k, v) in m {
                        if let Some(v) = v.as_str() {
                            out.push((pos, map_entry(k, v)));
                        }
                    }
                }
            }
            Date | Num => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

pub(super) fn map_entry(key: &str, value: &str) -> String {
    format!("{key}\0{value}")
}
