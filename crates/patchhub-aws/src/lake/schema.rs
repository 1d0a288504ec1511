//! The Arrow schema of each OCSF class patchhub writes, declared rather than inferred, so every
//! object of a class has the same columns whatever its events happen to carry (Security Lake's
//! crawler builds one table per source from them). Nested OCSF objects stay nested: structs and
//! lists of structs, as the events have them. Free-form objects (`unmapped`, a resource's
//! `data`) are kept as JSON text, since their keys are not part of any schema.
//!
//! Types follow the OCSF 1.1.0 dictionary: `integer_t` is a 32-bit integer, `long_t` and
//! `timestamp_t` (epoch milliseconds) 64-bit, `float_t` a double. Sources: the OCSF schema
//! browser (schema.ocsf.io, version 1.1.0): classes Vulnerability Finding (2002) and Compliance
//! Finding (2003), the Finding base class and the objects they use.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use patchhub_core::ocsf;

/// Field metadata that marks a column holding an OCSF object as JSON text.
pub(crate) const JSON_TEXT: &str = "patchhub.encoding";

/// The OCSF classes patchhub writes: one Security Lake custom source each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OcsfClass {
    /// Vulnerability Finding (2002): one per missing or failed patch.
    VulnerabilityFinding,
    /// Compliance Finding (2003): per-node roll-ups and stale-scan findings.
    ComplianceFinding,
}

impl OcsfClass {
    /// Every class, in `class_uid` order.
    pub const ALL: [OcsfClass; 2] = [
        OcsfClass::VulnerabilityFinding,
        OcsfClass::ComplianceFinding,
    ];

    /// The class of a `class_uid`, if patchhub writes it.
    pub fn from_uid(uid: i64) -> Option<Self> {
        OcsfClass::ALL.into_iter().find(|c| c.uid() == uid)
    }

    /// OCSF `class_uid`.
    pub fn uid(self) -> i64 {
        match self {
            OcsfClass::VulnerabilityFinding => i64::from(ocsf::CLASS_VULNERABILITY_FINDING),
            OcsfClass::ComplianceFinding => i64::from(ocsf::CLASS_COMPLIANCE_FINDING),
        }
    }

    /// The suffix of this class's custom source name (`{prefix}-{suffix}`).
    pub fn source_suffix(self) -> &'static str {
        match self {
            OcsfClass::VulnerabilityFinding => "vuln",
            OcsfClass::ComplianceFinding => "compliance",
        }
    }

    /// The class's Arrow schema (the same for every object of the class).
    pub fn schema(self) -> SchemaRef {
        let mut fields = finding_base();
        match self {
            OcsfClass::VulnerabilityFinding => {
                fields.push(objects("vulnerabilities", vulnerability()));
            }
            OcsfClass::ComplianceFinding => {
                fields.push(object("compliance", compliance()));
                fields.push(object("remediation", remediation()));
            }
        }
        Arc::new(Schema::new(fields))
    }
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn int(name: &str) -> Field {
    Field::new(name, DataType::Int32, true)
}

fn long(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}

fn float(name: &str) -> Field {
    Field::new(name, DataType::Float64, true)
}

fn boolean(name: &str) -> Field {
    Field::new(name, DataType::Boolean, true)
}

fn list_of(name: &str, item: DataType) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("element", item, true))),
        true,
    )
}

fn strings(name: &str) -> Field {
    list_of(name, DataType::Utf8)
}

fn object(name: &str, fields: Vec<Field>) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), true)
}

fn objects(name: &str, fields: Vec<Field>) -> Field {
    list_of(name, DataType::Struct(Fields::from(fields)))
}

/// An OCSF object without a fixed shape, kept as its JSON text.
fn json(name: &str) -> Field {
    utf8(name).with_metadata(HashMap::from([(JSON_TEXT.to_string(), "json".to_string())]))
}

/// Nullable text columns, in order.
fn texts(names: &[&str]) -> Vec<Field> {
    names.iter().map(|n| utf8(n)).collect()
}

