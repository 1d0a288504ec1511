//! OCSF events (JSON) of one class to one Apache Parquet file, under the class's declared Arrow
//! schema, as Security Lake asks of a custom source: one event class per object, records ordered
//! by time, data pages of at most 1 MB, row groups well under 256 MB, zstandard compression
//! (Amazon Security Lake User Guide, "Collecting data from custom sources in Security Lake").

use arrow_json::ReaderBuilder;
use arrow_schema::{DataType, Field, Fields};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use super::schema::{JSON_TEXT, OcsfClass};

/// Security Lake: "Data page size should be limited to 1 MB (uncompressed)".
const DATA_PAGE_BYTES: usize = 1024 * 1024;
/// Security Lake: "Row group size should be no larger than 256 MB (compressed)"; the writer
/// counts uncompressed bytes, so half of that keeps any row group under the limit.
const ROW_GROUP_BYTES: usize = 128 * 1024 * 1024;

/// Why events could not become Parquet.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// An event of another class was handed to this class's writer.
    #[error("event {index} has class_uid {found}, not {expected}")]
    WrongClass {
        /// Position of the event.
        index: usize,
        /// Its `class_uid` (or -1 when it has none).
        found: i64,
        /// The class being written.
        expected: i64,
    },
    /// An event does not fit the class's schema (a field the schema does not declare, or a value
    /// of another type): the schema in `lake/schema.rs` and the OCSF rendering disagree.
    #[error("OCSF events do not fit the {class:?} schema: {source}")]
    Schema {
        /// The class.
        class: OcsfClass,
        /// What Arrow said.
        source: arrow_schema::ArrowError,
    },
    /// The Parquet writer failed.
    #[error("cannot write Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

/// The events' `time` (epoch milliseconds), or `i64::MIN` when absent.
pub(crate) fn event_time(event: &Value) -> i64 {
    event
        .get("time")
        .and_then(Value::as_i64)
        .unwrap_or(i64::MIN)
}

/// One Parquet file of `events`, all of `class`, ordered by `time` (then by finding uid, so the
/// same events always give the same bytes).
pub fn to_parquet(class: OcsfClass, events: &[Value]) -> Result<Vec<u8>, EncodeError> {
    for (index, e) in events.iter().enumerate() {
        let found = e.get("class_uid").and_then(Value::as_i64).unwrap_or(-1);
        if found != class.uid() {
            return Err(EncodeError::WrongClass {
                index,
                found,
                expected: class.uid(),
            });
        }
    }
    let schema = class.schema();
    let mut rows: Vec<Value> = events.to_vec();
    rows.sort_by(|a, b| {
        let uid = |e: &Value| {
            e.pointer("/finding_info/uid")
                .and_then(Value::as_str)
                .map(String::from)
        };
        event_time(a)
            .cmp(&event_time(b))
            .then_with(|| uid(a).cmp(&uid(b)))
    });
    for row in &mut rows {
        encode_json_text(schema.fields(), row);
    }
    let schema_error = |source| EncodeError::Schema { class, source };
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_strict_mode(true)
        .build_decoder()
        .map_err(schema_error)?;
    decoder.serialize(&rows).map_err(schema_error)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_data_page_size_limit(DATA_PAGE_BYTES)
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .set_created_by(format!("patchhub {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, Some(props))?;
    if let Some(batch) = decoder.flush().map_err(schema_error)? {
        writer.write(&batch)?;
    }
    writer.close()?;
    Ok(out)
}

/// Replaces, in place, the value of every field the schema keeps as JSON text by that text.
fn encode_json_text(fields: &Fields, value: &mut Value) {
    let Value::Object(map) = value else { return };
    for field in fields {
        let Some(v) = map.get_mut(field.name()) else {
            continue;
        };
        if field.metadata().contains_key(JSON_TEXT) {
            if !v.is_null() && !v.is_string() {
                *v = Value::String(v.to_string());
            }
            continue;
        }
        encode_nested(field, v);
    }
}

fn encode_nested(field: &Field, value: &mut Value) {
    match (field.data_type(), value) {
        (DataType::Struct(children), v @ Value::Object(_)) => encode_json_text(children, v),
        (DataType::List(item), Value::Array(items)) => {
            for v in items {
                encode_nested(item, v);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn free_form_objects_become_json_text_at_any_depth() {
        let schema = OcsfClass::ComplianceFinding.schema();
        let mut e = json!({
            "unmapped": {"a": 1},
            "resources": [{"uid": "i-1", "data": {"tags": {"k": "v"}}}],
            "metadata": {"version": "1.1.0"}
        });
        encode_json_text(schema.fields(), &mut e);
        assert_eq!(e["unmapped"], json!("{\"a\":1}"));
        assert_eq!(e["resources"][0]["data"], json!("{\"tags\":{\"k\":\"v\"}}"));
        assert_eq!(e["resources"][0]["uid"], json!("i-1"));
        assert_eq!(e["metadata"]["version"], json!("1.1.0"));
    }

    #[test]
    fn a_field_the_schema_does_not_declare_is_an_error_not_a_lost_column() {
        let e = json!({"class_uid": 2003, "time": 1, "not_ocsf": true});
        let err = to_parquet(OcsfClass::ComplianceFinding, &[e]).unwrap_err();
        assert!(matches!(err, EncodeError::Schema { .. }), "{err}");
        assert!(err.to_string().contains("not_ocsf"), "{err}");
    }

    #[test]
    fn events_of_another_class_are_refused() {
        let e = json!({"class_uid": 2002, "time": 1});
        let err = to_parquet(OcsfClass::ComplianceFinding, &[e]).unwrap_err();
        assert!(matches!(
            err,
            EncodeError::WrongClass {
                found: 2002,
                expected: 2003,
                ..
            }
        ));
    }
}
