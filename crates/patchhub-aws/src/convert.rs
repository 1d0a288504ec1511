//! Core findings to SDK types and back. Only the ASFF fields patchhub writes are mapped; reading
//! back, Security Hub's own additions (`aws/securityhub/*` ProductFields, Workflow, ...) are
//! kept where the core type has room and ignored otherwise. A round-trip test pins the mapping.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_securityhub::types as sdk;
use chrono::{DateTime, Utc};
use patchhub_core::finding::{
    AwsEc2InstanceDetails, AwsSsmComplianceSummary, AwsSsmPatch, AwsSsmPatchCompliance, Compliance,
    ComplianceStatus, Finding, FindingProviderFields, FindingProviderSeverity, FindingSeverity,
    FixAvailable, PatchSummary, Recommendation, RecordState, Remediation, Resource,
    ResourceDetails, SeverityLabel, Vulnerability, VulnerabilityVendor,
};

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse_ts(field: &str, s: Option<&str>) -> Result<DateTime<Utc>, String> {
    let s = s.ok_or_else(|| format!("{field} is missing"))?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{field} `{s}`: {e}"))
}

fn hash_map(m: &BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn btree(m: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    m.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn label_to_sdk(l: SeverityLabel) -> sdk::SeverityLabel {
    sdk::SeverityLabel::from(l.as_str())
}

fn label_from_sdk(l: &sdk::SeverityLabel) -> Option<SeverityLabel> {
    match l.as_str() {
        "CRITICAL" => Some(SeverityLabel::Critical),
        "HIGH" => Some(SeverityLabel::High),
        "MEDIUM" => Some(SeverityLabel::Medium),
        "LOW" => Some(SeverityLabel::Low),
        "INFORMATIONAL" => Some(SeverityLabel::Informational),
        _ => None,
    }
}

fn compliance_status_str(s: ComplianceStatus) -> &'static str {
    match s {
        ComplianceStatus::Passed => "PASSED",
        ComplianceStatus::Failed => "FAILED",
        ComplianceStatus::Warning => "WARNING",
        ComplianceStatus::NotAvailable => "NOT_AVAILABLE",
    }
}

fn summary_to_sdk(s: &AwsSsmComplianceSummary) -> sdk::AwsSsmComplianceSummary {
    sdk::AwsSsmComplianceSummary::builder()
        .set_status(s.status.clone())
        .set_compliant_critical_count(s.compliant_critical_count)
        .set_compliant_high_count(s.compliant_high_count)
        .set_compliant_medium_count(s.compliant_medium_count)
        .set_execution_type(s.execution_type.clone())
        .set_non_compliant_critical_count(s.non_compliant_critical_count)
        .set_compliant_informational_count(s.compliant_informational_count)
        .set_non_compliant_informational_count(s.non_compliant_informational_count)
        .set_compliant_unspecified_count(s.compliant_unspecified_count)
        .set_non_compliant_low_count(s.non_compliant_low_count)
        .set_non_compliant_high_count(s.non_compliant_high_count)
        .set_compliant_low_count(s.compliant_low_count)
        .set_compliance_type(s.compliance_type.clone())
        .set_patch_baseline_id(s.patch_baseline_id.clone())
        .set_overall_severity(s.overall_severity.clone())
        .set_non_compliant_medium_count(s.non_compliant_medium_count)
        .set_non_compliant_unspecified_count(s.non_compliant_unspecified_count)
        .set_patch_group(s.patch_group.clone())
        .build()
}

fn summary_from_sdk(s: &sdk::AwsSsmComplianceSummary) -> AwsSsmComplianceSummary {
    let text = |v: Option<&str>| v.map(str::to_string);
    AwsSsmComplianceSummary {
        status: text(s.status()),
        compliant_critical_count: s.compliant_critical_count(),
        compliant_high_count: s.compliant_high_count(),
        compliant_medium_count: s.compliant_medium_count(),
        execution_type: text(s.execution_type()),
        non_compliant_critical_count: s.non_compliant_critical_count(),
        compliant_informational_count: s.compliant_informational_count(),
        non_compliant_informational_count: s.non_compliant_informational_count(),
        compliant_unspecified_count: s.compliant_unspecified_count(),
        non_compliant_low_count: s.non_compliant_low_count(),
        non_compliant_high_count: s.non_compliant_high_count(),
        compliant_low_count: s.compliant_low_count(),
        compliance_type: text(s.compliance_type()),
        patch_baseline_id: text(s.patch_baseline_id()),
        overall_severity: text(s.overall_severity()),
        non_compliant_medium_count: s.non_compliant_medium_count(),
        non_compliant_unspecified_count: s.non_compliant_unspecified_count(),
        patch_group: text(s.patch_group()),
    }
}

fn resource_to_sdk(r: &Resource) -> sdk::Resource {
    let details = r.details.as_ref().map(|d| {
        let mut b = sdk::ResourceDetails::builder().set_other(hash_map(&d.other));
        if let Some(e) = &d.aws_ec2_instance {
            b = b.aws_ec2_instance(
                sdk::AwsEc2InstanceDetails::builder()
                    .set_type(e.r#type.clone())
                    .set_image_id(e.image_id.clone())
                    .build(),
            );
        }
        if let Some(pc) = &d.aws_ssm_patch_compliance {
            let patch = pc.patch.as_ref().map(|p| {
                sdk::AwsSsmPatch::builder()
                    .set_compliance_summary(p.compliance_summary.as_ref().map(summary_to_sdk))
                    .build()
            });
            b = b.aws_ssm_patch_compliance(
                sdk::AwsSsmPatchComplianceDetails::builder()
                    .set_patch(patch)
                    .build(),
            );
        }
        b.build()
    });
    sdk::Resource::builder()
        .r#type(&r.r#type)
        .id(&r.id)
        .set_partition(r.partition.as_deref().map(sdk::Partition::from))
        .set_region(r.region.clone())
        .set_tags(hash_map(&r.tags))
        .set_details(details)
        .build()
}

fn resource_from_sdk(r: &sdk::Resource) -> Resource {
    let details = r.details().map(|d| ResourceDetails {
        aws_ec2_instance: d.aws_ec2_instance().map(|e| AwsEc2InstanceDetails {
            r#type: e.r#type().map(str::to_string),
            image_id: e.image_id().map(str::to_string),
        }),
        other: btree(d.other()),
        aws_ssm_patch_compliance: d
            .aws_ssm_patch_compliance()
            .map(|pc| AwsSsmPatchCompliance {
                patch: pc.patch().map(|p| AwsSsmPatch {
                    compliance_summary: p.compliance_summary().map(summary_from_sdk),
                }),
            }),
    });
    Resource {
        r#type: r.r#type().unwrap_or_default().to_string(),
        id: r.id().unwrap_or_default().to_string(),
        partition: r.partition().map(|p| p.as_str().to_string()),
        region: r.region().map(str::to_string),
        tags: btree(r.tags()),
        details,
    }
}

/// A core finding as the SDK sends it.
pub fn to_sdk(f: &Finding) -> sdk::AwsSecurityFinding {
    let severity = sdk::Severity::builder()
        .set_label(f.severity.label.map(label_to_sdk))
        .set_normalized(f.severity.normalized)
        .set_original(f.severity.original.clone())
        .build();
    let mut b = sdk::AwsSecurityFinding::builder()
        .schema_version(&f.schema_version)
        .id(&f.id)
        .product_arn(&f.product_arn)
        .set_product_name(f.product_name.clone())
        .set_company_name(f.company_name.clone())
        .set_region(f.region.clone())
        .generator_id(&f.generator_id)
        .aws_account_id(&f.aws_account_id)
        .set_types(Some(f.types.clone()))
        .set_first_observed_at(f.first_observed_at.as_ref().map(ts))
        .set_last_observed_at(f.last_observed_at.as_ref().map(ts))
        .created_at(ts(&f.created_at))
        .updated_at(ts(&f.updated_at))
        .severity(severity)
        .title(&f.title)
        .description(&f.description)
        .set_source_url(f.source_url.clone())
        .set_product_fields(hash_map(&f.product_fields))
        .set_resources(Some(f.resources.iter().map(resource_to_sdk).collect()))
        .record_state(sdk::RecordState::from(match f.record_state {
            RecordState::Active => "ACTIVE",
            RecordState::Archived => "ARCHIVED",
        }));
    if let Some(r) = &f.remediation {
        b = b.remediation(
            sdk::Remediation::builder()
                .recommendation(
                    sdk::Recommendation::builder()
                        .set_text(r.recommendation.text.clone())
                        .set_url(r.recommendation.url.clone())
                        .build(),
                )
                .build(),
        );
    }
    if let Some(c) = &f.compliance {
        b = b.compliance(
            sdk::Compliance::builder()
                .status(sdk::ComplianceStatus::from(compliance_status_str(c.status)))
                .set_related_requirements(
                    (!c.related_requirements.is_empty()).then(|| c.related_requirements.clone()),
                )
                .build(),
        );
    }
    if let Some(p) = &f.patch_summary {
        b = b.patch_summary(
            sdk::PatchSummary::builder()
                .id(&p.id)
                .set_installed_count(p.installed_count)
                .set_missing_count(p.missing_count)
                .set_failed_count(p.failed_count)
                .set_installed_other_count(p.installed_other_count)
                .set_installed_rejected_count(p.installed_rejected_count)
                .set_installed_pending_reboot(p.installed_pending_reboot)
                .set_operation_start_time(p.operation_start_time.clone())
                .set_operation_end_time(p.operation_end_time.clone())
                .set_reboot_option(p.reboot_option.clone())
                .set_operation(p.operation.clone())
                .build(),
        );
    }
    if !f.vulnerabilities.is_empty() {
        b = b.set_vulnerabilities(Some(
            f.vulnerabilities
                .iter()
                .map(|v| {
                    sdk::Vulnerability::builder()
                        .id(&v.id)
                        .set_vendor(v.vendor.as_ref().map(|vd| {
                            sdk::VulnerabilityVendor::builder()
                                .name(&vd.name)
                                .set_url(vd.url.clone())
                                .set_vendor_severity(vd.vendor_severity.clone())
                                .build()
                        }))
                        .set_fix_available(v.fix_available.map(|x| {
                            sdk::VulnerabilityFixAvailable::from(match x {
                                FixAvailable::Yes => "YES",
                                FixAvailable::No => "NO",
                                FixAvailable::Partial => "PARTIAL",
                            })
                        }))
                        .set_reference_urls(
                            (!v.reference_urls.is_empty()).then(|| v.reference_urls.clone()),
                        )
                        .build()
                })
                .collect(),
        ));
    }
    if let Some(fp) = &f.finding_provider_fields {
        b = b.finding_provider_fields(
            sdk::FindingProviderFields::builder()
                .set_severity(fp.severity.as_ref().map(|s| {
                    sdk::FindingProviderSeverity::builder()
                        .set_label(s.label.map(label_to_sdk))
                        .set_original(s.original.clone())
                        .build()
                }))
                .set_types((!fp.types.is_empty()).then(|| fp.types.clone()))
                .build(),
        );
    }
    b.build()
}

/// A finding read back from Security Hub, as a core finding; an error names what is unusable.
pub fn from_sdk(f: &sdk::AwsSecurityFinding) -> Result<Finding, String> {
    let req = |name: &str, v: Option<&str>| {
        v.map(str::to_string)
            .ok_or_else(|| format!("{name} is missing"))
    };
    Ok(Finding {
        schema_version: req("SchemaVersion", f.schema_version())?,
        id: req("Id", f.id())?,
        product_arn: req("ProductArn", f.product_arn())?,
        product_name: f.product_name().map(str::to_string),
        company_name: f.company_name().map(str::to_string),
        region: f.region().map(str::to_string),
        generator_id: req("GeneratorId", f.generator_id())?,
        aws_account_id: req("AwsAccountId", f.aws_account_id())?,
        types: f.types().to_vec(),
        first_observed_at: f
            .first_observed_at()
            .map(|s| parse_ts("FirstObservedAt", Some(s)))
            .transpose()?,
        last_observed_at: f
            .last_observed_at()
            .map(|s| parse_ts("LastObservedAt", Some(s)))
            .transpose()?,
        created_at: parse_ts("CreatedAt", f.created_at())?,
        updated_at: parse_ts("UpdatedAt", f.updated_at())?,
        severity: FindingSeverity {
            label: f
                .severity()
                .and_then(|s| s.label())
                .and_then(label_from_sdk),
            normalized: f.severity().and_then(|s| s.normalized()),
            original: f.severity().and_then(|s| s.original()).map(str::to_string),
        },
        title: req("Title", f.title())?,
        description: req("Description", f.description())?,
        remediation: f
            .remediation()
            .and_then(|r| r.recommendation())
            .map(|r| Remediation {
                recommendation: Recommendation {
                    text: r.text().map(str::to_string),
                    url: r.url().map(str::to_string),
                },
            }),
        source_url: f.source_url().map(str::to_string),
        product_fields: btree(f.product_fields()),
        resources: f.resources().iter().map(resource_from_sdk).collect(),
        compliance: f.compliance().and_then(|c| {
            c.status().map(|s| Compliance {
                status: match s.as_str() {
                    "PASSED" => ComplianceStatus::Passed,
                    "WARNING" => ComplianceStatus::Warning,
                    "NOT_AVAILABLE" => ComplianceStatus::NotAvailable,
                    _ => ComplianceStatus::Failed,
                },
                related_requirements: c.related_requirements().to_vec(),
            })
        }),
        patch_summary: f.patch_summary().map(|p| PatchSummary {
            id: p.id().unwrap_or_default().to_string(),
            installed_count: p.installed_count(),
            missing_count: p.missing_count(),
            failed_count: p.failed_count(),
            installed_other_count: p.installed_other_count(),
            installed_rejected_count: p.installed_rejected_count(),
            installed_pending_reboot: p.installed_pending_reboot(),
            operation_start_time: p.operation_start_time().map(str::to_string),
            operation_end_time: p.operation_end_time().map(str::to_string),
            reboot_option: p.reboot_option().map(str::to_string),
            operation: p.operation().map(str::to_string),
        }),
        vulnerabilities: f
            .vulnerabilities()
            .iter()
            .map(|v| Vulnerability {
                id: v.id().unwrap_or_default().to_string(),
                vendor: v.vendor().map(|vd| VulnerabilityVendor {
                    name: vd.name().unwrap_or_default().to_string(),
                    url: vd.url().map(str::to_string),
                    vendor_severity: vd.vendor_severity().map(str::to_string),
                }),
                fix_available: v.fix_available().and_then(|x| match x.as_str() {
                    "YES" => Some(FixAvailable::Yes),
                    "NO" => Some(FixAvailable::No),
                    "PARTIAL" => Some(FixAvailable::Partial),
                    _ => None,
                }),
                reference_urls: v.reference_urls().to_vec(),
            })
            .collect(),
        finding_provider_fields: f.finding_provider_fields().map(|fp| FindingProviderFields {
            severity: fp.severity().map(|s| FindingProviderSeverity {
                label: s.label().and_then(label_from_sdk),
                original: s.original().map(str::to_string),
            }),
            types: fp.types().to_vec(),
        }),
        record_state: match f.record_state().map(|r| r.as_str()) {
            Some("ARCHIVED") => RecordState::Archived,
            _ => RecordState::Active,
        },
    })
}