/// `texts(names)` followed by `more`.
fn with(names: &[&str], more: impl IntoIterator<Item = Field>) -> Vec<Field> {
    let mut fields = texts(names);
    fields.extend(more);
    fields
}

/// The attributes of the OCSF Finding base class (and the base event) patchhub's events use.
fn finding_base() -> Vec<Field> {
    let mut fields = vec![int("activity_id"), int("category_uid"), int("class_uid")];
    fields.extend([long("type_uid"), int("severity_id"), int("status_id")]);
    fields.extend([
        int("confidence_id"),
        int("confidence_score"),
        int("risk_level_id"),
    ]);
    fields.extend([int("risk_score"), int("count"), int("timezone_offset")]);
    fields.extend([long("time"), long("start_time"), long("end_time")]);
    fields.extend(texts(&[
        "activity_name",
        "category_name",
        "class_name",
        "type_name",
        "severity",
        "status",
        "status_code",
        "status_detail",
        "confidence",
        "risk_level",
        "message",
        "comment",
    ]));
    fields.extend([
        object("metadata", metadata()),
        object("finding_info", finding_info()),
        // Vulnerability and Compliance Findings of OCSF 1.1.0 name their resource `resource`
        // (one); other finding classes `resources` (many): both are declared.
        object("resource", resource()),
        objects("resources", resource()),
        object("cloud", cloud()),
        object("device", device()),
        objects(
            "observables",
            with(&["name", "value", "type"], [int("type_id")]),
        ),
        json("unmapped"),
    ]);
    fields
}

fn product() -> Vec<Field> {
    let feature = object("feature", texts(&["uid", "name", "version"]));
    with(
        &[
            "name",
            "vendor_name",
            "version",
            "uid",
            "lang",
            "url_string",
        ],
        [feature],
    )
}

fn metadata() -> Vec<Field> {
    let names = [
        "version",
        "uid",
        "correlation_uid",
        "event_code",
        "log_name",
        "log_provider",
    ];
    let mut fields = with(&names, [utf8("log_version"), utf8("tenant_uid")]);
    fields.extend([
        object("product", product()),
        strings("profiles"),
        strings("labels"),
    ]);
    fields.extend([
        long("logged_time"),
        long("modified_time"),
        long("original_time"),
    ]);
    fields.push(long("processed_time"));
    fields
}

fn finding_info() -> Vec<Field> {
    let analytic = with(
        &["uid", "name", "type", "category", "desc"],
        [int("type_id")],
    );
    let related = with(&["uid", "product_uid", "type_name"], [long("type_uid")]);
    let mut fields = with(
        &["uid", "title", "desc", "product_uid", "src_url"],
        [strings("types")],
    );
    fields.extend([
        long("created_time"),
        long("modified_time"),
        long("first_seen_time"),
    ]);
    fields.extend([long("last_seen_time"), strings("data_sources")]);
    fields.extend([
        objects("related_events", related),
        object("analytic", analytic),
    ]);
    fields
}

fn account() -> Vec<Field> {
    with(
        &["uid", "name", "type"],
        [int("type_id"), strings("labels")],
    )
}

fn cloud() -> Vec<Field> {
    let org = object("org", texts(&["uid", "name", "ou_uid", "ou_name"]));
    with(
        &["provider", "region", "zone", "project_uid"],
        [object("account", account()), org],
    )
}

fn os() -> Vec<Field> {
    let names = [
        "name",
        "type",
        "version",
        "build",
        "edition",
        "kernel_release",
        "cpe_name",
    ];
    with(&names, [int("type_id")])
}

fn device() -> Vec<Field> {
    let names = [
        "uid",
        "name",
        "hostname",
        "type",
        "region",
        "instance_uid",
        "ip",
    ];
    with(&names, [int("type_id"), object("os", os())])
}

fn resource() -> Vec<Field> {
    let names = [
        "uid",
        "name",
        "type",
        "region",
        "zone",
        "cloud_partition",
        "hostname",
    ];
    let mut fields = with(&names, texts(&["namespace", "criticality", "version"]));
    let owner = with(&["uid", "name", "type"], [object("account", account())]);
    fields.extend([
        strings("labels"),
        objects("tags", texts(&["name", "value"])),
    ]);
    fields.extend([object("group", texts(&["uid", "name", "type", "desc"]))]);
    fields.extend([object("owner", owner), json("data")]);
    fields
}

fn kb_article() -> Vec<Field> {
    let names = [
        "uid",
        "title",
        "classification",
        "severity",
        "src_url",
        "bulletin",
    ];
    let mut fields = with(&names, [long("created_time"), long("size")]);
    fields.extend([boolean("is_superseded"), object("os", os())]);
    fields.push(object("product", product()));
    fields
}

fn package() -> Vec<Field> {
    let names = [
        "name",
        "version",
        "release",
        "arch",
        "purl",
        "vendor_name",
        "license",
        "type",
    ];
    with(&names, [int("epoch"), int("type_id")])
}

fn remediation() -> Vec<Field> {
    let kb = objects("kb_article_list", kb_article());
    with(&["desc"], [strings("references"), kb])
}

fn vulnerability() -> Vec<Field> {
    let cvss = with(
        &["version", "severity", "vector_string"],
        [float("base_score")],
    );
    let epss = with(
        &["version"],
        [float("score"), float("percentile"), long("created_time")],
    );
    let mut cve = with(&["uid", "title", "desc", "type"], [long("created_time")]);
    cve.extend([
        long("modified_time"),
        strings("references"),
        objects("cvss", cvss),
    ]);
    cve.push(object("epss", epss));
    let mut fields = texts(&["title", "desc", "severity", "vendor_name"]);
    fields.extend([boolean("is_exploit_available"), boolean("fix_available")]);
    fields.extend([boolean("is_fix_available"), long("first_seen_time")]);
    fields.extend([long("last_seen_time"), strings("references")]);
    fields.extend([strings("related_vulnerabilities"), object("cve", cve)]);
    fields.extend([objects("cwe", texts(&["uid", "caption", "src_url"]))]);
    fields.extend([
        objects("kb_article_list", kb_article()),
        objects("packages", package()),
    ]);
    fields.extend([objects("affected_packages", package())]);
    fields.push(object("remediation", remediation()));
    fields
}

fn compliance() -> Vec<Field> {
    let check = with(
        &["uid", "name", "desc", "status", "severity"],
        [int("status_id")],
    );
    let check = objects("checks", [check, vec![int("severity_id")]].concat());
    let mut fields = with(
        &["status", "status_code", "status_detail", "control"],
        [check],
    );
    fields.extend([
        int("status_id"),
        strings("requirements"),
        strings("standards"),
    ]);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_keeps_the_ocsf_structure() {
        for class in OcsfClass::ALL {
            let schema = class.schema();
            assert_eq!(OcsfClass::from_uid(class.uid()), Some(class));
            for top in [
                "class_uid",
                "category_uid",
                "finding_info",
                "resources",
                "cloud",
                "metadata",
                "time",
            ] {
                assert!(schema.field_with_name(top).is_ok(), "{class:?} lacks {top}");
            }
            let info = schema.field_with_name("finding_info").unwrap();
            assert!(matches!(info.data_type(), DataType::Struct(f) if f.find("uid").is_some()));
        }
        let vuln = OcsfClass::VulnerabilityFinding.schema();
        assert!(matches!(
            vuln.field_with_name("vulnerabilities").unwrap().data_type(),
            DataType::List(_)
        ));
        assert!(vuln.field_with_name("compliance").is_err());
        let comp = OcsfClass::ComplianceFinding.schema();
        assert!(comp.field_with_name("compliance").is_ok());
        assert_eq!(OcsfClass::from_uid(1001), None);
    }
}
